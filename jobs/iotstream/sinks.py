"""Parquet output: one folder per table under the output dir, partitioned by the batch's UTC date."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from iotstream.schema import BATCH_TOTALS_SCHEMA, PARTITION_COLUMN, TABLES


def table_path(output_dir: str, table: str) -> str:
    return f"{output_dir.rstrip('/')}/{table}"


class ParquetSink:
    """Appends batch results to the Parquet tables of `output_dir`."""

    def __init__(self, output_dir: str) -> None:
        self.output_dir = output_dir

    def append(self, table: str, rows: DataFrame) -> None:
        """Appends rows (in the table's schema) as few files per date partition."""
        columns = [f.name for f in TABLES[table].fields]
        (
            rows.select(*columns)
            .withColumn(PARTITION_COLUMN, F.to_date("batch_time"))
            # A batch's rows are few: one file per table and batch, not one per task.
            .coalesce(1)
            .write.mode("append")
            .partitionBy(PARTITION_COLUMN)
            .parquet(table_path(self.output_dir, table))
        )

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
