"""The main query's per-micro-batch work: parse once, compute every result from the cached batch,
write, print."""

from __future__ import annotations

import collections
import contextlib
import functools
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TextIO

import pyarrow as pa
import pyarrow.compute as pc
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from iotstream import aggregates, anomalies, console, detectors, parse, stream, windows
from iotstream.config import JobConfig, checkpoint_location
from iotstream.schema import ANOMALIES_SCHEMA, SENSORS_SCHEMA, TABLES, WINDOW_STATS_SCHEMA
from iotstream.sinks import ParquetSink, VersionedState, to_arrow

# The job's own state, in the checkpoint folder beside Spark's.
WINDOW_STATE_DIR = "iot-open-windows"
KNOWN_SENSORS_DIR = "iot-known-sensors"
SENSOR_MODELS_DIR = "iot-sensor-models"
KNOWN_SENSORS_SCHEMA = T.StructType([T.StructField("guid", T.StringType())])


class StopRequested(Exception):
    """Raised at the start of a batch once a stop was asked for: the batch has done nothing, so
    it is not committed and the next run processes it in full."""


@dataclass(frozen=True)
class Carry:
    """What a batch hands on to the next: running figures and the event-time watermark. A new
    process reads it back from the last batch's batch_totals and state_totals rows."""

    batch_id: int
    running_messages: int = 0
    total_sensors: int = 0
    watermark: datetime | None = None
    # state → messages, sensors, readings, total (sum of readings) since the start
    state_totals: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


