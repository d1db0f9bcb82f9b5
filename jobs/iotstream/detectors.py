"""Per-sensor detectors — zscore, stuck, silent — run by the main query on every micro-batch.

Each sensor's model (its last normal readings, its run of identical values, when it last
reported) is one row of the job's sensor state, saved after every batch beside the checkpoint
(`pipeline.SENSOR_STATE_DIR`), so it survives restarts and a replayed batch starts from the same
models. A batch's readings are grouped by guid together with their sensors' models
(`cogroup`, one pandas call per sensor in the batch); sensors absent from the batch are handled
by plain column rules: reported silent once the event-time watermark passes their last reading
plus `silent.after_seconds`, dropped once it passes it plus `sensor_ttl_seconds`.

`SensorModel` is the plain-Python logic, one reading at a time.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from pyspark import cloudpickle
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

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
# One row per sensor: its model.
STATE_SCHEMA = T.StructType([
    T.StructField("guid", T.StringType()),
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

    def to_row(self) -> tuple:
        return (self.history, self.last_value, self.repeats, self.last_time, self.state,
                self.silent_reported)


def _utc(moment: Any) -> datetime | None:
    """Aware UTC from what pandas hands over: naive times in the session's zone (UTC)."""
    if moment is None or pd.isna(moment):
        return None
    moment = pd.Timestamp(moment).to_pydatetime()
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


STATE_FIELDS = STATE_SCHEMA.fieldNames()[1:]
OUTPUT_FIELDS = OUTPUT_SCHEMA.fieldNames()[1:]
# What the pandas step returns per sensor: its model after the batch (kind "model") and the
# anomalies it raised (kind "found"), in one frame.
STEP_SCHEMA = T.StructType(
    [T.StructField("guid", T.StringType()), T.StructField("kind", T.StringType())]
    + [T.StructField(f"m_{f.name}", f.dataType) for f in STATE_SCHEMA.fields[1:]]
    + [T.StructField(f"a_{f.name}", f.dataType) for f in OUTPUT_SCHEMA.fields[1:]]
)


def _observe(rules: SensorRules) -> Callable[[Any, pd.DataFrame, pd.DataFrame], pd.DataFrame]:
    """cogroup function: one sensor's readings of the batch and its model before → STEP rows."""
    empty_model = [None] * len(STATE_FIELDS)
    empty_found = [None] * len(OUTPUT_FIELDS)

    def apply(key: Any, readings: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
        guid = key[0]
        if before.empty:
            model = SensorModel()
        else:
            row = before.iloc[0]
            history = row["history"]
            model = SensorModel(
                [float(h) for h in history] if history is not None else [],
                None if pd.isna(row["last_value"]) else float(row["last_value"]),
                int(row["repeats"]), _utc(row["last_time"]), row["state"],
                bool(row["silent_reported"]))
        ordered = readings.sort_values(["event_time", "kafka_partition", "kafka_offset"])
        found: list[tuple] = []
        for state, when, value in zip(ordered["state"].tolist(), ordered["event_time"].tolist(),
                                      ordered["temperature"].tolist(), strict=True):
            found += model.observe(rules, guid, state, _utc(when), float(value))
        rows = [[guid, "model", *model.to_row(), *empty_found]]
        rows += [[guid, "found", *empty_model, *r[1:]] for r in found]
        return pd.DataFrame(rows, columns=STEP_SCHEMA.fieldNames())

    return apply


@contextlib.contextmanager
def step(readings: DataFrame, before: DataFrame, rules: SensorRules,
         watermark: datetime | None) -> Iterator[tuple[DataFrame, DataFrame]]:
    """One micro-batch of the per-sensor detectors, as a context: inside it, the pandas step's
    result is cached (it feeds both outputs), and released at the end.

    readings: the batch's accepted readings (INPUT_COLUMNS); before: the sensor models
    (STATE_SCHEMA) after the previous batch; watermark: event time after this batch.
    Yields (the models after the batch, the anomaly rows found: OUTPUT_SCHEMA)."""
    # The pandas step goes to Python workers pickled with its code, not as a reference to this
    # module: workers need not have the job's library on their path.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    batch = readings.select(*INPUT_COLUMNS)
    seen = batch.select("guid").distinct()
    stepped = (
        batch.groupBy("guid")
        .cogroup(before.join(seen, "guid", "left_semi").groupBy("guid"))
        .applyInPandas(_observe(rules), STEP_SCHEMA)
        .persist()
    )
    try:
        yield _split(stepped, before.join(seen, "guid", "left_anti"), rules, watermark)
    finally:
        stepped.unpersist()


def _split(stepped: DataFrame, absent: DataFrame, rules: SensorRules,
           watermark: datetime | None) -> tuple[DataFrame, DataFrame]:
    """(models after the batch, anomalies) from the pandas step's rows and the models of the
    sensors absent from the batch; the watermark's deadlines apply to both."""
    models = stepped.where(F.col("kind") == "model").select(
        "guid", *[F.col(f"m_{n}").alias(n) for n in STATE_FIELDS])
    found = stepped.where(F.col("kind") == "found").select(
        "guid", *[F.col(f"a_{n}").alias(n) for n in OUTPUT_FIELDS])
    after = models.unionByName(absent)
    if watermark is None:
        return after, found
    # The watermark's deadlines, for every sensor (what event-time timers would do).
    mark = F.lit(watermark).cast("timestamp")
    due = F.lit(rules.silent) & ~F.col("silent_reported") & (
        F.col("last_time") + F.make_dt_interval(secs=F.lit(rules.silent_seconds)) <= mark)
    expired = F.col("last_time") + F.make_dt_interval(secs=F.lit(rules.ttl_seconds)) <= mark
    timed = after.withColumn("due", due)
    silent = timed.where("due").select(
        "guid", "state", F.col("last_time").alias("event_time"),
        F.col("last_value").alias("temperature"), F.lit("silent").alias("reason"),
        F.lit("silent").alias("detector"), F.lit(float(rules.silent_seconds)).alias("score"))
    kept = timed.where(~expired).select(
        *[F.col(n) for n in STATE_SCHEMA.fieldNames() if n != "silent_reported"],
        (F.col("silent_reported") | F.col("due")).alias("silent_reported"),
    ).select(*STATE_SCHEMA.fieldNames())
    return kept, found.unionByName(silent)
