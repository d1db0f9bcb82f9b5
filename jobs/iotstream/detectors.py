"""Per-sensor detectors — zscore, stuck, silent — run by the job's query on every micro-batch.

Each sensor's model (its last normal readings, its run of identical values, when it last
reported) is one row of the job's sensor state, saved after every batch beside the checkpoint
(`pipeline.SENSOR_MODELS_DIR`), so it survives restarts and a replayed batch starts from the same
models. `step` brings a batch's readings together with their sensors' models (one shuffle by
guid, sorted) and feeds them to the models by one Python pass per partition (`mapInArrow`);
then plain column rules apply the watermark: a sensor whose last reading is `after_seconds`
behind it is reported silent once, and dropped once it is `sensor_ttl_seconds` behind.

`SensorModel` is the plain-Python logic, one reading at a time.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
from pyspark import cloudpickle
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from iotstream.config import Bands, Detectors

INPUT_COLUMNS = ("guid", "state", "event_time", "temperature", "kafka_partition", "kafka_offset")
# What the per-sensor detectors find: the anomalies table's columns they know.
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


STATE_FIELDS = STATE_SCHEMA.fieldNames()[1:]
OUTPUT_FIELDS = OUTPUT_SCHEMA.fieldNames()[1:]
# The Python step's input: the sensors' models (kind 0) and the batch's readings (kind 1), sorted
# by guid, kind and reading order within each Spark partition.
MODEL, READING = 0, 1
STEP_INPUT = ("guid", "kind", "state", "event_time", "temperature", "kafka_partition",
              "kafka_offset", "history", "last_value", "repeats", "last_time", "silent_reported")
# Its output: each sensor's model after the batch (kind "model") and the anomalies it raised
# (kind "found"), in one frame.
STEP_SCHEMA = T.StructType(
    [T.StructField("guid", T.StringType()), T.StructField("kind", T.StringType())]
    + [T.StructField(f"m_{f.name}", f.dataType) for f in STATE_SCHEMA.fields[1:]]
    + [T.StructField(f"a_{f.name}", f.dataType) for f in OUTPUT_SCHEMA.fields[1:]]
)
OUT_ROWS = 8192  # output rows per Arrow batch


def _observe(rules: SensorRules) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """mapInArrow function: a partition's rows (STEP_INPUT, sorted) → STEP_SCHEMA rows. Plain
    Python per row, with no per-sensor overhead: a sensor's model is followed by its readings."""
    schema = to_arrow_schema(STEP_SCHEMA, timezone="UTC")
    names = STEP_SCHEMA.fieldNames()
    no_model = [None] * len(STATE_FIELDS)
    no_finding = [None] * len(OUTPUT_FIELDS)

    def apply(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        out: list[list] = []
        guid, model = None, SensorModel()
        for batch in batches:
            c = batch.to_pydict()
            for i in range(batch.num_rows):
                if c["guid"][i] != guid:
                    if guid is not None:
                        out.append([guid, "model", *model.to_row(), *no_finding])
                    guid, model = c["guid"][i], SensorModel()
                if c["kind"][i] == MODEL:
                    model = SensorModel(list(c["history"][i] or []), c["last_value"][i],
                                        c["repeats"][i], c["last_time"][i], c["state"][i],
                                        bool(c["silent_reported"][i]))
                    continue
                for found in model.observe(rules, guid, c["state"][i], c["event_time"][i],
                                           c["temperature"][i]):
                    out.append([guid, "found", *no_model, *found[1:]])
            if len(out) >= OUT_ROWS:
                yield _arrow(out, names, schema)
                out = []
        if guid is not None:
            out.append([guid, "model", *model.to_row(), *no_finding])
        yield _arrow(out, names, schema)

    return apply


def _arrow(rows: list[list], names: list[str], schema: pa.Schema) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    arrays = [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


@contextlib.contextmanager
def step(readings: DataFrame, before: DataFrame, rules: SensorRules,
         watermark: datetime | None) -> Iterator[tuple[DataFrame, DataFrame]]:
    """One micro-batch of the per-sensor detectors, as a context: inside it, the Python step's
    result is cached (it feeds both outputs), and released at the end.

    readings: the batch's accepted readings (INPUT_COLUMNS); before: the sensor models
    (STATE_SCHEMA) after the previous batch; watermark: event time after this batch.
    Yields (the models after the batch, the anomaly rows found: OUTPUT_SCHEMA)."""
    # The Python step goes to Python workers pickled with its code, not as a reference to this
    # module: workers need not have the job's library on their path.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    models = before.select(*[F.lit(MODEL).alias("kind") if n == "kind" else
                             F.lit(None).cast(_type(n)).alias(n) if n not in STATE_SCHEMA.fieldNames()
                             else F.col(n) for n in STEP_INPUT])
    batch = readings.select(*[F.lit(READING).alias("kind") if n == "kind" else
                              F.lit(None).cast(_type(n)).alias(n) if n not in INPUT_COLUMNS
                              else F.col(n) for n in STEP_INPUT])
    stepped = (
        models.unionByName(batch)
        .repartition("guid")
        .sortWithinPartitions("guid", "kind", "event_time", "kafka_partition", "kafka_offset")
        .mapInArrow(_observe(rules), STEP_SCHEMA)
        .persist()
    )
    try:
        yield _split(stepped, rules, watermark)
    finally:
        stepped.unpersist()


def _type(name: str) -> T.DataType:
    fields = {f.name: f.dataType for f in STATE_SCHEMA.fields}
    fields.update({"kafka_partition": T.IntegerType(), "kafka_offset": T.LongType(),
                   "event_time": T.TimestampType(), "temperature": T.DoubleType()})
    return fields[name]


def _split(stepped: DataFrame, rules: SensorRules,
           watermark: datetime | None) -> tuple[DataFrame, DataFrame]:
    """(models after the batch, anomalies) from the Python step's rows; then the watermark's
    deadlines."""
    after = stepped.where(F.col("kind") == "model").select(
        "guid", *[F.col(f"m_{n}").alias(n) for n in STATE_FIELDS])
    found = stepped.where(F.col("kind") == "found").select(
        "guid", *[F.col(f"a_{n}").alias(n) for n in OUTPUT_FIELDS])
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