class BatchProcessor:
    """`foreachBatch` handler of the main query. Kafka is read once per batch: the parsed batch is
    persisted, every result is computed from it, and it is released before the next batch."""

    def __init__(
        self,
        config: JobConfig,
        sink: ParquetSink,
        out: TextIO = sys.stdout,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        stopping: Callable[[], bool] = lambda: False,
        alerts: Callable[[DataFrame], None] | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.out = out
        self.clock = clock
        self.stopping = stopping
        self.alerts = alerts
        self._parse = parse.parse_records(config.bands.baselines, config.max_record_bytes)
        self._flag = anomalies.flag_anomalies(config.bands)
        checkpoint = checkpoint_location(config)
        self.open_windows = VersionedState(f"{checkpoint}/{WINDOW_STATE_DIR}",
                                           windows.WINDOW_STATE_SCHEMA)
        # Every guid seen so far: one small dataset, not a scan of the `sensors` table's files.
        self.known_sensors = VersionedState(f"{checkpoint}/{KNOWN_SENSORS_DIR}", KNOWN_SENSORS_SCHEMA)
        # zscore, stuck and silent: one model per sensor.
        self.sensor_models = VersionedState(f"{checkpoint}/{SENSOR_MODELS_DIR}", detectors.STATE_SCHEMA)
        self._rules = detectors.SensorRules.of(config.detectors, config.bands)
        self._bands = anomalies.with_bands(config.bands)
        self._last: Carry | None = None  # what the last batch this process wrote hands on
        self._known: tuple[int, set[str]] | None = None  # (after batch, guids seen so far)
        self._clock = _Phases()  # the running batch's

    def __call__(self, records: DataFrame, batch_id: int) -> None:
        if self.stopping():
            raise StopRequested(f"batch {batch_id} left for the next run")
        started = time.monotonic()
        carry = self._carry(records.sparkSession, batch_id)
        flagged = (
            records.transform(self._parse)
            .transform(self._flag)
            .transform(windows.with_windows(self.config.window_seconds, carry.watermark))
            .transform(_cached)
        )
        try:
            report = self._process(flagged, batch_id, carry)
        except Exception:
            if self.stopping():  # the stop cancelled the batch's Spark jobs: it runs again next time
                raise StopRequested(f"batch {batch_id} cut short, left for the next run") from None
            raise
        finally:
            _release(flagged)
        report = replace(report, seconds=time.monotonic() - started)
        self.out.write(console.render(report))
        self.out.flush()

    def _carry(self, spark: SparkSession, batch_id: int) -> Carry:
        if self._last is not None and self._last.batch_id == batch_id - 1:
            return self._last
        # The first batch this process runs may be a replay of one a crashed run began: start
        # from what its predecessor handed on, and a clean slate. (Within one process, a batch
        # that fails ends the query, so later batches are never replays.)
        self.sink.clear_batch(spark, batch_id)
        self.sink.finish_compactions(spark)
        last = self.sink.last_batch_before(spark, batch_id)
        if last is None:
            return Carry(batch_id - 1)
        totals = self.sink.read_rows(spark, "state_totals", F.col("batch_id") == last["batch_id"])
        return Carry(
            batch_id=last["batch_id"],
            running_messages=last["running_messages"],
            total_sensors=last["total_sensors"] or 0,
            watermark=last["watermark"],
            state_totals={
                r["state"]: {"messages": r["messages"], "sensors": r["sensors"],
                             "readings": r["readings"],
                             "total": (r["avg_temperature"] or 0.0) * r["readings"]}
                for r in totals
            },
        )

    def _process(self, flagged: DataFrame, batch_id: int, carry: Carry) -> console.BatchReport:
        spark = flagged.sparkSession
        cfg = self.config
        clock = self._clock = _Phases()
        figures = [r.asDict() for r in aggregates.batch_figures(flagged).collect()]
        clock.mark("read")
        summary, stats = aggregates.split_figures(figures)
        # Spark's time for the batch (naive UTC, as the driver runs in UTC); an empty batch has
        # no rows to carry it, and takes the clock's.
        spark_time = summary.pop("batch_time")
        batch_time = spark_time.replace(tzinfo=UTC) if spark_time else self.clock()
        watermark = windows.next_watermark(carry.watermark, summary.pop("max_event_time"),
                                           cfg.watermark_seconds)
        day = batch_time.date()
        stamp = [F.lit(batch_id).cast("long").alias("batch_id"), F.lit(batch_time).alias("batch_time")]
        events = parse.usable(flagged)
        on_time = events.where(~F.col(windows.LATE))

        # Event-time windows: the open ones before the batch + the batch's on-time events.
        merged = windows.merge(self.open_windows.load(spark, batch_id),
                               windows.partials(on_time)).persist()
        try:
            # The sensor models take on-time readings only, as Spark's event-time operators do:
            # a late one would come after newer readings the model has already seen.
            with self._sensor_step(on_time, batch_id, watermark) as per_sensor:
                found, shown = self._anomalies(events, on_time, merged, per_sensor, batch_id, day,
                                               stamp)
            is_closed = windows.closed(cfg.window_seconds, watermark)
            windows_written = 0
            if watermark is not None:
                closed = to_arrow(windows.window_stats(merged.where(is_closed), cfg.window_seconds)
                                  .select(*stamp, "*"), WINDOW_STATS_SCHEMA)
                windows_written = closed.num_rows
                if windows_written:
                    self.sink.write_small(spark, "window_stats", batch_id, day, closed)
            self.open_windows.save(merged.where(~is_closed), batch_id)
            clock.mark("windows")
        finally:
            merged.unpersist()
        new_sensors = self._side_tables(events, flagged, batch_id, day, stamp, carry, summary)
        clock.mark("sensors")
        if stats:
            self.sink.write_small(spark, "state_stats", batch_id, day,
                                  _stamped(batch_id, batch_time, stats))
        state_totals = _add_totals(carry.state_totals, stats, new_sensors)
        total_rows = _total_rows(state_totals)
        self.sink.write_small(spark, "state_totals", batch_id, day,
                              _stamped(batch_id, batch_time, total_rows))
        totals = {
            **summary,
            "anomalies": found,
            "running_messages": carry.running_messages + summary["messages"],
            "total_sensors": carry.total_sensors + sum(new_sensors.values()),
            "watermark": watermark,
        }
        # Written last, also for an empty batch: a batch_totals row means the batch is complete,
        # and the next batch (in this process or after a restart) goes on from it.
        self.sink.write_small(spark, "batch_totals", batch_id, day,
                              _stamped(batch_id, batch_time, [totals]))
        self._last = Carry(batch_id, totals["running_messages"], totals["total_sensors"], watermark,
                           state_totals)
        clock.mark("totals")
        every = cfg.compact_every_batches
        if every and batch_id and batch_id % every == 0:
            # Batches before this one are committed (Spark started this one): never replayed.
            self.sink.compact(spark, batch_id - every, batch_id - 1)
            clock.mark("compact")
        return console.BatchReport(batch_id, batch_time, totals, stats, shown,
                                   windows_written=windows_written, state_totals=total_rows,
                                   phases=tuple(clock.phases))

    @contextlib.contextmanager
    def _sensor_step(self, events: DataFrame, batch_id: int,
                     watermark: datetime | None) -> Iterator[list[DataFrame]]:
        """The per-sensor detectors on the batch (when any is on): yields what they found (as
        anomaly rows), and saves the sensor models after the batch."""
        if not self.config.detectors.per_sensor:
            yield []
            return
        spark = events.sparkSession
        before = self.sensor_models.load(spark, batch_id)
        with detectors.step(events, before, self._rules, watermark) as (models, found):
            yield [found.transform(self._bands)]
            self.sensor_models.save(models, batch_id)
            self._clock.mark("models")

    def _anomalies(self, events: DataFrame, on_time: DataFrame, merged: DataFrame,
                   per_sensor: list[DataFrame], batch_id: int, day: date, stamp: list,
                   ) -> tuple[int, list[dict]]:
        """Runs the batch's detectors (band, three_sigma; zscore, stuck and silent come in as
        `per_sensor`), writes and publishes what they find; returns (how many, the rows to show)."""
        d = self.config.detectors
        parts = list(per_sensor)
        if d.band:
            parts.append(anomalies.anomalies(events))
        if d.three_sigma:
            parts.append(windows.three_sigma(on_time, merged, d.sigma_k, d.sigma_min_readings))
        if not parts:
            return 0, []
        columns = TABLES["anomalies"].fieldNames()[2:]
        found = functools.reduce(DataFrame.unionByName, [p.select(*columns) for p in parts]).select(
            *stamp, *columns).persist()
        try:
            rows = to_arrow(found, ANOMALIES_SCHEMA)  # computes and caches `found`
            self._clock.mark("detect")
            if not rows.num_rows:
                return 0, []
            self.sink.write_small(found.sparkSession, "anomalies", batch_id, day, rows)
            if self.alerts is not None:
                self.alerts(found)
                self._clock.mark("alerts")
            order = [("event_time", "ascending"), ("guid", "ascending"), ("detector", "ascending")]
            shown = rows.sort_by(order).slice(0, self.config.max_anomaly_rows).to_pylist()
            return rows.num_rows, shown
        finally:
            found.unpersist()

    def _side_tables(self, events: DataFrame, flagged: DataFrame, batch_id: int, day: date,
                      stamp: list, carry: Carry, summary: dict) -> dict[str, int]:
        """late_events, quarantine and sensors; returns the new sensors by state."""
        if summary["late"]:
            late = events.where(F.col(windows.LATE)).select(
                *stamp, "guid", "state", "event_time", "temperature", windows.WINDOW_START,
                F.lit(carry.watermark).cast("timestamp").alias("watermark"),
                "kafka_partition", "kafka_offset")
            self.sink.write_batch("late_events", batch_id, day, late)
        if summary["quarantined"]:
            self.sink.write_batch("quarantine", batch_id, day,
                                  parse.quarantined(flagged).select(*stamp, "*"))
        return self._new_sensors(events, batch_id, day, stamp) if summary["messages"] else {}

    def _new_sensors(self, events: DataFrame, batch_id: int, day: date, stamp: list) -> dict[str, int]:
        """Adds the batch's never-seen sensors to the `sensors` table; returns how many per
        state (a sensor counts in the state it was first seen in)."""
        spark = events.sparkSession
        if self._known is None or self._known[0] != batch_id - 1:
            # First batch of this process: every guid seen before it, from the saved state.
            saved = self.known_sensors.load(spark, batch_id).toArrow()
            self._known = (batch_id - 1, set(saved.column("guid").to_pylist()))
        seen = to_arrow(events.groupBy("guid").agg(
            F.min_by("state", "event_time").alias("state"),
            F.min("event_time").alias("first_event_time"),
        ).select(*stamp, "*"), SENSORS_SCHEMA)
        before = self._known[1]
        new = seen.filter(pc.invert(pc.is_in(seen.column("guid"), pa.array(before, pa.string()))))
        known = before | set(new.column("guid").to_pylist())
        if new.num_rows:
            self.sink.write_small(spark, "sensors", batch_id, day, new)
            self.known_sensors.save(pa.table({"guid": pa.array(sorted(known), pa.string())}),
                                    batch_id, spark)
        self._known = (batch_id, known)  # only once saved: a failed batch leaves it as it was
        return dict(collections.Counter(new.column("state").to_pylist()))


def _cached(batch: DataFrame) -> DataFrame:
    """The parsed batch, cached by its first action for every later job of the batch.

    In local mode its lineage is also cut (localCheckpoint): later jobs plan from the cached rows
    instead of re-planning the parse (-15% per batch). On a cluster it is only persisted: the
    rows of an executor that is lost are then read again from Kafka (the same offsets, so the
    same rows), where a local checkpoint's would be gone and the batch would fail."""
    if stream.is_local(batch.sparkSession.sparkContext.master):
        return batch.localCheckpoint(eager=False)
    return batch.persist(StorageLevel.MEMORY_AND_DISK)


def _release(cached: DataFrame) -> None:
    """Frees the cached rows of the parsed batch (Spark frees a local checkpoint's only when its
    cleaner gets to them, which can be long after the batch)."""
    plan = cached._jdf.queryExecution().logical()
    if plan.getClass().getSimpleName() == "LogicalRDD":
        plan.rdd().unpersist(False)
    else:
        cached.unpersist()


class _Phases:
    """Wall-clock seconds between marks: where a batch's time went."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, float]] = []
        self._last = time.monotonic()

    def mark(self, name: str) -> None:
        now = time.monotonic()
        self.phases.append((name, now - self._last))
        self._last = now


def _add_totals(before: Mapping[str, Mapping[str, float]], stats: list[dict],
                new_sensors: Mapping[str, int]) -> dict[str, dict[str, float]]:
    """Running per-state totals after a batch (its state_stats rows and new sensors)."""
    after = {state: dict(t) for state, t in before.items()}
    zero = {"messages": 0, "sensors": 0, "readings": 0, "total": 0.0}
    for row in stats:
        t = after.setdefault(row["state"], dict(zero))
        t["messages"] += row["messages"]
        t["readings"] += row["readings"]
        t["total"] += (row["avg_temperature"] or 0.0) * row["readings"]
    for state, n in new_sensors.items():
        after.setdefault(state, dict(zero))["sensors"] += n
    return after


def _total_rows(totals: Mapping[str, Mapping[str, float]]) -> list[dict]:
    return [
        {"state": state, "messages": t["messages"], "sensors": t["sensors"], "readings": t["readings"],
         "avg_temperature": t["total"] / t["readings"] if t["readings"] else None}
        for state, t in sorted(totals.items())
    ]


def _stamped(batch_id: int, batch_time: datetime, rows: list[dict]) -> list[dict]:
    """Rows computed on the driver, stamped with the batch."""
    return [{**row, "batch_id": batch_id, "batch_time": batch_time} for row in rows]
