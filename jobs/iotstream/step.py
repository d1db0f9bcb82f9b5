"""The per-sensor step's one door into the JVM: its settings (one JSON object, by name, as
contract.py's step_contract.json declares them), the step applied to a DataFrame, the clock
handed to a batch's tasks, and the check that the step gives the columns the detectors read.

The step is a Java transform of a Dataset; pyspark has no public API to apply one, so
`apply_step` and `engine` are the one place that reaches under pyspark for the engine
(`DataFrame._jdf`, `spark._jvm`); the alerts' producer (alerts.py) is reached through `engine`
too. Two other places do it for what pyspark has no API for either: io/fs.py (Hadoop's
FileSystem) and pipeline._cached (freeing a local checkpoint's blocks at once).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from iotstream.config import ConfigError, JobConfig
from iotstream.contract import CLOCK_PROPERTY, MODEL_PROPERTY, OUTPUT

STEP_CLASS = "iot.engine.SensorStep"
JAR_NAME = "iot-engine.jar"
NO_JAR = (
    f"the job's engine ({JAR_NAME}, class {STEP_CLASS}) is not on Spark's classpath. Run the job "
    f"with ./scripts/submit.sh, or pass .jars/engine/{JAR_NAME} to spark-submit with --jars "
    "(./scripts/setup.sh builds it)"
)
OLD_JAR = (f"the job's engine ({JAR_NAME}) does not match the job: its step has no column "
           "{columns}. Rebuild it with ./scripts/setup.sh and pass the new jar to spark-submit")


def settings(config: JobConfig) -> dict[str, Any]:
    """The step's settings by name (step_contract.json "settings")."""
    d = config.detectors
    return {"window_seconds": config.window_seconds,
            "restate_horizon_seconds": config.restate_horizon_seconds,
            "sensor_ttl_seconds": d.sensor_ttl_seconds,
            "detectors": d.tables()}


def register_clock(spark: SparkSession) -> None:
    """Makes CLOCK_FUNCTION() known to the session's SQL (the engine's nondeterministic UDF)."""
    engine(spark).SensorStep.register(spark._jsparkSession)


def apply_step(records: DataFrame, config: JobConfig) -> DataFrame:
    """The Java step over `records` (which must have the contract's input columns)."""
    spark = records.sparkSession
    jdf = engine(spark).SensorStep.apply(records._jdf, json.dumps(settings(config)))
    return DataFrame(jdf, spark)


def require_columns(stepped: DataFrame, wanted: tuple[str, ...]) -> None:
    """Fails with OLD_JAR when the step's output lacks any of `wanted` (a jar older than the job)."""
    missing = [c for c in wanted if c not in stepped.columns]
    if missing:
        raise ConfigError(OLD_JAR.format(columns=", ".join(missing)))


def set_clock(spark: SparkSession, clock_micros: int | None) -> None:
    """Hands the event-time clock (µs since the epoch; None: none yet) to the step and the
    watermark column of every Spark job this thread starts next: the batch's jobs."""
    spark.sparkContext.setLocalProperty(
        CLOCK_PROPERTY, "" if clock_micros is None else str(clock_micros))


def set_model(spark: SparkSession, location: str) -> None:
    """Hands the learned detector's artifact (a URI every executor can read; empty: none) to the
    step in every Spark job this thread starts next: the batch's jobs (models.ModelWatch)."""
    spark.sparkContext.setLocalProperty(MODEL_PROPERTY, location)


@functools.cache
def engine(spark: SparkSession) -> Any:
    """The engine's Java package (iot.engine) in the session's JVM (asked once: a call into the
    JVM costs about 1 ms here); NO_JAR if it is not there, OLD_JAR if it is a jar from before the
    contract."""
    engine = spark._jvm.iot.engine
    if not isinstance(engine.Contract.CLOCK_PROPERTY, str):  # py4j: an unknown class is a package
        if isinstance(engine.SensorStep.CLOCK_FUNCTION, str):  # the engine before the contract
            raise ConfigError(OLD_JAR.format(columns=", ".join(OUTPUT)))
        raise ConfigError(NO_JAR)
    return engine
