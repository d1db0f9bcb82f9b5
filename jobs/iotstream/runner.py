"""Runs the streaming query until it ends (available-now), fails, or is interrupted."""

from __future__ import annotations

import sys

from pyspark.errors import AnalysisException, StreamingQueryException

from iotstream import stream
from iotstream.cli import describe
from iotstream.config import JobConfig
from iotstream.pipeline import BatchProcessor
from iotstream.sinks import ParquetSink

NO_CONNECTOR = (
    "error: Spark has no Kafka source: the spark-sql-kafka-0-10 connector jars are not on the "
    "classpath. Run the job with ./scripts/submit.sh, or pass them to spark-submit with "
    "--jars (./scripts/setup.sh fetches them into .jars/spark) or --packages "
    "org.apache.spark:spark-sql-kafka-0-10_2.13:<your Spark version>."
)


def run(config: JobConfig) -> int:
    """Starts the session and the query and blocks; returns the process exit code."""
    spark = stream.build_session(config)
    try:
        try:
            records = stream.read_kafka(spark, config)
        except AnalysisException as e:
            if "kafka" in str(e).lower() and "DATA_SOURCE_NOT_FOUND" in str(e):
                print(NO_CONNECTOR, file=sys.stderr)
                return 2
            raise
        processor = BatchProcessor(config, ParquetSink(config.output_dir))
        print(f"iot-aggregator: {describe(config)}", flush=True)
        query = stream.start(records, processor, config)
        try:
            query.awaitTermination()
        except KeyboardInterrupt:
            print("iot-aggregator: interrupted, stopping the query", file=sys.stderr)
            query.stop()
            return 130
        except StreamingQueryException as e:
            print(f"error: the streaming query failed: {_first_line(e)}", file=sys.stderr)
            return 1
        return 0
    finally:
        spark.stop()


def _first_line(e: Exception) -> str:
    text = getattr(e, "desc", None) or str(e)
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__
