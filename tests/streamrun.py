"""Runs the job's real streaming plan (plan.plan → foreachBatch) batch by batch in the tests'
SparkSession, with Kafka-shaped records from Parquet files instead of a broker.

`StreamRun(spark, config, processor)(records, batch_id)` hands `records` (a DataFrame shaped like
the Kafka source's rows, sparkdata.kafka_records) to the query as micro-batch `batch_id`: the
records go to one file of the query's file source, and the query runs (available-now) until it
has processed it. State carries over from batch to batch as in the job: Spark's state store and
checkpoint, the processor's saved windows and output. Every call starts the query again from
its checkpoint, as a restart would; a new processor is a new process.

`job_run(spark, job_config(out, **settings))` is such a run of a new process of the job, set up
as the tests set it up: conf/job.toml, `settings` changed, output under `out`, no alerts.
`run_batches` runs a list of batches that way, one new process per batch. A call with `last`
ends the input, as a bounded run's last batch: the clocks move past every reading read, and the
batch without records that follows (as Spark runs one then) judges every sensor's last readings.

A batch id that was already committed is run again as after a crash: its commit is removed from
the checkpoint and its file's records are replaced, so Spark replays it (with the same offsets,
the state version before it and the given records).
"""

from __future__ import annotations

import io
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from pyspark.sql import DataFrame, SparkSession

from conftest import configured
from iotstream import plan, stream
from iotstream.config import JobConfig, checkpoint_location
from iotstream.io.tables import ParquetSink
from iotstream.pipeline import BatchProcessor
from sparkdata import KAFKA_RECORD_SCHEMA


class StreamRun:
    def __init__(self, spark: SparkSession, config: JobConfig, processor: BatchProcessor) -> None:
        self.spark = spark
        self.config = config.with_overrides(available_now=True)
        self.processor = processor
        self.checkpoint = Path(checkpoint_location(self.config))
        self.source = Path(f"{self.config.output_dir.rstrip('/')}-source")

    def __call__(self, records: DataFrame, batch_id: int, last: bool = False) -> None:
        """Runs `records` as batch `batch_id`. `last`: as the last batch of a bounded run, the
        batch that reads every partition to its end (the clocks move past every reading read),
        followed by the batch without records that Spark then runs (batch_id + 1), in which the
        rules judge every sensor's last readings."""
        if last:
            self.end(records, batch_id)
            self.after_end(records.limit(0), batch_id + 1)
        else:
            self._run(records, batch_id)

    def end(self, records: DataFrame, batch_id: int) -> None:
        """Runs `records` as the batch that reads every partition to its end."""
        self.processor.end_of_input = lambda _spark, b: b >= batch_id
        try:
            self._run(records, batch_id)
        finally:
            self.processor.end_of_input = None

    def after_end(self, empty: DataFrame, batch_id: int) -> None:
        """Runs the batch without records that Spark runs after the end (its timers fire)."""
        self.processor.end_of_input = lambda _spark, b: True
        try:
            self._run(empty, batch_id)
        finally:
            self.processor.end_of_input = None

    def _run(self, records: DataFrame, batch_id: int) -> None:
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
            self.processor.close()  # as the job does once its query stops: a merge under way ends
        ran = [p["batchId"] for p in query.recentProgress]
        assert batch_id in ran, f"batch {batch_id} did not run (ran {ran})"
        assert batch_id in _ids(self.checkpoint / "commits")


def job_config(output_dir: Path | str, **settings: Any) -> JobConfig:
    """conf/job.toml with the output under `output_dir`, no alerts to Kafka (the unit tests have
    no broker) and `settings` in place of its fields."""
    return replace(configured(), output_dir=str(output_dir), alerts_topic="", **settings)


def job_run(spark: SparkSession, config: JobConfig, out: TextIO | None = None,
            **processor_options: Any) -> StreamRun:
    """A new process of the job: its query runs the batch handler (with a ParquetSink on the
    config's output_dir) on the batches it is given. Its console is `.processor.out`: `out`, or
    a StringIO of its own. `processor_options` go to BatchProcessor (e.g. clock=)."""
    processor = BatchProcessor(config, ParquetSink(config.output_dir),
                               io.StringIO() if out is None else out, **processor_options)
    return StreamRun(spark, config, processor)


def run_batches(spark: SparkSession, out: Path, batches: list[DataFrame], last: bool = False,
                **settings: Any) -> str:
    """Runs the job's query over the batches (DataFrames of Kafka records, ids 0, 1, ...), one new
    process per batch, with job_config(out, **settings); returns the console output. `last`: the
    last batch ends the input (StreamRun's `last`), and a batch without records follows."""
    config = job_config(out, **settings)
    console = io.StringIO()
    for batch_id, records in enumerate(batches):
        job_run(spark, config, console)(records, batch_id, last and batch_id == len(batches) - 1)
    return console.getvalue()


def _ids(folder: Path) -> set[int]:
    return {int(p.name) for p in folder.iterdir() if p.name.isdigit()} if folder.is_dir() else set()
