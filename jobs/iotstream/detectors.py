"""Per-sensor detectors — zscore, stuck, silent — on Spark's stateful streaming API.

The sensor query groups accepted readings by guid and runs `SensorDetectors` with
`transformWithState` in event-time mode: each sensor's model (its last normal readings, its run
of identical values, when it last reported) lives in Spark's state store, in the query's
checkpoint, so it survives restarts. A sensor silent for longer than the TTL (event time) is
dropped from the state.

`SensorModel` is the plain-Python logic, one reading at a time; the processor only loads it
from the state store, feeds it the sensor's readings in event-time order, and saves it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark import cloudpickle
from pyspark.sql import DataFrame, Row
from pyspark.sql import types as T
from pyspark.sql.streaming.stateful_processor import (
    ExpiredTimerInfo,
    StatefulProcessor,
    StatefulProcessorHandle,
    TimerValues,
)

from iotstream.config import Bands, Detectors

INPUT_COLUMNS = ("guid", "state", "event_time", "temperature", "kafka_partition", "kafka_offset")
# What the processor emits: the anomalies table's columns that the sensor query knows.
OUTPUT_SCHEMA = T.StructType([
    T.StructField("guid", T.StringType()),
    T.StructField("state", T.StringType()),
    T.StructField("event_time", T.TimestampType()),
    T.StructField("temperature", T.DoubleType()),
    T.StructField("reason", T.StringType()),
    T.StructField("detector", T.StringType()),
    T.StructField("score", T.DoubleType()),
])
# One value per sensor in the state store.
STATE_SCHEMA = T.StructType([
    T.StructField("history", T.ArrayType(T.DoubleType())),
    T.StructField("last_value", T.DoubleType()),
    T.StructField("repeats", T.IntegerType()),
    T.StructField("last_time", T.TimestampType()),
    T.StructField("state", T.StringType()),
    T.StructField("silent_reported", T.BooleanType()),
])


@dataclass(frozen=True)
class SensorRules:
    """The settings the per-sensor detectors need (plain values: shipped to Python workers)."""

    zscore: bool
    history: int
    min_history: int
    threshold: float
    min_sigma: float
    stuck: bool
    repeats: int
    silent: bool
    silent_seconds: float
    ttl_seconds: float
    # Readings outside these (the state's band, the physical range) never enter a history.
    bands: Mapping[str, tuple[float, float]]
    physical: tuple[float, float]

    @classmethod
    def of(cls, d: Detectors, bands: Bands) -> SensorRules:
        return cls(
            zscore=d.zscore, history=d.zscore_history, min_history=d.zscore_min_history,
            threshold=d.zscore_threshold, min_sigma=d.zscore_min_sigma, stuck=d.stuck,
            repeats=d.stuck_repeats, silent=d.silent, silent_seconds=d.silent_seconds,
            ttl_seconds=d.sensor_ttl_seconds,
            bands={s: bands.band(s) for s in bands.baselines},
            physical=(bands.physical_min, bands.physical_max),
        )

    def normal(self, state: str, value: float) -> bool:
        """In the physical range and in the state's band: may enter the sensor's history."""
        low, high = self.bands.get(state, self.physical)
        return self.physical[0] <= value <= self.physical[1] and low <= value <= high


@dataclass
class SensorModel:
    """One sensor's detector state, fed its readings in order by `observe`."""

    history: list[float] = field(default_factory=list)
    last_value: float | None = None
    repeats: int = 0
    last_time: datetime | None = None
    state: str | None = None
    silent_reported: bool = False

    def observe(self, rules: SensorRules, guid: str, state: str, when: datetime,
                value: float) -> list[tuple]:
        """Takes one reading; returns the anomaly rows (OUTPUT_SCHEMA tuples) it raises."""
        found = []
        if self.last_time is not None and when > self.last_time:
            silence = (when - self.last_time).total_seconds()
            if rules.silent and silence > rules.silent_seconds and not self.silent_reported:
                found.append(self.silent_row(rules, guid))
        if self.last_time is None or when > self.last_time:
            self.last_time, self.silent_reported = when, False
        self.state = state

        repeat = value == self.last_value
        self.repeats = self.repeats + 1 if repeat else 1
        self.last_value = value
        if rules.stuck and self.repeats == rules.repeats:
            found.append((guid, state, when, value, "stuck", "stuck", float(self.repeats)))

        flagged = False
        if rules.zscore and len(self.history) >= rules.min_history:
            mean = math.fsum(self.history) / len(self.history)
            spread = math.sqrt(math.fsum((h - mean) ** 2 for h in self.history) / len(self.history))
            z = (value - mean) / max(spread, rules.min_sigma)
            if abs(z) > rules.threshold:
                flagged = True
                found.append((guid, state, when, value, "high" if z > 0 else "low", "zscore", abs(z)))
        # Flagged readings, exact repeats and out-of-band values would bend the model.
        if not flagged and not repeat and rules.normal(state, value):
            self.history = (self.history + [value])[-rules.history:]
        return found

    def silent_row(self, rules: SensorRules, guid: str) -> tuple:
        """The `silent` anomaly: since its last reading, `silent_seconds` without one."""
        self.silent_reported = True
        return (guid, self.state, self.last_time, self.last_value, "silent", "silent",
                float(rules.silent_seconds))

    def deadlines_ms(self, rules: SensorRules) -> tuple[int, int]:
        """(silent, evict) event times, in epoch ms, of a sensor with no newer reading."""
        last = _epoch_ms(self.last_time)
        return last + round(rules.silent_seconds * 1000), last + round(rules.ttl_seconds * 1000)

    @classmethod
    def from_row(cls, row: Any) -> SensorModel:
        return cls(list(row[0] or []), row[1], row[2], _utc(row[3]), row[4], bool(row[5]))

    def to_row(self) -> tuple:
        return (self.history, self.last_value, self.repeats, self.last_time, self.state,
                self.silent_reported)


