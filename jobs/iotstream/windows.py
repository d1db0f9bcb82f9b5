"""Tumbling event-time windows per state, the event-time clock, late records and restatements,
and `three_sigma`.

A window is [start, start + length) on `event_time`. The **clock** is judged per Kafka partition,
as Flink's Kafka source judges its watermark: for every partition, the latest event time of an
accepted reading read from it; the clock after a batch is the lowest of them over the partitions
that delivered a reading within `idle_timeout` (of the batches' time) less the configured delay,
and it never goes back. A backlog read in slices, whose partitions run minutes apart, is judged
by its slowest partition; a partition that goes idle stops holding the clock back until its next
reading. The step reads the clock for its batch (step.set_clock), and Spark's watermark, which
fires the step's timers, follows it one batch behind.

A window is written to `window_stats` (revision 0) by the first batch whose clock reaches its
end, and is then closed: a reading that arrives for a closed window is *late*, counted and kept
in `late_events`, not dropped. A late reading whose window ended less than `restate_horizon`
before the clock also restates its window: a new `window_stats` row with revision + 1 and the
figures over every accepted reading of the window. The per-sensor step marks late records and
the first record of each sensor in each window (for the horizon), so a window's figures are
sums: the batch brings per-window partial sums (one aggregation on the executors), and the
driver adds them to the windows it keeps: the open ones and those closed within the horizon
(`WINDOW_STATE_SCHEMA`, states × windows, saved with each batch with the partitions' clocks,
so a restart goes on with the same windows and clock).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

WINDOW_START = "window_start"
LATE_FLAG = "late"  # the step's column that marks a reading whose window was already written
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
    # None while the window is open; the last revision written once closed.
    T.StructField("revision", T.IntegerType()),
])
Key = tuple[datetime, str]  # (window start, state)
# Per Kafka partition: the latest event time of an accepted reading read from it, and the time
# of the batch (Spark's batch_time) that last brought one.
PARTITION_STATE_SCHEMA = T.StructType([
    T.StructField("kafka_partition", T.IntegerType()),
    T.StructField("max_event_time", T.TimestampType()),
    T.StructField("last_read", T.TimestampType()),
])


def window_start(length_seconds: float) -> Column:
    """Start of the tumbling window (aligned on the epoch) that holds `event_time`."""
    length = round(length_seconds * 1_000_000)
    return F.timestamp_micros(F.floor(F.unix_micros("event_time") / length) * length)


def merge(open_windows: Iterable[Mapping], partials: Iterable[Mapping]) -> dict[Key, dict]:
    """The open windows before a batch + the batch's partial sums (WINDOW_STATE_SCHEMA fields)
    → the windows after it. A partial with no message (late records only) opens nothing."""
    merged: dict[Key, dict] = {}
    for row in (*open_windows, *partials):
        if not row["messages"]:
            continue
        key = _key(row)
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


def _key(row: Mapping) -> Key:
    return row[WINDOW_START], row["state"]


def _horizon_edge(clock: datetime, length_seconds: float, horizon_seconds: float) -> datetime:
    """Windows starting after this ended less than the restate horizon before `clock`."""
    return clock - timedelta(seconds=horizon_seconds + length_seconds)


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


def window_stats(written: Iterable[Mapping], length_seconds: float) -> list[dict]:
    """Windows closed or restated → window_stats rows (the columns after batch_id and
    batch_time)."""
    return [
        {WINDOW_START: w[WINDOW_START],
         "window_end": w[WINDOW_START] + timedelta(seconds=length_seconds), "state": w["state"],
         "avg_temperature": mean(w), "min_temperature": w["low"], "max_temperature": w["high"],
         "stddev_temperature": stddev(w), "messages": w["messages"], "sensors": w["sensors"],
         "readings": w["readings"], "revision": w["revision"]}
        for w in sorted(written, key=lambda w: (w[WINDOW_START], w["state"]))
    ]


@dataclass(frozen=True)
class Windows:
    """The windows after a batch: `merged`, the open ones with the batch's on-time readings
    (three_sigma's yardstick); `written`, the window_stats rows (closed now, revision 0, or
    restated); `still_open` and `kept` (closed within the restate horizon), the state saved."""

    merged: Mapping[Key, Mapping]
    written: tuple[Mapping, ...]
    restated: int
    still_open: tuple[Mapping, ...]
    kept: tuple[Mapping, ...]


def advance(open_windows: Iterable[Mapping], closed_windows: Iterable[Mapping],
            parts: Iterable[Mapping], late_parts: Iterable[Mapping], before: datetime | None,
            after: datetime | None, length_seconds: float, horizon_seconds: float) -> Windows:
    """The windows after a batch whose on-time and late partial sums are `parts` and
    `late_parts`, judged by the clock before it; windows that the clock after it passes close."""
    merged = merge(open_windows, parts)
    kept = {_key(w): w for w in closed_windows}
    restated = restate(kept, late_parts, before, length_seconds, horizon_seconds)
    closed, still_open = [], []
    for w in merged.values():
        shut = is_closed(w[WINDOW_START], length_seconds, after)
        (closed if shut else still_open).append({**w, "revision": 0 if shut else None})
    kept.update(restated)
    kept.update({_key(w): w for w in closed})
    edge = None if after is None else _horizon_edge(after, length_seconds, horizon_seconds)
    return Windows(merged, (*closed, *restated.values()), len(restated), tuple(still_open),
                   tuple(w for w in kept.values() if edge is not None and w[WINDOW_START] > edge))


def restate(closed: Mapping[Key, Mapping], late: Iterable[Mapping], clock: datetime | None,
            length_seconds: float, horizon_seconds: float) -> dict[Key, dict]:
    """The windows a batch's late partial sums restate: those that ended less than the horizon
    before the clock the step judged them by (the clock before the batch), with the sums of
    every reading so far and the next revision (0 for a window never written). Later ones
    restate nothing (their readings stay in late_events only)."""
    if clock is None:
        return {}
    edge = _horizon_edge(clock, length_seconds, horizon_seconds)
    recent = [p for p in late if p[WINDOW_START] > edge]
    touched = {_key(p) for p in recent}
    restated = merge([closed[key] for key in touched if key in closed], recent)
    for key, w in restated.items():
        before = closed.get(key)
        w["revision"] = 0 if before is None else before["revision"] + 1
    return restated


def partition_clocks(before: Iterable[Mapping], maxima: Mapping[int, datetime],
                     batch_time: datetime) -> list[dict]:
    """The partitions' clocks (PARTITION_STATE_SCHEMA rows) after a batch whose accepted
    readings' latest event time per Kafka partition is `maxima`."""
    after = {r["kafka_partition"]: dict(r) for r in before}
    for partition, latest in maxima.items():
        row = after.setdefault(partition, {"kafka_partition": partition, "max_event_time": latest})
        row["max_event_time"] = pick(max, row["max_event_time"], latest)
        row["last_read"] = batch_time
    return sorted(after.values(), key=lambda r: r["kafka_partition"])


