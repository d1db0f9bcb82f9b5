"""Parquet output: one folder per table under the output dir, partitioned by the batch's UTC date.

Writes are idempotent by batch id: a batch's rows for a table go to files named after the batch
(`date=YYYY-MM-DD/part-b<batch_id>-<n>.parquet`), written first to a hidden staging folder and then
renamed into place, after the files of any earlier attempt at the same batch are removed. A batch
that Spark replays after a crash therefore replaces its own rows instead of adding them twice.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from iotstream.schema import BATCH_TOTALS_SCHEMA, PARTITION_COLUMN, TABLES

STAGING = "_staging"  # '_' hides it from Spark's and pyarrow's readers


def table_path(output_dir: str, table: str) -> str:
    return f"{output_dir.rstrip('/')}/{table}"


def batch_file_prefix(batch_id: int) -> str:
    return f"part-b{batch_id:012d}-"


class ParquetSink:
    """Writes batch results to the Parquet tables of `output_dir` (any Hadoop file system)."""

    def __init__(self, output_dir: str) -> None:
        self.output_dir = output_dir

    def write_batch(self, table: str, batch_id: int, day: date, rows: DataFrame) -> None:
        """Makes `rows` (the table's columns) the table's rows for `batch_id`, replacing any
        rows an earlier attempt at the same batch wrote."""
        spark = rows.sparkSession
        jvm = spark._jvm  # Hadoop's FileSystem API: renames work the same on file://, hdfs://
        path = jvm.org.apache.hadoop.fs.Path
        root = table_path(self.output_dir, table)
        staging = path(f"{root}/{STAGING}/{batch_id}")
        fs = staging.getFileSystem(spark._jsc.hadoopConfiguration())

        columns = [f.name for f in TABLES[table].fields]
        # A batch's rows are few: one file per table and batch, not one per task.
        rows.select(*columns).coalesce(1).write.mode("overwrite").parquet(str(staging.toString()))

        prefix = batch_file_prefix(batch_id)
        for earlier in fs.globStatus(path(f"{root}/{PARTITION_COLUMN}=*/{prefix}*")) or []:
            fs.delete(earlier.getPath(), False)
        target = path(f"{root}/{PARTITION_COLUMN}={day.isoformat()}")
        fs.mkdirs(target)
        written = sorted(
            (s.getPath() for s in fs.listStatus(staging) if s.getPath().getName().endswith(".parquet")),
            key=lambda p: p.getName(),
        )
        for n, part in enumerate(written):
            fs.rename(part, path(target, f"{prefix}{n:03d}.snappy.parquet"))
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
