"""The streaming query: Kafka in, `foreachBatch` out (every table), progress in the checkpoint."""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery

from iotstream.config import JobConfig, checkpoint_location
from iotstream.parse import BATCH_TIME, KAFKA_COLUMNS

QUERY_NAME = "iot-aggregator"


def build_session(config: JobConfig) -> SparkSession:
    """The job's session; master and resources come from spark-submit."""
    return (
        SparkSession.builder.appName(QUERY_NAME)
        # Batch dates (the Parquet partitions) and printed times are UTC whatever the host's zone.
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(config.shuffle_partitions))
        # Spark's own redaction of what it logs, widened to Kafka's SASL settings.
        .config("spark.redaction.regex", "(?i)secret|password|token|access[.]?key|jaas|sasl")
        # Plain microsecond timestamps: read as such by pyarrow, pandas and every engine.
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .getOrCreate()
    )


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
