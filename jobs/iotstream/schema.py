"""The one declared event schema, and the schemas of the Parquet tables (a contract for users' SQL)."""

from __future__ import annotations

from pyspark.sql import types as T

# One JSON object per Kafka record, as iotsimulator.py writes it. eventTime stays a string here so
# that a malformed time is seen (and reported) instead of silently becoming null.
EVENT_SCHEMA = T.StructType(
    [
        T.StructField("guid", T.StringType()),
        T.StructField("destination", T.StringType()),
        T.StructField("state", T.StringType()),
        T.StructField("eventTime", T.StringType()),
        T.StructField(
            "payload",
            T.StructType(
                [
                    T.StructField("format", T.StringType()),
                    T.StructField(
                        "data", T.StructType([T.StructField("temperature", T.DoubleType())])
                    ),
                ]
            ),
        ),
    ]
)

_BATCH = [
    T.StructField("batch_id", T.LongType(), False),
    T.StructField("batch_time", T.TimestampType(), False),
]

STATE_STATS_SCHEMA = T.StructType(
    _BATCH
    + [
        T.StructField("state", T.StringType()),
        T.StructField("avg_temperature", T.DoubleType()),
        T.StructField("min_temperature", T.DoubleType()),
        T.StructField("max_temperature", T.DoubleType()),
        T.StructField("messages", T.LongType()),
        T.StructField("sensors", T.LongType()),
        # Readings that avg/min/max cover: messages less physically impossible values.
        T.StructField("readings", T.LongType()),
    ]
)

BATCH_TOTALS_SCHEMA = T.StructType(
    _BATCH
    + [
        T.StructField(name, T.LongType())
        for name in (
            "messages", "running_messages", "sensors", "states", "anomalies",
            # The ledger: every record read from Kafka is accepted, quarantined or a duplicate
            # (a re-send of an accepted reading); `late` of the accepted ones came for an
            # event-time window already written (late_events).
            "consumed", "accepted", "quarantined", "late",
            # Since the first batch: exact count of distinct sensors ever seen.
            "total_sensors",
            "duplicates",
            # Of the duplicates, those whose value differs from the kept reading's.
            "conflicts",
            # Of the accepted, those whose event time the policy set to their Kafka timestamp.
            "time_adjusted",
        )
    ]
    # The event-time watermark after the batch: windows ending at or before it are written.
    + [T.StructField("watermark", T.TimestampType())]
    # How long the batch took, from its start until this row was written (its compute and
    # every table before it): compared with the trigger, it says whether the job keeps up.
    + [T.StructField("seconds", T.DoubleType())]
    # Windows written before that this batch's late readings restated (window_stats revisions).
    + [T.StructField("restated", T.LongType())]
)

ANOMALIES_SCHEMA = T.StructType(
    _BATCH
    + [
        T.StructField("guid", T.StringType()),
        T.StructField("state", T.StringType()),
        T.StructField("event_time", T.TimestampType()),
        T.StructField("temperature", T.DoubleType()),
        T.StructField("band_low", T.DoubleType()),
        T.StructField("band_high", T.DoubleType()),
        T.StructField("reason", T.StringType()),
        # Which detector flagged the reading (band, three_sigma, zscore, stuck, silent,
        # level_shift), and by how much, in the detector's own unit (see docs/detection.md).
        T.StructField("detector", T.StringType()),
        T.StructField("score", T.DoubleType()),
    ]
)

QUARANTINE_SCHEMA = T.StructType(
    _BATCH
    + [
        T.StructField("kafka_partition", T.IntegerType()),
        T.StructField("kafka_offset", T.LongType()),
        T.StructField("kafka_timestamp", T.TimestampType()),
        T.StructField("raw", T.StringType()),  # the record's text ("base64:…" if not UTF-8)
        T.StructField("reason", T.StringType()),
    ]
)

WINDOW_STATS_SCHEMA = T.StructType(
    _BATCH
    + [
        T.StructField("window_start", T.TimestampType()),
        T.StructField("window_end", T.TimestampType()),
        T.StructField("state", T.StringType()),
        T.StructField("avg_temperature", T.DoubleType()),
        T.StructField("min_temperature", T.DoubleType()),
        T.StructField("max_temperature", T.DoubleType()),
        T.StructField("stddev_temperature", T.DoubleType()),
        T.StructField("messages", T.LongType()),
        T.StructField("sensors", T.LongType()),
        T.StructField("readings", T.LongType()),
        # 0 when the clock closes the window; +1 each time late readings restate it (the row
        # then has the figures over every accepted reading of the window so far).
        T.StructField("revision", T.IntegerType()),
    ]
)

