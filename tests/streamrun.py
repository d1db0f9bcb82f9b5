"""Runs the job's real streaming plan (plan.plan → foreachBatch) batch by batch in the tests'
SparkSession, with Kafka-shaped records from Parquet files instead of a broker.

`StreamRun(spark, config, processor)(records, batch_id)` hands `records` (a DataFrame shaped like
the Kafka source's rows, sparkdata.kafka_records) to the query as micro-batch `batch_id`: the
records go to one file of the query's file source, and the query runs (available-now) until it
has processed it. State carries over from batch to batch as in the job: Spark's state store and
checkpoint, the processor's saved windows and output. Every call starts the query again from
its checkpoint, as a restart would; a new processor is a new process.

A batch id that was already committed is run again as after a crash: its commit is removed from
the checkpoint and its file's records are replaced, so Spark replays it (with the same offsets,
the state version before it and the given records).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from iotstream import plan, stream
from iotstream.config import JobConfig, checkpoint_location
from iotstream.pipeline import BatchProcessor
from sparkdata import KAFKA_RECORD_SCHEMA


class StreamRun:
    def __init__(self, spark: SparkSession, config: JobConfig, processor: BatchProcessor) -> None:
        self.spark = spark
        self.config = config.with_overrides(available_now=True)
        self.processor = processor
        self.checkpoint = Path(checkpoint_location(self.config))
        self.source = Path(f"{self.config.output_dir.rstrip('/')}-source")

    def __call__(self, records: DataFrame, batch_id: int) -> None:
        self.source.mkdir(parents=True, exist_ok=True)
        committed = _ids(self.checkpoint / "commits")
        expected = max(committed, default=-1) + 1
        if batch_id in committed:
            assert batch_id == max(committed), "only the last committed batch can be replayed"
            (self.checkpoint / "commits" / str(batch_id)).unlink()
            (self.checkpoint / "commits" / f".{batch_id}.crc").unlink(missing_ok=True)
        elif batch_id != expected:
            raise AssertionError(f"the query's next batch is {expected}, not {batch_id}")
        target = self.source / f"batch-{batch_id:06d}.parquet"
        staging = self.source.parent / f".{self.source.name}-{batch_id}"
        records.select(*KAFKA_RECORD_SCHEMA.fieldNames()).coalesce(1).write.mode(
            "overwrite").parquet(str(staging))
        written = next(staging.glob("part-*.parquet"))
        written.replace(target)
        shutil.rmtree(staging)
        source = (self.spark.readStream.schema(KAFKA_RECORD_SCHEMA)
                  .option("maxFilesPerTrigger", 1).parquet(str(self.source)))
        query = stream.start(plan.plan(source, self.config), self.processor, self.config)
        try:
            query.awaitTermination()
        finally:
            query.stop()
        ran = [p["batchId"] for p in query.recentProgress]
        assert batch_id in ran, f"batch {batch_id} did not run (ran {ran})"
        assert batch_id in _ids(self.checkpoint / "commits")


def _ids(folder: Path) -> set[int]:
    return {int(p.name) for p in folder.iterdir() if p.name.isdigit()} if folder.is_dir() else set()
