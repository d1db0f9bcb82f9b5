"""The streaming plan: Kafka records → parsed, flagged records → the per-sensor step → foreachBatch.

The per-sensor step (zscore, stuck, silent, level_shift, re-sent readings, and which records are
late, first of their sensor or window, or new sensors) is Spark's `transformWithState` operator
with a small Java processor (`engine/`, built by scripts/setup.sh into `iot-engine.jar`) on the
RocksDB state store: each sensor's model lives in Spark's state, partitioned by sensor on the
executors and checkpointed incrementally with the query. A batch reads and writes only the
models of the sensors in it (and of those whose timer is due), whatever the size of the fleet; a
replayed batch starts from the same state version. Every record comes out of the step with its
flags; silences and level shifts come out as rows of their own (`kind` = silent, shift).
Everything after it is the batch handler's (pipeline.py).
"""

from __future__ import annotations

import functools

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from iotstream import anomalies, parse, windows
from iotstream.config import ConfigError, JobConfig

STEP_CLASS = "iot.engine.SensorStep"
JAR_NAME = "iot-engine.jar"
# What the step needs of the query: the RocksDB state store (transformWithState takes no other),
# incremental checkpoints of it (a changelog per batch, not a copy of the store), and batches
# only when records come (as the job always ran: a silence is reported by the next batch).
SETTINGS = {
    "spark.sql.streaming.stateStore.providerClass":
        "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
    "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
    "spark.sql.streaming.noDataMicroBatches.enabled": "false",
}
NO_JAR = (
    f"the job's engine ({JAR_NAME}, class {STEP_CLASS}) is not on Spark's classpath. Run the job "
    f"with ./scripts/submit.sh, or pass .jars/engine/{JAR_NAME} to spark-submit with --jars "
    "(./scripts/setup.sh builds it)"
)
# Row kinds after the step: an accepted reading, a record that is not usable, a re-send of an
# accepted reading (resend, or conflict when its value differs: `detail`), a silence found, a
# level shift found. The first three are the records read: the ledger's terms.
READING, RECORD, DUPLICATE, SILENT, SHIFT = "reading", "record", "duplicate", "silent", "shift"
USABLE = "usable"
_WATERMARK_TIME = "_watermark_time"
# The step's input: what it reads, and what the batch handler needs of each record.
STEP_INPUT = ("guid", "state", "event_time", "temperature", "reason", USABLE, "kafka_partition",
              "kafka_offset", "kafka_timestamp", "raw", parse.REJECT_REASON, parse.BATCH_TIME,
              parse.CLOCK, parse.CLOCK_SKEW)


def is_reading() -> Column:
    return F.col("kind") == READING


def plan(records: DataFrame, config: JobConfig) -> DataFrame:
    """Streaming Kafka records (parse.KAFKA_COLUMNS + batch_time) → one row per record, with the
    step's flags (late, first_of_sensor, first_in_state, first_in_window, new_sensor, z_reason,
    z_score, stuck_score, detail, detail_score), window_start and the state's band; plus a row
    per silence and per level shift found."""
    policy = parse.TimePolicy(config.max_future_seconds, config.max_past_seconds,
                              config.time_policy)
    flagged = (
        records.transform(parse.parse_records(config.bands.baselines, config.max_record_bytes,
                                              policy))
        .transform(anomalies.flag_anomalies(config.bands))
        .withColumn(USABLE, parse.is_usable())
    )
    # Spark's watermark follows the job's event-time clock (judged per Kafka partition by the
    # driver, windows.py), which the step reads for its batch: the watermark column is that clock
    # (the same in every row of a batch), so Spark's watermark is the clock one batch behind and
    # fires the step's timers by it. It is a column the step's input no longer has: Spark then
    # drops no record as late (the step marks them).
    jvm_step = _jvm_step(records.sparkSession)
    jvm_step.register(records.sparkSession._jsparkSession)
    watched = (
        flagged.withColumn(_WATERMARK_TIME, F.call_function(jvm_step.CLOCK_FUNCTION))
        .withWatermark(_WATERMARK_TIME, "0 seconds")
        .select(*STEP_INPUT)
    )
    stepped = _step(watched, config, jvm_step)
    return (
        stepped.withColumn(windows.WINDOW_START, windows.window_start(config.window_seconds))
        .transform(anomalies.with_bands(config.bands))
    )


def set_clock(spark: SparkSession, clock_micros: int | None) -> None:
    """Hands the event-time clock (µs since the epoch; None: none yet) to the step and the
    watermark column of every Spark job this thread starts next: the batch's jobs."""
    spark.sparkContext.setLocalProperty(
        _clock_property(spark), "" if clock_micros is None else str(clock_micros))


@functools.cache
def _clock_property(spark: SparkSession) -> str:
    """SensorStep.CLOCK_PROPERTY, asked of the JVM once (each call into it costs ~1 ms here)."""
    return _jvm_step(spark).CLOCK_PROPERTY


def _jvm_step(spark: SparkSession):
    step = spark._jvm.iot.engine.SensorStep
    if not isinstance(step.CLOCK_FUNCTION, str):  # py4j: an unknown class is a package
        raise ConfigError(NO_JAR)
    return step


def _step(records: DataFrame, config: JobConfig, step) -> DataFrame:
    d = config.detectors
    rules = step.rules(
        round(config.window_seconds * 1e6), d.zscore, d.zscore_history, d.zscore_min_history,
        float(d.zscore_threshold), float(d.zscore_min_sigma), d.stuck, d.stuck_repeats,
        d.silent, round(d.silent_seconds * 1e6), round(d.sensor_ttl_seconds * 1e6),
        d.level_shift, d.level_shift_readings, round(config.restate_horizon_seconds * 1e6))
    return DataFrame(step.apply(records._jdf, rules), records.sparkSession)
