"""The main query's per-micro-batch work: compute every result from the cached batch, commit them
in a declared order, print the console block."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TextIO

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from iotstream import console, parse, step, stream, windows
from iotstream.compaction import Compactor, Merge, describe
from iotstream.compute import compute
from iotstream.config import JobConfig, checkpoint_location
from iotstream.io import fs
from iotstream.io.arrow import naive
from iotstream.io.jobstate import VersionedState
from iotstream.io.offsets import BatchTails, batch_watermark_ms
from iotstream.io.tables import ParquetSink
from iotstream.metrics import Metrics, quarantine_reasons
from iotstream.models import ModelFiles, ModelWatch
from iotstream.results import BatchResult, JobState, SparkTable

# The job's own state, in the checkpoint folder beside Spark's (whose state store holds the
# sensors' models): the windows kept (open, and closed within the restate horizon) and the
# Kafka partitions' clocks.
WINDOW_STATE_DIR = "iot-open-windows"
PARTITION_STATE_DIR = "iot-partition-clocks"
# Tables in the order a batch writes them: batch_totals last (its row says the batch is
# complete), the open windows between the tables and it.
COMMIT_ORDER = ("anomalies", "window_stats", "late_events", "quarantine", "duplicates",
                "clock_errors", "readings", "sensors", "state_stats", "state_totals")


class StopRequested(Exception):
    """Raised at the start of a batch once a stop was asked for: the batch has done nothing, so
    it is not committed and the next run processes it in full."""


class BatchProcessor:
    """`foreachBatch` handler of the main query (over plan.plan's rows): the batch is cached,
    `compute` reads it (two Spark jobs), `commit` writes, and it is released before the next."""

    def __init__(
        self,
        config: JobConfig,
        sink: ParquetSink,
        out: TextIO = sys.stdout,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        stopping: Callable[[], bool] = lambda: False,
        alerts: Callable[[SparkSession, object], int] | None = None,
        metrics: Metrics | None = None,
        end_of_input: Callable[[SparkSession, int], bool] | None = None,
        tails: BatchTails | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.out = out
        self.clock = clock
        self.models = ModelWatch(config.detectors["learned"], out)
        self.stopping = stopping
        self.alerts = alerts
        self.metrics = metrics
        # Whether a batch reads every partition to its end (io.offsets.InputEnd; --available-now).
        self.end_of_input = end_of_input
        # The last record each partition brings in a batch, which lets the batch judge its own
        # readings (io.offsets.BatchTails; a Kafka source).
        self.tails = tails
        self.policy = parse.TimePolicy.of(config)
        checkpoint = checkpoint_location(config)
        self.windows = VersionedState(f"{checkpoint}/{WINDOW_STATE_DIR}",
                                      windows.WINDOW_STATE_SCHEMA)
        self.partitions = VersionedState(f"{checkpoint}/{PARTITION_STATE_DIR}",
                                         windows.PARTITION_STATE_SCHEMA)
        self._last: JobState | None = None  # the state after the last batch this process wrote
        self.compactor = Compactor(
            sink, config.compact_every_batches,
            lambda m: metrics.compaction(m.seconds, m.files, m.error is None)
            if metrics is not None else None)

    def close(self, wait: bool = True) -> None:
        """The query has stopped: waits for a merge of files under way (unless not `wait`: the
        next start finishes it) and says how the last ones ended."""
        if wait and self.compactor.running():
            self.out.write("compaction: waiting for the merge of files under way\n")
            self.out.flush()
        self._say(self.compactor.close(wait))

    def _say(self, merges: list[Merge]) -> None:
        for merge in merges:
            self.out.write(describe(merge) + "\n")

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        if self.stopping():
            raise StopRequested(f"batch {batch_id} left for the next run")
        started = time.monotonic()
        phases = _Phases()
        spark = batch.sparkSession
        # The first batch this process runs may be a replay of one a crashed run began. (Within
        # one process, a batch that fails ends the query, so later batches are never replays.)
        may_be_replay = self._last is None or self._last.batch_id != batch_id - 1
        before = self._state_before(spark, batch_id) if may_be_replay else self._last
        ended = self.end_of_input is not None and self.end_of_input(spark, batch_id)
        latest = windows.micros(max((p["max_event_time"] for p in before.partitions), default=None))
        if ended:
            # The end must move Spark's watermark (so that Spark runs the batch without records
            # that judges the last readings), even when a reading read earlier put it at the
            # latest event time already.
            moved = batch_watermark_ms(spark, checkpoint_location(self.config), batch_id)
            if moved is not None:
                latest = max(latest or 0, (moved + 1) * 1000)
        judged = self._judged_in_batch(spark, batch_id, before)
        step.set_clocks(spark, windows.micros(before.watermark), windows.micros(before.judged_until),
                        windows.micros(judged), ended, latest)
        step.set_model(spark, self.models.location(model_files(spark)))
        # The state before, the input's end, the partitions' last records, the model.
        phases.mark("clocks")
        cached, release = _cached(batch)
        try:
            result = compute(cached, batch_id, before, self.config, self.clock, phases.mark,
                             elapsed=lambda: time.monotonic() - started, end_of_input=ended,
                             judged_in_batch=judged)
            self.commit(spark, result, phases.mark, may_be_replay)
            # Counted while the batch is still cached: more quarantined records than the driver
            # takes are a SparkTable over it.
            reasons = (quarantine_reasons(_rows(result.tables.get("quarantine")))
                       if self.metrics is not None else None)
        except Exception:
            if self.stopping():  # the stop cancelled the batch's Spark jobs: it runs again next time
                raise StopRequested(f"batch {batch_id} cut short, left for the next run") from None
            raise
        finally:
            release()
        self._last = result.state
        seconds = time.monotonic() - started
        report = replace(result.report, seconds=seconds, phases=tuple(phases.phases))
        if self.metrics is not None:
            self.metrics.batch(result.tables["batch_totals"].to_pylist()[0], seconds,
                               result.alerts, reasons)
        self.out.write(console.render(report))
        self.out.flush()

    def _judged_in_batch(self, spark: SparkSession, batch_id: int,
                         before: JobState) -> datetime | None:
        """The rules' clock for the batch's own readings (windows.judged_in_batch), from the
        last record it reads from each partition; the clock the batch before left when those
        are not known. The same when the batch is replayed: the records are where they were."""
        if self.tails is None:
            return before.judged_until
        batch_ms, tails = self.tails(spark, batch_id)
        if batch_ms is None or not tails:
            return before.judged_until
        times = {p: None if r is None else parse.record_time(r[0], r[1], self.policy)
                 for p, r in tails.items()}
        batch_time = datetime(1970, 1, 1) + timedelta(milliseconds=batch_ms)
        return windows.judged_in_batch(before.judged_until, before.partitions, times, batch_time,
                                       self.config.idle_timeout_seconds)

    def commit(self, spark: SparkSession, result: BatchResult,
               mark: Callable[[str], None] = lambda _: None, may_be_replay: bool = True) -> None:
        """Writes a batch's results as computed, in this order: (when the batch may be a replay)
        the removal of what an earlier attempt at it left, then the tables, the alerts, the open
        windows and partitions' clocks, then batch_totals (its row means the batch is complete:
        a restart goes on from it); then, every compact_every_batches, the merge of files starts
        beside the stream (compaction.py)."""
        if may_be_replay:
            self.remove_earlier_attempt(spark, result.batch_id)
        day = result.batch_time.date()
        for table in COMMIT_ORDER:
            rows = result.tables.get(table)
            if isinstance(rows, SparkTable):  # too many rows for the driver: Spark writes them
                self.sink.write_batch(table, result.batch_id, day, rows.rows)
            elif rows is not None:
                self.sink.write_small(spark, table, result.batch_id, day, rows)
        mark("write")
        if self.alerts is not None and result.alerts.num_rows:
            self.alerts(spark, result.alerts)
            mark("alerts")
        self.windows.save(result.windows, result.batch_id, spark)
        self.partitions.save(result.partitions, result.batch_id, spark)
        self.sink.write_small(spark, "batch_totals", result.batch_id, day,
                              result.tables["batch_totals"])
        mark("state")
        self._say(self.compactor.after_commit(spark, result.batch_id))

    def remove_earlier_attempt(self, spark: SparkSession, batch_id: int) -> None:
        """Removes what an earlier attempt at `batch_id` wrote (in every table) and the batch
        files that a compaction cut short left beside its merged file: a replay starts from a
        clean slate."""
        self.sink.clear_batch(spark, batch_id)
        self.sink.finish_compactions(spark)

    def _state_before(self, spark: SparkSession, batch_id: int) -> JobState:
        """The state the batch before `batch_id` left, read back from its batch_totals and
        state_totals rows and the saved windows and partitions' clocks (reads only: a replay's
        earlier attempt is removed by commit). Rows of `batch_id` itself are never read."""
        kept = naive(self.windows.load(spark, batch_id)).to_pylist()
        state = {
            "open_windows": tuple(w for w in kept if w["revision"] is None),
            "closed_windows": tuple(w for w in kept if w["revision"] is not None),
            "partitions": tuple(naive(self.partitions.load(spark, batch_id)).to_pylist()),
        }
        last = self.sink.last_batch_before(spark, batch_id)
        if last is None:
            return JobState(batch_id - 1, **state)
        totals = self.sink.read_rows(spark, "state_totals", F.col("batch_id") == last["batch_id"])
        judged_until = last["judged_until"]
        if judged_until is None and last["watermark"] is not None:  # written before the column
            judged_until = last["watermark"] + timedelta(seconds=self.config.watermark_seconds)
        return JobState(
            batch_id=last["batch_id"],
            running_messages=last["running_messages"],
            total_sensors=last["total_sensors"] or 0,
            watermark=last["watermark"],
            judged_until=judged_until,
            state_totals={
                r["state"]: {"messages": r["messages"], "sensors": r["sensors"],
                             "readings": r["readings"],
                             "total": (r["avg_temperature"] or 0.0) * r["readings"]}
                for r in totals
            },
            **state,
        )


def model_files(spark: SparkSession) -> ModelFiles:
    """The learned detector's model folder through Hadoop's FileSystem, shipped with addFile."""
    return ModelFiles(names=lambda folder: fs.list_names(spark, folder),
                      read=lambda location: fs.read_text(spark, location),
                      ship=lambda location: step.ship_file(spark, location))


def _rows(table: pa.Table | SparkTable | None) -> pa.Table | DataFrame | None:
    return table.rows if isinstance(table, SparkTable) else table


def _cached(batch: DataFrame) -> tuple[DataFrame, Callable[[], None]]:
    """The batch, cached by its first action for every later job of the batch (the per-sensor
    step runs once: a second run would load and commit the same state version again), and what
    frees it.

    In local mode its lineage is also cut (localCheckpoint): later jobs plan from the cached rows.
    On a cluster it is only persisted: the rows of an executor that is lost are then computed
    again (the same Kafka offsets and state version, so the same rows), where a local
    checkpoint's would be gone and the batch would fail."""
    if stream.is_local(batch.sparkSession.sparkContext.master):
        checkpointed = batch.localCheckpoint(eager=False)
        # Spark frees a local checkpoint's blocks only when its cleaner gets to them, which can
        # be long after the batch: they are freed at once.
        rdd = checkpointed._jdf.queryExecution().logical().rdd()
        return checkpointed, lambda: rdd.unpersist(False)
    persisted = batch.persist(StorageLevel.MEMORY_AND_DISK)
    return persisted, persisted.unpersist


class _Phases:
    """Wall-clock seconds between marks: where a batch's time went."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, float]] = []
        self._last = time.monotonic()

    def mark(self, name: str) -> None:
        now = time.monotonic()
        self.phases.append((name, now - self._last))
        self._last = now