def _epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _utc(moment: datetime | None) -> datetime | None:
    """Aware UTC. Spark hands timestamps to Python workers as naive local times in some paths
    (the state store) and aware ones in others (Arrow input): make them comparable."""
    return None if moment is None else moment.astimezone(UTC)


def _row(values: tuple) -> Row:
    return Row(**dict(zip(OUTPUT_SCHEMA.fieldNames(), values, strict=True)))


class SensorDetectors(StatefulProcessor):
    """transformWithState processor, keyed by guid, in event-time mode."""

    def __init__(self, rules: SensorRules) -> None:
        self.rules = rules

    def init(self, handle: StatefulProcessorHandle) -> None:
        self.handle = handle
        self.sensor = handle.getValueState("sensor", STATE_SCHEMA)

    def _load(self) -> SensorModel:
        return SensorModel.from_row(self.sensor.get()) if self.sensor.exists() else SensorModel()

    def handleInputRows(self, key: Any, rows: Iterator[Row], timerValues: TimerValues) -> Iterator[Row]:
        guid = key[0]
        model = self._load()
        found: list[tuple] = []
        readings = sorted(rows, key=lambda r: (r.event_time, r.kafka_partition, r.kafka_offset))
        for r in readings:
            found += model.observe(self.rules, guid, r.state, _utc(r.event_time), r.temperature)
        self.sensor.update(model.to_row())
        for expiry in list(self.handle.listTimers()):
            self.handle.deleteTimer(expiry)
        silent_at, evict_at = model.deadlines_ms(self.rules)
        if self.rules.silent and not model.silent_reported:
            self.handle.registerTimer(silent_at)
        self.handle.registerTimer(evict_at)
        for row in found:
            yield _row(row)

    def handleExpiredTimer(self, key: Any, timerValues: TimerValues,
                           expiredTimerInfo: ExpiredTimerInfo) -> Iterator[Row]:
        if not self.sensor.exists():
            return
        model = self._load()
        _, evict_at = model.deadlines_ms(self.rules)
        found = []
        if self.rules.silent and not model.silent_reported:
            found.append(model.silent_row(self.rules, key[0]))
            self.sensor.update(model.to_row())
        if expiredTimerInfo.getExpiryTimeInMs() >= evict_at:
            self.sensor.clear()
        for row in found:
            yield _row(row)

    def close(self) -> None:
        pass


def detect(readings: DataFrame, rules: SensorRules, watermark_seconds: float) -> DataFrame:
    """Streaming transform: accepted readings (INPUT_COLUMNS) → anomaly rows (OUTPUT_SCHEMA)."""
    # The processor goes to Python workers pickled with its code, not as a reference to this
    # module: Spark starts the query's driver-side worker without the --py-files zip on its path.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    return (
        readings.select(*INPUT_COLUMNS)
        .withWatermark("event_time", f"{watermark_seconds:g} seconds")
        .groupBy("guid")
        .transformWithState(SensorDetectors(rules), OUTPUT_SCHEMA, "Append", "EventTime")
    )

