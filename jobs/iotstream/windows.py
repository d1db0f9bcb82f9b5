"""Tumbling event-time windows per state, the watermark, late records, and `three_sigma`.

A window is [start, start + length) on `event_time`. The watermark after a batch is the latest
event time seen so far less the configured delay (it never goes back; Spark keeps the same one
for the query's event-time timers). A window is written to `window_stats` by the first batch whose
watermark reaches its end, and is then closed: a record that arrives for a closed window is
*late*, counted and kept in `late_events`, not dropped. The per-sensor step marks late records
and the first record of each sensor in each window, so a window's figures are sums: the batch
brings per-window partial sums (one aggregation on the executors), and the driver adds them to
the windows still open, which are the job's own small state (`WINDOW_STATE_SCHEMA`: states ×
open windows, saved with each batch), so a restart goes on with the same partial windows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

WINDOW_START = "window_start"
LATE = "late"
SUMS = ("messages", "readings", "total", "total_sq", "low", "high", "sensors")

# An open window of one state: the sums avg / stddev come from, and its distinct sensors.
WINDOW_STATE_SCHEMA = T.StructType([
    T.StructField(WINDOW_START, T.TimestampType()),
    T.StructField("state", T.StringType()),
    T.StructField("messages", T.LongType()),
    T.StructField("readings", T.LongType()),
    T.StructField("total", T.DoubleType()),
    T.StructField("total_sq", T.DoubleType()),
    T.StructField("low", T.DoubleType()),
    T.StructField("high", T.DoubleType()),
    T.StructField("sensors", T.LongType()),
])
Key = tuple[datetime, str]  # (window start, state)


def window_start(length_seconds: float) -> Column:
    """Start of the tumbling window (aligned on the epoch) that holds `event_time`."""
    micros = round(length_seconds * 1_000_000)
    return F.timestamp_micros(F.floor(F.unix_micros("event_time") / micros) * micros)


def merge(open_windows: Iterable[Mapping], partials: Iterable[Mapping]) -> dict[Key, dict]:
    """The open windows before a batch + the batch's partial sums (WINDOW_STATE_SCHEMA fields)
    → the windows after it. A partial with no message (late records only) opens nothing."""
    merged: dict[Key, dict] = {}
    for row in (*open_windows, *partials):
        if not row["messages"]:
            continue
        key = (row[WINDOW_START], row["state"])
        into = merged.get(key)
        if into is None:
            merged[key] = {WINDOW_START: key[0], "state": key[1],
                           **{name: row[name] for name in SUMS}}
            continue
        for name in ("messages", "readings", "sensors"):
            into[name] += row[name]
        for name in ("total", "total_sq"):
            into[name] = add(into[name], row[name])
        into["low"] = pick(min, into["low"], row["low"])
        into["high"] = pick(max, into["high"], row["high"])
    return merged


def add(a: float | None, b: float | None) -> float | None:
    """a + b, where None is nothing (a sum over no reading)."""
    return b if a is None else a if b is None else a + b


def pick(fn, a, b):
    """fn(a, b) (min or max), where None is nothing."""
    return b if a is None else a if b is None else fn(a, b)


def is_closed(start: datetime, length_seconds: float, watermark: datetime | None) -> bool:
    """Whether the window ends at or before the watermark: written, or due."""
    return watermark is not None and start + timedelta(seconds=length_seconds) <= watermark


def mean(w: Mapping) -> float | None:
    return w["total"] / w["readings"] if w["readings"] else None


def stddev(w: Mapping) -> float | None:
    """Sample standard deviation from the sums (None under two readings; never negative)."""
    n = w["readings"]
    if n < 2:
        return None
    variance = (w["total_sq"] - w["total"] * w["total"] / n) / (n - 1)
    return math.sqrt(max(variance, 0.0))


def window_stats(closed: Iterable[Mapping], length_seconds: float) -> list[dict]:
    """Closed windows → window_stats rows (the columns after batch_id and batch_time)."""
    return [
        {WINDOW_START: w[WINDOW_START],
         "window_end": w[WINDOW_START] + timedelta(seconds=length_seconds), "state": w["state"],
         "avg_temperature": mean(w), "min_temperature": w["low"], "max_temperature": w["high"],
         "stddev_temperature": stddev(w), "messages": w["messages"], "sensors": w["sensors"],
         "readings": w["readings"]}
        for w in sorted(closed, key=lambda w: (w[WINDOW_START], w["state"]))
    ]


def three_sigma_limits(merged: Mapping[Key, Mapping], min_readings: int) -> dict[Key, tuple]:
    """(mean, stddev) of every window with min_readings and some spread: three_sigma's yardstick,
    from the window's readings so far, this batch's included."""
    limits = {}
    for key, w in merged.items():
        sd = stddev(w)
        if w["readings"] >= min_readings and sd:
            limits[key] = (mean(w), sd)
    return limits


def limits_json(limits: Mapping[Key, tuple]) -> str:
    """three_sigma's limits as JSON, keyed 'state|window start in µs since the epoch': passed to
    the batch's side query as one literal."""
    return json.dumps({f"{state}|{_micros(start)}": [m, sd]
                       for (start, state), (m, sd) in sorted(limits.items())})


def _micros(t: datetime) -> int:
    """Microseconds since the epoch of a naive UTC (or aware) datetime."""
    from datetime import UTC
    aware = t if t.tzinfo else t.replace(tzinfo=UTC)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def next_watermark(before: datetime | None, max_event_time: datetime | None,
                   delay_seconds: float) -> datetime | None:
    """The watermark after a batch whose latest event time is `max_event_time`. As Spark's own:
    milliseconds (the event time truncated) less the delay."""
    if max_event_time is None:
        return before
    truncated = max_event_time.replace(microsecond=max_event_time.microsecond // 1000 * 1000)
    candidate = truncated - timedelta(milliseconds=round(delay_seconds * 1000))
    return candidate if before is None or candidate > before else before