def next_clock(before: datetime | None, partitions: Iterable[Mapping], batch_time: datetime,
               delay_seconds: float, idle_seconds: float) -> datetime | None:
    """The clock after a batch: the lowest latest event time over the partitions that brought a
    reading less than idle_seconds before the batch (all idle: it stays), in milliseconds (the
    event time truncated, as Spark's watermark) less the delay; never below `before`."""
    slowest = _slowest_active(partitions, batch_time, idle_seconds)
    if slowest is None:
        return before
    candidate = slowest - timedelta(milliseconds=round(delay_seconds * 1000))
    return candidate if before is None or candidate > before else before


def next_judged_until(before: datetime | None, partitions: Iterable[Mapping],
                      batch_time: datetime, idle_seconds: float) -> datetime | None:
    """The rules' clock after a batch: the clock without its delay. Every active partition has
    been read up to it, so (each partition being in event-time order) no earlier reading can
    still come from them: the rules may judge every sensor's readings up to it. Never back."""
    slowest = _slowest_active(partitions, batch_time, idle_seconds)
    return before if slowest is None or (before is not None and slowest <= before) else slowest


def judged_in_batch(before: datetime | None, partitions: Iterable[Mapping],
                    tails: Mapping[int, datetime | None], batch_time: datetime,
                    idle_seconds: float) -> datetime | None:
    """The rules' clock for a batch's own readings, known before it runs: each partition's clock
    moved to the time of the last record the batch reads from it (`tails`; a partition is in
    event-time order, so nothing read after that record is older), then next_judged_until. A
    partition whose last record tells no time (None) counts with its clock before the batch; a
    partition without a clock yet, with no time, keeps the rules' clock where it was."""
    known = {r["kafka_partition"]: r["max_event_time"] for r in partitions}
    if any(t is None and known.get(p) is None for p, t in tails.items()):
        return before
    moved = {p: known[p] if t is None else t for p, t in tails.items()}
    return next_judged_until(before, partition_clocks(partitions, moved, batch_time), batch_time,
                             idle_seconds)


def _slowest_active(partitions: Iterable[Mapping], batch_time: datetime,
                    idle_seconds: float) -> datetime | None:
    """The lowest latest event time (ms) over the partitions that brought a reading less than
    idle_seconds before the batch; None when all are idle."""
    idle = timedelta(seconds=idle_seconds)
    active = [r["max_event_time"] for r in partitions if batch_time - r["last_read"] < idle]
    if not active:
        return None
    slowest = min(active)
    return slowest.replace(microsecond=slowest.microsecond // 1000 * 1000)


def end_of_input(clock: datetime | None, judged_until: datetime | None,
                 partitions: Iterable[Mapping],
                 length_seconds: float) -> tuple[datetime | None, datetime | None]:
    """The clocks once every partition has been read to its end (--available-now), as Flink's
    end-of-input watermark: the rules' clock moves to the latest event time read (every reading
    can be judged; a sensor silent up to it is silent), and the event-time clock to the end of
    that reading's window, so every window that has a reading is written. Never back."""
    latest = max((r["max_event_time"] for r in partitions if r["max_event_time"] is not None),
                 default=None)
    if latest is None:
        return clock, judged_until
    length = round(length_seconds * 1_000_000)
    end = _from_micros((micros(latest) // length + 1) * length)
    return pick(max, clock, end), pick(max, judged_until, latest)


def _from_micros(value: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(microseconds=value)


def window_limits(merged: Mapping[Key, Mapping], min_readings: int) -> dict[Key, tuple]:
    """(mean, stddev) of every window with min_readings and some spread: a window rule's
    yardstick (three_sigma's), from the window's readings so far, this batch's included."""
    limits = {}
    for key, w in merged.items():
        sd = stddev(w)
        if w["readings"] >= min_readings and sd:
            limits[key] = (mean(w), sd)
    return limits


def limits_json(limits: Mapping[Key, tuple]) -> str:
    """A window rule's limits as JSON, keyed 'state|window start in µs since the epoch': passed to
    the batch's side query as one literal."""
    return json.dumps({f"{state}|{micros(start)}": [m, sd]
                       for (start, state), (m, sd) in sorted(limits.items())})


def micros(t: datetime | None) -> int | None:
    """Microseconds since the epoch of a naive UTC (or aware) datetime; None for None."""
    if t is None:
        return None
    aware = t if t.tzinfo else t.replace(tzinfo=UTC)
    delta = aware - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
