"""Rows of the per-sensor step's output as plain data (what plan.plan hands the batch handler),
made into a static DataFrame: the seam where compute() is tested without a streaming query.

`step_rows(spark, [...])` takes dicts with the columns a test cares about; every other column
gets the value of an accepted, on-time reading that nothing found (kind reading, flags false,
no findings), its window and band derived as the plan derives them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from sparkdata import BANDS

SCHEMA = (
    "guid string, state string, event_time timestamp, temperature double, reason string, "
    "usable boolean, kafka_partition int, kafka_offset bigint, batch_time timestamp, clock string, "
    "kafka_timestamp timestamp, raw string, reject_reason string, clock_skew double, "
    "kind string, late boolean, to_rules boolean, first_of_sensor boolean, first_in_state boolean, "
    "first_in_window boolean, new_sensor boolean, duplicate_kind string, kept_temperature double, "
    "findings array<struct<detector:string, reason:string, score:double>>, "
    "zscore_mean double, zscore_low double, zscore_high double, window_start timestamp, "
    "band_low double, band_high double")
NAMES = tuple(part.strip().split(" ")[0] for part in SCHEMA.split(", ") if " " in part.strip()
              and not part.strip().startswith(("reason:", "score:")))
BATCH_TIME = datetime(2026, 5, 6, 7, 8, 9)
WINDOW_SECONDS = 60


def row(**values: Any) -> dict[str, Any]:
    """One row: an accepted on-time reading of `values`, nothing found."""
    r: dict[str, Any] = dict.fromkeys(NAMES)
    r.update(kind="reading", usable=True, kafka_partition=0, kafka_offset=0,
             batch_time=BATCH_TIME, late=False, to_rules=True, first_of_sensor=True,
             first_in_state=True, first_in_window=True, new_sensor=False)
    r.update(values)
    t = r["event_time"]
    if r["window_start"] is None and t is not None:
        r["window_start"] = datetime.min + timedelta(
            seconds=(t - datetime.min).total_seconds() // WINDOW_SECONDS * WINDOW_SECONDS)
    if r["state"] in BANDS.baselines and r["band_low"] is None:
        r["band_low"], r["band_high"] = BANDS.band(r["state"])
    return r


def step_rows(spark: SparkSession, rows: list[dict[str, Any]]) -> DataFrame:
    return spark.createDataFrame([tuple(row(**r)[n] for n in NAMES) for r in rows], SCHEMA)
