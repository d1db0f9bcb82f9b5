"""The per-micro-batch work: parse once, compute every result from the cached batch, write, print."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TextIO

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from iotstream import aggregates, anomalies, console, parse
from iotstream.config import JobConfig
from iotstream.schema import BATCH_TOTALS_SCHEMA, STATE_STATS_SCHEMA
from iotstream.sinks import ParquetSink


class StopRequested(Exception):
    """Raised at the start of a batch once a stop was asked for: the batch has done nothing, so
    it is not committed and the next run processes it in full."""


class BatchProcessor:
    """`foreachBatch` handler. Kafka is read once per batch: the parsed batch is persisted, every
    result is computed from it, and it is released before the next batch."""

    def __init__(
        self,
        config: JobConfig,
        sink: ParquetSink,
        out: TextIO = sys.stdout,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.config = config
        self.sink = sink
        self.out = out
        self.clock = clock
        self.stopping = stopping
        self._parse = parse.parse_records(config.bands.baselines, config.max_record_bytes)
        self._flag = anomalies.flag_anomalies(config.bands)
        self._last: tuple[int, int] | None = None  # (batch_id, running_messages) last written

    def __call__(self, records: DataFrame, batch_id: int) -> None:
        if self.stopping():
            raise StopRequested(f"batch {batch_id} left for the next run")
        started = time.monotonic()
        flagged = records.transform(self._parse).transform(self._flag).persist()
        try:
            report = self._process(flagged, batch_id)
        finally:
            flagged.unpersist()
        report = replace(report, seconds=time.monotonic() - started)
        self.out.write(console.render(report))
        self.out.flush()

    def _process(self, flagged: DataFrame, batch_id: int) -> console.BatchReport:
        spark = flagged.sparkSession
        figures = [r.asDict() for r in aggregates.batch_figures(flagged).collect()]
        summary, stats = aggregates.split_figures(figures)
        # Spark's time for the batch (naive UTC, as the driver runs in UTC); an empty batch has
        # no rows to carry it, and takes the clock's.
        spark_time = summary.pop("batch_time")
        batch_time = spark_time.replace(tzinfo=UTC) if spark_time else self.clock()
        follows_last = self._last is not None and self._last[0] == batch_id - 1
        if follows_last:
            running = self._last[1] + summary["messages"]
        else:
            # The first batch this process runs may be a replay of one a crashed run began:
            # start from its predecessor's total and a clean slate. (Within one process, a batch
            # that fails ends the query, so later batches are never replays.)
            running = self.sink.running_messages_before(spark, batch_id) + summary["messages"]
            self.sink.clear_batch(spark, batch_id)
        totals = {**summary, "running_messages": running}
        day = batch_time.date()
        stamp = [F.lit(batch_id).cast("long").alias("batch_id"), F.lit(batch_time).alias("batch_time")]

        shown: list[dict] = []
        if summary["anomalies"]:
            found = anomalies.anomalies(parse.usable(flagged))
            self.sink.write_batch("anomalies", batch_id, day, found.select(*stamp, "*"))
            shown = [r.asDict() for r in found.orderBy("event_time", "guid")
                     .limit(self.config.max_anomaly_rows).collect()]
        if summary["quarantined"]:
            self.sink.write_batch("quarantine", batch_id, day,
                                  parse.quarantined(flagged).select(*stamp, "*"))
        if stats:
            self.sink.write_batch("state_stats", batch_id, day,
                                  _local(spark, STATE_STATS_SCHEMA, batch_id, batch_time, stats))
        # Written last, also for an empty batch: a batch_totals row means the batch is complete,
        # and the next batch's running total starts from it.
        self.sink.write_batch("batch_totals", batch_id, day,
                              _local(spark, BATCH_TOTALS_SCHEMA, batch_id, batch_time, [totals]))
        self._last = (batch_id, running)
        return console.BatchReport(batch_id, batch_time, totals, stats, shown)


def _local(spark: SparkSession, schema: T.StructType, batch_id: int, batch_time: datetime,
           rows: list[dict]) -> DataFrame:
    """Rows computed on the driver as a DataFrame of a table's schema, stamped with the batch."""
    names = schema.fieldNames()
    stamped = [{**row, "batch_id": batch_id, "batch_time": batch_time} for row in rows]
    return spark.createDataFrame([tuple(r[n] for n in names) for r in stamped], schema)
