"""The per-sensor step's one door into the JVM: its settings (one JSON object, by name, as
contract.py's step_contract.json declares them; the rules' resolved and checked by the engine,
`resolve`), the step applied to a DataFrame, the clock handed to a batch's tasks, and the check
that the step gives the contract's columns (a jar older than the job does not).

The step is a Java transform of a Dataset; pyspark has no public API to apply one, so
`apply_step` and `engine` are the one place that reaches under pyspark for the engine
(`DataFrame._jdf`, `spark._jvm`); the alerts' producer (alerts.py) is reached through `engine`
too. Two other places do it for what pyspark has no API for either: io/fs.py (Hadoop's
FileSystem) and pipeline._cached (freeing a local checkpoint's blocks at once).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from iotstream.config import ConfigError, JobConfig
from iotstream.contract import (
    CLOCK_PROPERTY,
    END_PROPERTY,
    JUDGED_BEFORE_PROPERTY,
    JUDGED_UNTIL_PROPERTY,
    MODEL_PROPERTY,
    OUTPUT,
)

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
            "bands": {state: list(config.bands.band(state)) for state in config.bands.baselines},
            "detectors": d.engine_tables()}


def resolve(spark: SparkSession, config: JobConfig) -> JobConfig:
    """The config with the per-sensor rules' settings as the engine's rules declare them
    (every rule's table, defaults included): the engine checks them, once; ConfigError naming
    the conf/job.toml key if one is wrong."""
    from py4j.protocol import Py4JError

    try:
        resolved = _engine_call(spark, config, lambda e, s: e.RuleRegistry.resolve(s))
    except Py4JError:  # a jar from before the rules declared their settings: no resolve
        raise ConfigError(OLD_JAR.format(columns="findings")) from None
    return config.with_overrides(detectors=config.detectors.resolved(json.loads(resolved)))


def _engine_call(spark: SparkSession, config: JobConfig, call: Callable[[Any, str], Any]) -> Any:
    """`call(engine, settings as JSON)`; the engine's IllegalArgumentException (a setting it
    refuses) as a ConfigError naming the config."""
    from pyspark.errors import IllegalArgumentException

    try:
        return call(engine(spark), json.dumps(settings(config)))
    except IllegalArgumentException as e:  # pyspark's, for the JVM's
        where = f" (config: {config.source})" if config.source else ""
        raise ConfigError(f"{str(e).strip().splitlines()[0]}{where}") from None


def register_clock(spark: SparkSession) -> None:
    """Makes WATERMARK_FUNCTION(event_time) known to the session's SQL (the engine's
    nondeterministic UDF)."""
    engine(spark).SensorStep.register(spark._jsparkSession)


def apply_step(records: DataFrame, config: JobConfig) -> DataFrame:
    """The Java step over `records` (which must have the contract's input columns)."""
    spark = records.sparkSession
    return DataFrame(_engine_call(spark, config, lambda e, s: e.SensorStep.apply(records._jdf, s)), spark)


def require_columns(stepped: DataFrame, wanted: tuple[str, ...]) -> None:
    """Fails with OLD_JAR when the step's output lacks any of the `wanted` columns (a jar older
    than the job)."""
    missing = [c for c in wanted if c not in stepped.columns]
    if missing:
        raise ConfigError(OLD_JAR.format(columns=", ".join(missing)))


def set_clocks(spark: SparkSession, clock_micros: int | None, judged_before_micros: int | None,
               judged_until_micros: int | None, end_of_input: bool = False,
               latest_micros: int | None = None) -> None:
    """Hands the clocks (µs since the epoch; None: none yet) to the step and the watermark column
    of every Spark job this thread starts next: the batch's jobs. The event-time clock judges
    lateness and windows; the rules judge each sensor's readings up to `judged_until` (the
    batch's own readings included), and keep out a reading behind `judged_before` (the rules'
    clock the batch before left). In the batch that reaches the end of
    the input, the watermark column is the latest event time read (`latest_micros` before the
    batch, or the batch's own), so the batch after it judges every sensor's last readings."""
    sc = spark.sparkContext
    sc.setLocalProperty(CLOCK_PROPERTY, "" if clock_micros is None else str(clock_micros))
    sc.setLocalProperty(JUDGED_UNTIL_PROPERTY,
                        "" if judged_until_micros is None else str(judged_until_micros))
    sc.setLocalProperty(JUDGED_BEFORE_PROPERTY,
                        "" if judged_before_micros is None else str(judged_before_micros))
    # None removes the property: only the batch that reaches the end has it.
    end = ("" if latest_micros is None else str(latest_micros)) if end_of_input else None
    sc.setLocalProperty(END_PROPERTY, end)


def set_model(spark: SparkSession, name: str) -> None:
    """Hands the learned detector's artifact (the name of a file shipped with the job, ship_file;
    empty: none) to the step in every Spark job this thread starts next: the batch's jobs
    (models.ModelWatch)."""
    spark.sparkContext.setLocalProperty(MODEL_PROPERTY, name)


def ship_file(spark: SparkSession, location: str) -> str:
    """Ships the file at `location` (any URI the job's Hadoop configuration reads) with the job:
    every executor fetches its own copy before it runs a task (SparkContext.addFile), from the
    driver or from that file system. Returns the name it is found by (SparkFiles.get)."""
    spark.sparkContext.addFile(location)
    return location.rstrip("/").rsplit("/", 1)[-1]


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
