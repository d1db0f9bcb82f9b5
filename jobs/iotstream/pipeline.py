"""The per-micro-batch work: parse once, compute every result from the cached batch, write, print."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TextIO

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from iotstream import aggregates, anomalies, console, parse
from iotstream.config import JobConfig
from iotstream.schema import ANOMALIES_SCHEMA, BATCH_TOTALS_SCHEMA, STATE_STATS_SCHEMA
from iotstream.sinks import ParquetSink

# Up to this many anomalies in a batch are fetched to the driver once (console and Parquet from
# the same rows); beyond it they are written by the executors and only a sample is fetched.
MAX_LOCAL_ANOMALIES = 50_000


class BatchProcessor:
    """`foreachBatch` handler. Kafka is read once per batch: the parsed batch is persisted, every
    result is computed from it, and it is released before the next batch."""

    def __init__(
        self,
        config: JobConfig,
        sink: ParquetSink,
        out: TextIO = sys.stdout,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.sink = sink
        self.out = out
        self.clock = clock
        self._parse = parse.parse_records(config.bands.baselines)
        self._flag = anomalies.flag_anomalies(config.bands)
        self._last: tuple[int, int] | None = None  # (batch_id, running_messages) last written

    def __call__(self, records: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        batch_time = self.clock().replace(microsecond=0)
        flagged = records.transform(self._parse).transform(self._flag).persist()
        try:
            report = self._process(flagged, batch_id, batch_time)
        finally:
            flagged.unpersist()
        report = replace(report, seconds=time.monotonic() - started)
        self.out.write(console.render(report))
        self.out.flush()

    def _process(self, flagged: DataFrame, batch_id: int, batch_time: datetime) -> console.BatchReport:
        spark = flagged.sparkSession
        figures = [r.asDict() for r in aggregates.batch_figures(flagged).collect()]
        summary, stats = aggregates.split_figures(figures)
        totals = {**summary, "running_messages": self._running_before(flagged, batch_id)
                  + summary["messages"]}
        batch = {"batch_id": batch_id, "batch_time": batch_time}

        shown: list[dict] = []
        if summary["anomalies"]:
            found = anomalies.anomalies(flagged.where(F.col(parse.REJECT_REASON).isNull()))
            if summary["anomalies"] <= MAX_LOCAL_ANOMALIES:
                # Few (the usual case): one job to fetch them, for the console and the table.
                rows = sorted((r.asDict() for r in found.collect()),
                              key=lambda a: (a["event_time"], a["guid"]))
                shown = rows[: self.config.max_anomaly_rows]
                found = spark.createDataFrame(
                    [_in_order(ANOMALIES_SCHEMA.fieldNames(), {**batch, **a}) for a in rows],
                    ANOMALIES_SCHEMA,
                )
            else:
                shown = [r.asDict() for r in found.orderBy("event_time", "guid")
                         .limit(self.config.max_anomaly_rows).collect()]
                found = found.select(F.lit(batch_id).cast("long").alias("batch_id"),
                                     F.lit(batch_time).alias("batch_time"), "*")
            self.sink.append("anomalies", found)
        self.sink.append("state_stats", spark.createDataFrame(
            [_in_order(STATE_STATS_SCHEMA.fieldNames(), {**batch, **s}) for s in stats],
            STATE_STATS_SCHEMA,
        ))
        # Written last: a batch_totals row means the batch's other rows are in place.
        self.sink.append("batch_totals", spark.createDataFrame(
            [_in_order(BATCH_TOTALS_SCHEMA.fieldNames(), {**batch, **totals})], BATCH_TOTALS_SCHEMA
        ))
        self._last = (batch_id, totals["running_messages"])
        return console.BatchReport(batch_id, batch_time, totals, stats, shown)

    def _running_before(self, flagged: DataFrame, batch_id: int) -> int:
        if self._last is not None and self._last[0] == batch_id - 1:
            return self._last[1]
        return self.sink.running_messages_before(flagged.sparkSession, batch_id)


def _in_order(names: list[str], values: dict) -> tuple:
    return tuple(values[n] for n in names)
