"""The streaming plan: Kafka records → parsed, flagged records → the per-sensor step → foreachBatch.

The per-sensor step (its detector rules, which judge each sensor's readings in event-time order
by the rules' clock, re-sent readings, and which records are late, first of their sensor or
window, or new sensors) is Spark's `transformWithState` operator with a small
Java processor (`engine/`, built by scripts/setup.sh into `iot-engine.jar`) on the RocksDB state
store: each sensor's state lives in Spark's state, partitioned by sensor on the executors and
checkpointed incrementally with the query. A batch reads and writes only the state of the
sensors in it (and of those whose timer is due), whatever the size of the fleet; a replayed
batch starts from the same state version. Every record comes out of the step with its flags;
rules' findings come as data (its `findings` column), in rows of kind judged when they are of a
reading judged later or of another reading (a silence, a level shift). What the step takes and gives is
contract.py's. Everything after it is the batch handler's (pipeline.py).
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from iotstream import band_rule, contract, parse, step, windows
from iotstream.config import JobConfig
from iotstream.schema import TABLES

# What the step needs of the query: the RocksDB state store (transformWithState takes no other),
# incremental checkpoints of it (a changelog per batch, not a copy of the store), and a batch
# without records when the watermark moved and no record came (Spark's default: the step's
# timers fire in it, so the rules judge the last readings before a pause in the input, or the
# end of a bounded run's, without waiting for more records).
SETTINGS = {
    "spark.sql.streaming.stateStore.providerClass":
        "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider",
    "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
    "spark.sql.streaming.noDataMicroBatches.enabled": "true",
}
_WATERMARK_TIME = "_watermark_time"
# The step's input (the contract's), then what the batch handler needs of each record.
PASSED_THROUGH = ("kafka_timestamp", "raw", parse.REJECT_REASON, parse.CLOCK_SKEW)


def plan(records: DataFrame, config: JobConfig) -> DataFrame:
    """Streaming Kafka records (parse.KAFKA_COLUMNS + batch_time) → one row per record, with the
    step's columns (step_contract.json's output, each rule's), window_start and the state's
    band; plus the rows the step's rules add (a reading judged with a finding, a silence, a level
shift)."""
    policy = parse.TimePolicy.of(config)
    flagged = (
        records.transform(parse.parse_records(config.bands.baselines, config.max_record_bytes,
                                              policy))
        .transform(band_rule.flag_out_of_band(config.bands))
        .withColumn("usable", parse.is_usable())
    )
    # Spark's watermark follows the rules' clock (judged per Kafka partition by the driver,
    # windows.py), which the step reads for its batch: the watermark column is that clock (the
    # same in every row of a batch; the latest event time read in the batch that reaches the end
    # of the input), so Spark's watermark is the rules' clock one batch behind and fires the
    # step's timers by it. It is a column the step's input no longer has: Spark then drops no
    # record as late (the step marks them).
    step.register_clock(records.sparkSession)
    watched = (
        # A quarantined record's time (a clock in 2099) must never move the watermark.
        flagged.withColumn(_WATERMARK_TIME, F.call_function(
            contract.WATERMARK_FUNCTION, F.when(F.col("usable"), F.col("event_time"))))
        .withWatermark(_WATERMARK_TIME, "0 seconds")
        .select(*contract.INPUT, *PASSED_THROUGH)
    )
    stepped = step.apply_step(watched, config)
    # A jar older than the job: no findings column, or none of the readings table's.
    step.require_columns(stepped, (*contract.OUTPUT, *TABLES["readings"].names[2:]))
    return (
        stepped.withColumn(windows.WINDOW_START, windows.window_start(config.window_seconds))
        .transform(band_rule.with_bands(config.bands))
    )
