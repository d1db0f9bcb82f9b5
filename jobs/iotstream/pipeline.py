"""The per-micro-batch work: parse once, compute every result from the cached batch, write, print."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TextIO

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from iotstream import aggregates, anomalies, console, parse
from iotstream.config import JobConfig
from iotstream.schema import BATCH_TOTALS_SCHEMA, STATE_STATS_SCHEMA
from iotstream.sinks import ParquetSink


class BatchProcessor:
    """`foreachBatch` handler. Kafka is read once per batch: the parsed batch is persisted, every
    result is computed from it, and it is released before the next batch."""

    def __init__(
        self,
        config: JobConfig,
        sink: ParquetSink,
        out: TextIO = sys.stdout,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.config = config
        self.sink = sink
        self.out = out
        self.clock = clock
        self._parse = parse.parse_records(config.bands.baselines)
        self._flag = anomalies.flag_anomalies(config.bands)
        self._last: tuple[int, int] | None = None  # (batch_id, running_messages) last written

    def __call__(self, records: DataFrame, batch_id: int) -> None:
        batch_time = self.clock().replace(microsecond=0)
        flagged = records.transform(self._parse).transform(self._flag).persist()
        try:
            report = self._process(flagged, batch_id, batch_time)
        finally:
            flagged.unpersist()
        self.out.write(console.render(report))
        self.out.flush()

    def _process(self, flagged: DataFrame, batch_id: int, batch_time: datetime) -> console.BatchReport:
        spark = flagged.sparkSession
        events = flagged.where(F.col(parse.REJECT_REASON).isNull())
        summary = aggregates.batch_summary(flagged).collect()[0].asDict()
        stats = [r.asDict() for r in aggregates.state_stats(events).collect()]
        running = self._running_before(flagged, batch_id) + summary["messages"]

        batch = {"batch_id": batch_id, "batch_time": batch_time}
        found = anomalies.anomalies(events)
        shown: list[dict] = []
        if summary["anomalies"]:
            stamped = found.select(F.lit(batch_id).cast("long").alias("batch_id"),
                                   F.lit(batch_time).alias("batch_time"), "*")
            self.sink.append("anomalies", stamped)
            shown = [r.asDict() for r in found.orderBy("event_time", "guid")
                     .limit(self.config.max_anomaly_rows).collect()]
        self.sink.append("state_stats", spark.createDataFrame(
            [_in_order(STATE_STATS_SCHEMA.fieldNames(), {**batch, **s}) for s in stats],
            STATE_STATS_SCHEMA,
        ))
        totals = {**summary, "running_messages": running}
        # Written last: a batch_totals row means the batch's other rows are in place.
        self.sink.append("batch_totals", spark.createDataFrame(
            [_in_order(BATCH_TOTALS_SCHEMA.fieldNames(), {**batch, **totals})], BATCH_TOTALS_SCHEMA
        ))
        self._last = (batch_id, running)
        return console.BatchReport(batch_id, batch_time, totals, stats, shown)

    def _running_before(self, flagged: DataFrame, batch_id: int) -> int:
        if self._last is not None and self._last[0] == batch_id - 1:
            return self._last[1]
        return self.sink.running_messages_before(flagged.sparkSession, batch_id)


def _in_order(names: list[str], values: dict) -> tuple:
    return tuple(values[n] for n in names)
