"""Parquet output: one folder per table under the output dir, partitioned by the batch's UTC date.

Writes are idempotent by batch id: a batch first removes whatever an earlier attempt at it wrote
(in every table), then its rows for each table go to files named after the batch
(`date=YYYY-MM-DD/part-b<batch_id>-<n>.parquet`), written to a hidden staging folder and renamed
into place. A batch that Spark replays after a crash therefore replaces its own rows instead of
adding them twice.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from iotstream.schema import BATCH_TOTALS_SCHEMA, PARTITION_COLUMN, TABLES

STAGING = "_staging"  # '_' hides it from Spark's and pyarrow's readers


def _hadoop(spark: SparkSession, location: str) -> tuple[Any, Any]:
    """(FileSystem, Path class) of Hadoop for `location`: the same calls on file://, hdfs://,
    s3a:// ..."""
    path = spark._jvm.org.apache.hadoop.fs.Path
    return path(location).getFileSystem(spark._jsc.hadoopConfiguration()), path


def table_path(output_dir: str, table: str) -> str:
    return f"{output_dir.rstrip('/')}/{table}"


def batch_file_prefix(batch_id: int) -> str:
    return f"part-b{batch_id:012d}-"


class ParquetSink:
    """Writes batch results to the Parquet tables of `output_dir` (any Hadoop file system)."""

    def __init__(self, output_dir: str) -> None:
        self.output_dir = output_dir

    def clear_batch(self, spark: SparkSession, batch_id: int) -> None:
        """Removes whatever an earlier attempt at `batch_id` wrote, in every table (batch_totals
        first: while any of the batch's rows remain, its batch_totals row is gone too)."""
        fs, path = _hadoop(spark, self.output_dir)
        for table in ("batch_totals", *[t for t in TABLES if t != "batch_totals"]):
            pattern = f"{table_path(self.output_dir, table)}/{PARTITION_COLUMN}=*/"
            for earlier in fs.globStatus(path(pattern + batch_file_prefix(batch_id) + "*")) or []:
                if not fs.delete(earlier.getPath(), False) and fs.exists(earlier.getPath()):
                    raise OSError(f"cannot delete {earlier.getPath().toString()}")

    def write_batch(self, table: str, batch_id: int, day: date, rows: DataFrame) -> None:
        """Adds `rows` (the table's columns) as the table's rows for `batch_id`, in files named
        after it (call clear_batch first)."""
        fs, path = _hadoop(rows.sparkSession, self.output_dir)
        root = table_path(self.output_dir, table)
        staging = path(f"{root}/{STAGING}/{batch_id}")
        columns = [f.name for f in TABLES[table].fields]
        # A batch's rows are few: one file per table and batch, not one per task.
        rows.select(*columns).coalesce(1).write.mode("overwrite").parquet(staging.toString())

        target = path(f"{root}/{PARTITION_COLUMN}={day.isoformat()}")
        if not fs.mkdirs(target):
            raise OSError(f"cannot create {target.toString()}")
        written = sorted(s.getPath().getName() for s in fs.listStatus(staging)
                         if s.getPath().getName().endswith(".parquet"))
        for n, name in enumerate(written):
            final = path(target, f"{batch_file_prefix(batch_id)}{n:03d}.parquet")
            # Hadoop reports a failed rename by returning false, not by raising.
            if not fs.rename(path(staging, name), final):
                raise OSError(f"cannot move {name} from {staging.toString()} to {final.toString()}")
        fs.delete(staging, True)

    def running_messages_before(self, spark: SparkSession, batch_id: int) -> int:
        """`running_messages` of the last batch written before `batch_id` (0 if there is none)."""
        if batch_id == 0:
            return 0
        try:
            rows = (
                spark.read.schema(BATCH_TOTALS_SCHEMA)
                .parquet(table_path(self.output_dir, "batch_totals"))
                .where(F.col("batch_id") < batch_id)
                .orderBy(F.desc("batch_id"))
                .select("running_messages")
                .limit(1)
                .collect()
            )
        except AnalysisException as e:  # no table yet: this output dir is new
            if "PATH_NOT_FOUND" in str(e) or "Path does not exist" in str(e):
                return 0
            raise
        return rows[0][0] if rows else 0
