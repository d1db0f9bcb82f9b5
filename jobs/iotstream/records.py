"""The rows of the tables that list records one by one (late_events, quarantine, duplicates,
readings): from the side pass's rows on the driver, or as a DataFrame that Spark writes when a
batch has more of them than the driver should take."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa
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


# The readings table's columns after the batch's: the step's, as they come (the band zscore
# judged the reading by is zscore's own columns, ZScoreRule.java).
READING_COLUMNS: tuple[str, ...] = tuple(TABLES["readings"].names[2:])


def reading_rows(batch: DataFrame, batch_id: int, batch_time: datetime) -> DataFrame:
    """Every accepted reading, with the zscore band it was judged by (written by Spark: a batch
    has as many as it has records)."""
    return batch.where(is_reading()).select(*stamp(batch_id, batch_time), *READING_COLUMNS)


def readings_table(rows: pa.Table, batch_id: int, batch_time: datetime) -> pa.Table:
    """The readings table's rows from the side pass's accepted readings (as reading_rows)."""
    columns = {
        "batch_id": pa.array([batch_id] * rows.num_rows, pa.int64()),
        "batch_time": pa.array([batch_time] * rows.num_rows, pa.timestamp("us")),
        **{name: rows[name] for name in READING_COLUMNS},
    }
    return to_arrow(pa.table(columns), TABLES["readings"])


def quarantine_rows(batch: DataFrame, batch_id: int, batch_time: datetime) -> DataFrame:
    return batch.where(F.col("kind") == QUARANTINED).select(
        *stamp(batch_id, batch_time), "kafka_partition", "kafka_offset", "kafka_timestamp",
        "raw", F.col("reject_reason").alias("reason"))
