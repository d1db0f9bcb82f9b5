"""The streaming query: Kafka in, `foreachBatch` out (every table), progress in the checkpoint."""

from __future__ import annotations

import json
from collections.abc import Callable

from pyspark import SparkConf, SparkContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from iotstream import plan
from iotstream.config import ConfigError, JobConfig, checkpoint_location
from iotstream.io.offsets import last_offsets_entry
from iotstream.parse import BATCH_TIME, KAFKA_COLUMNS

QUERY_NAME = "iot-aggregator"


def is_local(master: str) -> bool:
    """Whether the master URL runs everything in the driver's JVM (local, local[N], local[*]):
    no executor can be lost, no other node reads the files. local-cluster[...] has executors."""
    return master == "local" or master.startswith("local[")


def scaling_settings(config: JobConfig, master: str) -> dict[str, str]:
    """The Spark settings of the config's scaling knobs, for the given master URL (in local
    mode the executor settings mean nothing, and are left out)."""
    settings = {"spark.sql.shuffle.partitions": str(config.shuffle_partitions)}
    if is_local(master):
        return settings
    if config.executor_cores:
        settings["spark.executor.cores"] = str(config.executor_cores)
    if config.executor_memory:
        settings["spark.executor.memory"] = config.executor_memory
    if config.executors:
        if master.startswith("spark://"):
            # Standalone has no executor count: every executor takes spark.executor.cores, and
            # spark.cores.max caps the application's cores.
            if not config.executor_cores:
                raise ConfigError("[cluster] executors on a standalone cluster (spark://) needs "
                                  "executor_cores too: the job asks for executors × executor_cores "
                                  "cores (spark.cores.max)")
            settings["spark.cores.max"] = str(config.executors * config.executor_cores)
        else:
            settings["spark.executor.instances"] = str(config.executors)
    return settings


def session_settings(config: JobConfig, master: str) -> dict[str, str]:
    """Every setting the job gives its session, for the given master URL."""
    return {
        # Batch dates (the Parquet partitions) and printed times are UTC whatever the host's zone.
        "spark.sql.session.timeZone": "UTC",
        # Spark's own redaction of what it logs, widened to Kafka's SASL settings.
        "spark.redaction.regex": "(?i)secret|password|token|access[.]?key|jaas|sasl",
        # Plain microsecond timestamps: read as such by pyarrow, pandas and every engine.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        **plan.SETTINGS,
        **scaling_settings(config, master),
    }


def build_session(config: JobConfig) -> SparkSession:
    """The job's session. Master and resources come from spark-submit, but for the scaling knobs
    that the config sets: like any setting an application makes itself, those win over
    spark-submit's flags and spark-defaults.conf (a knob left at 0 / "" sets nothing)."""
    # Connects pyspark to spark-submit's JVM, whose SparkConf knows the master.
    SparkContext._ensure_initialized()
    master = SparkConf().get("spark.master", "")
    builder = SparkSession.builder.appName(QUERY_NAME)
    for key, value in session_settings(config, master).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


RESOURCE_SETTINGS = {"spark.executor.instances": "executors", "spark.executor.cores": "cores each",
                     "spark.executor.memory": "memory each", "spark.cores.max": "cores max"}


def describe_resources(spark: SparkSession, config: JobConfig) -> str:
    """Where the job runs and with what, as Spark has it (from the config or spark-submit);
    executor settings left to Spark's defaults are not listed."""
    conf = spark.sparkContext.getConf()
    executors = [f"{label} {conf.get(key)}" for key, label in RESOURCE_SETTINGS.items()
                 if conf.contains(key)]
    asked = spark.conf.get("spark.sql.shuffle.partitions")
    kept = recorded_shuffle_partitions(spark, config)
    shuffle = (f"shuffle partitions {kept} (recorded in the checkpoint at its first batch, "
               f"which Spark keeps; {asked} asked)" if kept and kept != asked
               else f"shuffle partitions {asked}")
    return "; ".join([
        f"master {spark.sparkContext.master}",
        *([", ".join(executors)] if executors else []),
        shuffle,
        f"Kafka maxOffsetsPerTrigger {config.max_offsets_per_trigger or 'none'}, "
        f"minPartitions {config.min_partitions or 'none'}",
    ])


def recorded_shuffle_partitions(spark: SparkSession, config: JobConfig) -> str | None:
    """The shuffle partitions of an existing checkpoint: Spark records them in the offset log
    at the query's first batch and sets them again on every restart, whatever is asked."""
    entry = last_offsets_entry(spark, checkpoint_location(config))
    for line in (entry or "").splitlines()[1:2]:  # v1, then the batch's metadata
        try:
            return str(json.loads(line)["conf"]["spark.sql.shuffle.partitions"])
        except (ValueError, KeyError, TypeError):
            return None
    return None


def read_kafka(spark: SparkSession, config: JobConfig) -> DataFrame:
    """The topic as a stream of Kafka records, only the columns the job uses."""
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", config.bootstrap_servers)
        .option("subscribe", config.topic)
        .option("startingOffsets", config.starting_offsets)
        .option("failOnDataLoss", str(config.fail_on_data_loss).lower())
        .options(**config.kafka_options)
    )
    if config.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(config.max_offsets_per_trigger))
    if config.min_partitions:
        reader = reader.option("minPartitions", str(config.min_partitions))
    # current_timestamp() in a streaming query is the micro-batch's timestamp, kept in the
    # checkpoint: a batch replayed after a crash gets the same batch_time (and date partition).
    return reader.load().select(*KAFKA_COLUMNS, F.current_timestamp().alias(BATCH_TIME))


def is_missing_kafka_source(error: Exception) -> bool:
    """Whether `read_kafka` failed because the connector jars are not on the classpath."""
    return "failed to find data source: kafka" in str(error).lower()


def start(
    records: DataFrame, handler: Callable[[DataFrame, int], None], config: JobConfig,
) -> StreamingQuery:
    """Starts the query: every micro-batch goes to `handler`, progress to the checkpoint."""
    writer = (
        records.writeStream.queryName(QUERY_NAME)
        .foreachBatch(handler)
        .option("checkpointLocation", checkpoint_location(config))
    )
    if config.available_now:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{config.trigger_seconds:g} seconds")
    return writer.start()