# Since the first batch, per state: one row per state seen so far, after every batch.
STATE_TOTALS_SCHEMA = T.StructType(
    _BATCH
    + [
        T.StructField("state", T.StringType()),
        T.StructField("messages", T.LongType()),
        T.StructField("sensors", T.LongType()),
        T.StructField("readings", T.LongType()),
        T.StructField("avg_temperature", T.DoubleType()),
    ]
)

# Each sensor once, in the batch that first saw it: the exact distinct count since the start.
SENSORS_SCHEMA = T.StructType(
    _BATCH
    + [
        T.StructField("guid", T.StringType()),
        T.StructField("state", T.StringType()),
        T.StructField("first_event_time", T.TimestampType()),
    ]
)

LATE_EVENTS_SCHEMA = T.StructType(
    _BATCH
    + [
        T.StructField("guid", T.StringType()),
        T.StructField("state", T.StringType()),
        T.StructField("event_time", T.TimestampType()),
        T.StructField("temperature", T.DoubleType()),
        T.StructField("window_start", T.TimestampType()),
        T.StructField("watermark", T.TimestampType()),  # the watermark the record was behind
        T.StructField("kafka_partition", T.IntegerType()),
        T.StructField("kafka_offset", T.LongType()),
    ]
)

# Re-sends: a reading with the sensor and event time of one already accepted (in an event-time
# window still open), left out of every figure. kind: resend (same value) or conflict (another
# value; the first one read is kept: kept_temperature).
DUPLICATES_SCHEMA = T.StructType(
    _BATCH
    + [
        T.StructField("guid", T.StringType()),
        T.StructField("state", T.StringType()),
        T.StructField("event_time", T.TimestampType()),
        T.StructField("temperature", T.DoubleType()),
        T.StructField("kind", T.StringType()),
        T.StructField("kept_temperature", T.DoubleType()),
        T.StructField("kafka_partition", T.IntegerType()),
        T.StructField("kafka_offset", T.LongType()),
        T.StructField("kafka_timestamp", T.TimestampType()),
    ]
)

# Readings whose eventTime was off their Kafka timestamp by more than the event-time policy
# allows, per sensor and batch: error future / past, action quarantined / adjusted, how many,
# the largest gap (seconds) and the latest eventTime as sent.
CLOCK_ERRORS_SCHEMA = T.StructType(
    _BATCH
    + [
        T.StructField("guid", T.StringType()),
        T.StructField("state", T.StringType()),
        T.StructField("error", T.StringType()),
        T.StructField("action", T.StringType()),
        T.StructField("readings", T.LongType()),
        T.StructField("max_skew_seconds", T.DoubleType()),
        T.StructField("latest_event_time", T.TimestampType()),
    ]
)

# Every accepted reading (write_readings), with the zscore band it was judged by: the history's
# mean ± threshold × its standard deviation, before the reading (null until the sensor has
# min_history readings, or with zscore and level_shift off). `late`: its window was written.
READINGS_SCHEMA = T.StructType(
    _BATCH
    + [
        T.StructField("guid", T.StringType()),
        T.StructField("state", T.StringType()),
        T.StructField("event_time", T.TimestampType()),
        T.StructField("temperature", T.DoubleType()),
        T.StructField("late", T.BooleanType()),
        T.StructField("zscore_mean", T.DoubleType()),
        T.StructField("zscore_low", T.DoubleType()),
        T.StructField("zscore_high", T.DoubleType()),
        T.StructField("kafka_partition", T.IntegerType()),
        T.StructField("kafka_offset", T.LongType()),
    ]
)

# Table name → schema. Every table is also partitioned by `date` (the batch's UTC date).
TABLES = {
    "state_stats": STATE_STATS_SCHEMA,
    "batch_totals": BATCH_TOTALS_SCHEMA,
    "anomalies": ANOMALIES_SCHEMA,
    "quarantine": QUARANTINE_SCHEMA,
    "window_stats": WINDOW_STATS_SCHEMA,
    "state_totals": STATE_TOTALS_SCHEMA,
    "sensors": SENSORS_SCHEMA,
    "late_events": LATE_EVENTS_SCHEMA,
    "duplicates": DUPLICATES_SCHEMA,
    "clock_errors": CLOCK_ERRORS_SCHEMA,
    "readings": READINGS_SCHEMA,
}
PARTITION_COLUMN = "date"
