"""The output's tables and their columns, declared once as plain Python (no pyspark: the dashboard
reads it without loading Spark). The columns are the contract for users' SQL; `schema.TABLES`
holds the same tables as Spark schemas, made from these; io/layout.py says where their files go.
"""

from __future__ import annotations

from typing import NamedTuple


class Column(NamedTuple):
    name: str
    type: str  # Spark SQL's name of its type: string, bigint, int, double, timestamp, boolean
    nullable: bool = True


def _longs(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, "bigint") for name in names)


_BATCH = (Column("batch_id", "bigint", False), Column("batch_time", "timestamp", False))

# Table name → its columns, in order.
TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "state_stats": (
        *_BATCH, Column("state", "string"), Column("avg_temperature", "double"),
        Column("min_temperature", "double"), Column("max_temperature", "double"),
        *_longs("messages", "sensors"),
        # Readings that avg/min/max cover: messages less physically impossible values.
        Column("readings", "bigint"),
    ),
    "batch_totals": (
        *_BATCH,
        *_longs("messages", "running_messages", "sensors", "states", "anomalies"),
        # The ledger: every record read from Kafka is accepted, quarantined or a duplicate (a
        # re-send of an accepted reading); `late` of the accepted ones came for an event-time
        # window already written (late_events).
        *_longs("consumed", "accepted", "quarantined", "late"),
        # Since the first batch: exact count of distinct sensors ever seen.
        Column("total_sensors", "bigint"),
        Column("duplicates", "bigint"),
        # Of the duplicates, those whose value differs from the kept reading's.
        Column("conflicts", "bigint"),
        # Of the accepted, those whose event time the policy set to their Kafka timestamp.
        Column("time_adjusted", "bigint"),
        # The event-time watermark after the batch: windows ending at or before it are written.
        Column("watermark", "timestamp"),
        # How long the batch took to compute, from its start until every table's rows were
        # ready to write (the writes come after): compared with the trigger, it says whether
        # the job keeps up.
        Column("seconds", "double"),
        # Windows written before that this batch's late readings restated (window_stats revisions).
        Column("restated", "bigint"),
        # The rules' clock after the batch: the per-sensor rules have judged every sensor's
        # readings up to it, in event-time order (the watermark without its delay, never back;
        # the latest event time read once every partition is read to its end).
        Column("judged_until", "timestamp"),
    ),
    "anomalies": (
        *_BATCH, Column("guid", "string"), Column("state", "string"),
        Column("event_time", "timestamp"), Column("temperature", "double"),
        Column("band_low", "double"), Column("band_high", "double"), Column("reason", "string"),
        # Which detector flagged the reading (three_sigma, or a rule of the engine: band,
        # zscore, stuck, silent, level_shift, rate_of_change, flatline, learned, ...), and by
        # how much, in the detector's own unit (see docs/detection.md).
        Column("detector", "string"), Column("score", "double"),
    ),
    "quarantine": (
        *_BATCH, Column("kafka_partition", "int"), Column("kafka_offset", "bigint"),
        Column("kafka_timestamp", "timestamp"),
        Column("raw", "string"),  # the record's text ("base64:…" if not UTF-8)
        Column("reason", "string"),
    ),
    "window_stats": (
        *_BATCH, Column("window_start", "timestamp"), Column("window_end", "timestamp"),
        Column("state", "string"), Column("avg_temperature", "double"),
        Column("min_temperature", "double"), Column("max_temperature", "double"),
        Column("stddev_temperature", "double"), *_longs("messages", "sensors", "readings"),
        # 0 when the clock closes the window; +1 each time late readings restate it (the row
        # then has the figures over every accepted reading of the window so far).
        Column("revision", "int"),
    ),
    # Since the first batch, per state: one row per state seen so far, after every batch.
    "state_totals": (
        *_BATCH, Column("state", "string"), *_longs("messages", "sensors", "readings"),
        Column("avg_temperature", "double"),
    ),
    # Each sensor once, in the batch that first saw it: the exact distinct count since the start.
    "sensors": (
        *_BATCH, Column("guid", "string"), Column("state", "string"),
        Column("first_event_time", "timestamp"),
    ),
    "late_events": (
        *_BATCH, Column("guid", "string"), Column("state", "string"),
        Column("event_time", "timestamp"), Column("temperature", "double"),
        Column("window_start", "timestamp"),
        Column("watermark", "timestamp"),  # the watermark the record was behind
        Column("kafka_partition", "int"), Column("kafka_offset", "bigint"),
    ),
    # Re-sends: a reading with the sensor and event time of one already accepted (in an
    # event-time window still open), left out of every figure. kind: resend (same value) or
    # conflict (another value; the first one read is kept: kept_temperature).
    "duplicates": (
        *_BATCH, Column("guid", "string"), Column("state", "string"),
        Column("event_time", "timestamp"), Column("temperature", "double"),
        Column("kind", "string"), Column("kept_temperature", "double"),
        Column("kafka_partition", "int"), Column("kafka_offset", "bigint"),
        Column("kafka_timestamp", "timestamp"),
    ),
    # Readings whose eventTime was off their Kafka timestamp by more than the event-time policy
    # allows, per sensor and batch: error future / past, action quarantined / adjusted, how
    # many, the largest gap (seconds) and the latest eventTime as sent.
    "clock_errors": (
        *_BATCH, Column("guid", "string"), Column("state", "string"), Column("error", "string"),
        Column("action", "string"), Column("readings", "bigint"),
        Column("max_skew_seconds", "double"), Column("latest_event_time", "timestamp"),
    ),
    # Every accepted reading (write_readings), with the zscore band it was judged by: the
    # history's mean ± threshold × its standard deviation, before the reading (null until the
    # sensor has min_history readings, or with zscore and level_shift off). `late`: its window
    # was written.
    "readings": (
        *_BATCH, Column("guid", "string"), Column("state", "string"),
        Column("event_time", "timestamp"), Column("temperature", "double"),
        Column("late", "boolean"), Column("zscore_mean", "double"),
        Column("zscore_low", "double"), Column("zscore_high", "double"),
        Column("kafka_partition", "int"), Column("kafka_offset", "bigint"),
    ),
}
