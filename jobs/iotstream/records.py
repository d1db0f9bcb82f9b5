"""The rows of the tables that list records one by one (late_events, quarantine, duplicates,
readings): from the side pass's rows on the driver, or as a DataFrame that Spark writes when a
batch has more of them than the driver should take."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from iotstream import windows
from iotstream.contract import DUPLICATE, QUARANTINED, READING
from iotstream.io.arrow import to_arrow
from iotstream.schema import TABLES

# late_events' columns as the step's rows name them (watermark goes before the last two).
LATE_EVENT_COLUMNS = ("guid", "state", "event_time", "temperature", windows.WINDOW_START, "kafka_partition",
        "kafka_offset")
DUPLICATE_COLUMNS = ("guid", "state", "event_time", "temperature", "kafka_partition",
                     "kafka_offset", "kafka_timestamp")


def is_reading() -> Column:
    return F.col("kind") == READING


def quarantined(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"kafka_partition": r["kafka_partition"], "kafka_offset": r["kafka_offset"],
            "kafka_timestamp": r["kafka_timestamp"], "raw": r["raw"], "reason": r["reject_reason"]}


def duplicate(r: Mapping[str, Any]) -> dict[str, Any]:
    return {**{k: r[k] for k in DUPLICATE_COLUMNS}, "kind": r["duplicate_kind"],
            "kept_temperature": r["kept_temperature"]}


def duplicate_rows(batch: DataFrame, batch_id: int, batch_time: datetime) -> DataFrame:
    return batch.where(F.col("kind") == DUPLICATE).select(
        *stamp(batch_id, batch_time), *DUPLICATE_COLUMNS[:4], F.col("duplicate_kind").alias("kind"),
        "kept_temperature", *DUPLICATE_COLUMNS[4:])


def stamp(batch_id: int, batch_time: datetime) -> list:
    return [F.lit(batch_id).cast("long").alias("batch_id"),
            F.lit(batch_time).cast("timestamp").alias("batch_time")]


def late_rows(batch: DataFrame, batch_id: int, batch_time: datetime,
              watermark: datetime | None) -> DataFrame:
    return batch.where(is_reading() & F.col(windows.LATE_FLAG)).select(
        *stamp(batch_id, batch_time), *LATE_EVENT_COLUMNS[:-2],
        F.lit(watermark).cast("timestamp").alias("watermark"), *LATE_EVENT_COLUMNS[-2:])


def reading_rows(batch: DataFrame, batch_id: int, batch_time: datetime,
                 threshold: float) -> DataFrame:
    """Every accepted reading, with the zscore band it was judged by (written by Spark: a batch
    has as many as it has records)."""
    half = F.col("z_sigma") * F.lit(threshold)
    return batch.where(is_reading()).select(
        *stamp(batch_id, batch_time), "guid", "state", "event_time", "temperature",
        F.col(windows.LATE_FLAG).alias("late"), F.col("z_mean").alias("zscore_mean"),
        (F.col("z_mean") - half).alias("zscore_low"), (F.col("z_mean") + half).alias("zscore_high"),
        "kafka_partition", "kafka_offset")


def readings_table(rows: pa.Table, batch_id: int, batch_time: datetime,
                   threshold: float) -> pa.Table:
    """The readings table's rows from the side pass's accepted readings (as reading_rows)."""
    half = pc.multiply(rows["z_sigma"], threshold)
    columns = {
        "batch_id": pa.array([batch_id] * rows.num_rows, pa.int64()),
        "batch_time": pa.array([batch_time] * rows.num_rows, pa.timestamp("us")),
        "guid": rows["guid"], "state": rows["state"], "event_time": rows["event_time"],
        "temperature": rows["temperature"], "late": rows["late"], "zscore_mean": rows["z_mean"],
        "zscore_low": pc.subtract(rows["z_mean"], half), "zscore_high": pc.add(rows["z_mean"], half),
        "kafka_partition": rows["kafka_partition"], "kafka_offset": rows["kafka_offset"],
    }
    return to_arrow(pa.table(columns), TABLES["readings"])


def quarantine_rows(batch: DataFrame, batch_id: int, batch_time: datetime) -> DataFrame:
    return batch.where(F.col("kind") == QUARANTINED).select(
        *stamp(batch_id, batch_time), "kafka_partition", "kafka_offset", "kafka_timestamp",
        "raw", F.col("reject_reason").alias("reason"))
