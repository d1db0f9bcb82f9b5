"""Tumbling event-time windows per state, the watermark, late records, and `three_sigma`.

A window is [start, start + length) on `event_time`. The watermark after a batch is the latest
event time seen so far less the configured delay (it never goes back). A window is written to
`window_stats` by the first batch whose watermark reaches its end, and is then closed: a record
that arrives for a closed window is *late*, counted and kept in `late_events`, not dropped. The
windows still open after a batch are the job's own state (`WINDOW_STATE_SCHEMA`), saved with the
batch (sinks.VersionedState), so a restart goes on with the same partial windows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from iotstream.anomalies import plausible

WINDOW_START = "window_start"
LATE = "late"

# An open window of one state: sums from which avg / stddev come, and its distinct sensors.
WINDOW_STATE_SCHEMA = T.StructType([
    T.StructField(WINDOW_START, T.TimestampType()),
    T.StructField("state", T.StringType()),
    T.StructField("messages", T.LongType()),
    T.StructField("readings", T.LongType()),
    T.StructField("total", T.DoubleType()),
    T.StructField("total_sq", T.DoubleType()),
    T.StructField("low", T.DoubleType()),
    T.StructField("high", T.DoubleType()),
    T.StructField("guids", T.ArrayType(T.StringType())),
])


def window_start(length_seconds: float) -> Column:
    """Start of the tumbling window (aligned on the epoch) that holds `event_time`."""
    micros = round(length_seconds * 1_000_000)
    return F.timestamp_micros(F.floor(F.unix_micros("event_time") / micros) * micros)


def window_end(length_seconds: float) -> Column:
    return F.col(WINDOW_START) + F.make_dt_interval(secs=F.lit(length_seconds))


def with_windows(length_seconds: float, watermark: datetime | None) -> Callable[[DataFrame], DataFrame]:
    """Transform on flagged records: adds `window_start` and `late` (a usable record whose
    window the watermark of earlier batches has already closed)."""

    late = F.col("event_time").isNotNull() & closed(length_seconds, watermark)

    def transform(flagged: DataFrame) -> DataFrame:
        with_start = flagged.withColumn(WINDOW_START, window_start(length_seconds))
        return with_start.withColumn(LATE, F.coalesce(late, F.lit(False)))

    return transform


def partials(events: DataFrame) -> DataFrame:
    """One batch's on-time usable events → WINDOW_STATE_SCHEMA rows (impossible values count as
    messages, not as readings, as in state_stats)."""
    t = F.when(plausible(), F.col("temperature"))
    return events.groupBy(WINDOW_START, "state").agg(
        F.count(F.lit(1)).alias("messages"),
        F.count(t).alias("readings"),
        F.sum(t).alias("total"),
        F.sum(t * t).alias("total_sq"),
        F.min(t).alias("low"),
        F.max(t).alias("high"),
        F.collect_set("guid").alias("guids"),
    )


def merge(open_windows: DataFrame, batch: DataFrame) -> DataFrame:
    """Open windows before the batch + the batch's partials → the windows after it."""
    both = open_windows.select(*WINDOW_STATE_SCHEMA.fieldNames()).unionByName(
        batch.select(*WINDOW_STATE_SCHEMA.fieldNames()))
    return both.groupBy(WINDOW_START, "state").agg(
        F.sum("messages").cast("long").alias("messages"),
        F.sum("readings").cast("long").alias("readings"),
        F.sum("total").alias("total"),
        F.sum("total_sq").alias("total_sq"),
        F.min("low").alias("low"),
        F.max("high").alias("high"),
        F.array_distinct(F.flatten(F.collect_list("guids"))).alias("guids"),
    )


def _mean() -> Column:
    return F.col("total") / F.col("readings")


def _stddev() -> Column:
    """Sample standard deviation from the sums (null under two readings; never negative)."""
    n = F.col("readings")
    variance = (F.col("total_sq") - F.col("total") * F.col("total") / n) / (n - 1)
    return F.when(n >= 2, F.sqrt(F.greatest(variance, F.lit(0.0))))


def closed(length_seconds: float, watermark: datetime | None) -> Column:
    """Whether the window (`window_start`) ends at or before the watermark: written, or due."""
    if watermark is None:
        return F.lit(False)
    return window_end(length_seconds) <= F.lit(watermark)


def window_stats(windows: DataFrame, length_seconds: float) -> DataFrame:
    """Closed windows → the window_stats table's columns after batch_id and batch_time."""
    return windows.select(
        WINDOW_START,
        window_end(length_seconds).alias("window_end"),
        "state",
        _mean().alias("avg_temperature"),
        F.col("low").alias("min_temperature"),
        F.col("high").alias("max_temperature"),
        _stddev().alias("stddev_temperature"),
        "messages",
        F.size("guids").cast("long").alias("sensors"),
        "readings",
    )


def three_sigma(events: DataFrame, merged: DataFrame, k: float, min_readings: int) -> DataFrame:
    """On-time plausible readings more than k standard deviations from their state's mean over
    their window (its readings so far, this batch's included) → anomaly rows with `reason`
    high/low, `detector` three_sigma and `score` = |z|."""
    stats = merged.where(F.col("readings") >= min_readings).select(
        WINDOW_START, "state", _mean().alias("mean"), _stddev().alias("sd"))
    z = (F.col("temperature") - F.col("mean")) / F.col("sd")
    return (
        events.where(plausible())
        .join(stats, [WINDOW_START, "state"])
        .where((F.col("sd") > 0) & (F.abs(z) > k))
        .select(
            "guid", "state", "event_time", "temperature", "band_low", "band_high",
            F.when(z > 0, "high").otherwise("low").alias("reason"),
            F.lit("three_sigma").alias("detector"),
            F.abs(z).alias("score"),
        )
    )


def next_watermark(before: datetime | None, max_event_time: datetime | None,
                   delay_seconds: float) -> datetime | None:
    """The watermark after a batch whose latest event time is `max_event_time`."""
    if max_event_time is None:
        return before
    candidate = max_event_time - timedelta(seconds=delay_seconds)
    return candidate if before is None or candidate > before else before
