"""The Parquet tables: one folder per table under the output dir, partitioned by the batch's UTC
date (io.layout names the folders and files).

Writes are idempotent by batch id: a batch first removes whatever an earlier attempt at it wrote
(in every table), then its rows for each table go to files named after the batch
(`date=YYYY-MM-DD/part-b<batch_id>-<n>.parquet`), written to a hidden staging folder and renamed
into place. A batch that Spark replays after a crash therefore replaces its own rows instead of
adding them twice. Batch files are merged now and then (compact): fewer, larger files.
"""

from __future__ import annotations

from datetime import date
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from iotstream.io.arrow import arrow_schema, parquet_bytes, to_arrow
from iotstream.io.fs import hadoop_fs, put_file, read_bytes
from iotstream.io.layout import (
    BATCH_FILE,
    COMPACTED_FILE,
    PARTITION_COLUMN,
    STAGING,
    batch_file_prefix,
    compacted_name,
    table_path,
)
from iotstream.schema import TABLES


class ParquetSink:
    """Writes batch results to the Parquet tables of `output_dir` (any Hadoop file system)."""

    def __init__(self, output_dir: str) -> None:
        self.output_dir = output_dir

    def clear_batch(self, spark: SparkSession, batch_id: int) -> None:
        """Removes whatever an earlier attempt at `batch_id` wrote, in every table (batch_totals
        first: while any of the batch's rows remain, its batch_totals row is gone too)."""
        fs, path = hadoop_fs(spark, self.output_dir)
        ordered = sorted(TABLES, key=lambda t: t != "batch_totals")
        for table in ordered:
            pattern = f"{table_path(self.output_dir, table)}/{PARTITION_COLUMN}=*/"
            prefix = batch_file_prefix(batch_id)
            for earlier in fs.globStatus(path(pattern + prefix + "*")) or []:
                if not fs.delete(earlier.getPath(), False) and fs.exists(earlier.getPath()):
                    raise OSError(f"cannot delete {earlier.getPath().toString()}")

    def write_batch(self, table: str, batch_id: int, day: date, rows: DataFrame) -> None:
        """Adds `rows` (the table's columns) as the table's rows for `batch_id`, in files named
        after it (call clear_batch first)."""
        fs, path = hadoop_fs(rows.sparkSession, self.output_dir)
        root = table_path(self.output_dir, table)
        staging = path(f"{root}/{STAGING}/b{batch_id}")
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

    def write_small(self, spark: SparkSession, table: str, batch_id: int, day: date,
                    rows: DataFrame | pa.Table | list[dict[str, Any]]) -> None:
        """Like write_batch, for the few rows most tables get per batch: collected (or made) on
        the driver and written as one Parquet file there — no Spark job, no commit protocol."""
        data = to_arrow(rows, TABLES[table])
        folder = f"{table_path(self.output_dir, table)}/{PARTITION_COLUMN}={day.isoformat()}"
        put_file(spark, f"{folder}/{batch_file_prefix(batch_id)}000.parquet",
                 parquet_bytes(data))

    def _partitions(self, spark: SparkSession) -> list[tuple[str, Any, list[Any]]]:
        """(table, date folder, its files) for every table's date partition."""
        fs, path = hadoop_fs(spark, self.output_dir)
        found = []
        for table in TABLES:
            pattern = path(f"{table_path(self.output_dir, table)}/{PARTITION_COLUMN}=*")
            for folder in fs.globStatus(pattern) or []:
                files = [f.getPath() for f in fs.listStatus(folder.getPath())]
                found.append((table, folder.getPath(), files))
        return found

    def compact(self, spark: SparkSession, first: int, last: int) -> int:
        """Merges each table's files of batches first..last (all committed: never a batch that
        may still be replayed) into one file per date partition; returns how many it merged.

        The merged file is in place before the batch files go; a crash in between leaves both,
        and `finish_compactions` (run when the job starts) removes the batch files."""
        fs, _ = hadoop_fs(spark, self.output_dir)
        merged = 0
        for table, folder, files in self._partitions(spark):
            batch = [f for f in files if (m := BATCH_FILE.fullmatch(f.getName()))
                     and first <= int(m.group(1)) <= last]
            if len(batch) < 2:
                continue
            def merge(file: BinaryIO, table: str = table, batch: list = batch) -> None:
                # One batch file at a time, straight into the merged file: a table of every
                # reading holds far more rows than the driver should take at once.
                with pq.ParquetWriter(file, arrow_schema(TABLES[table]),
                                      compression="snappy") as writer:
                    for f in sorted(batch, key=lambda f: f.getName()):
                        part = pq.read_table(pa.BufferReader(read_bytes(spark, fs, f)))
                        writer.write_table(to_arrow(part, TABLES[table]))

            put_file(spark, f"{folder.toString()}/{compacted_name(first, last)}", merge)
            for f in batch:
                fs.delete(f, False)
            merged += len(batch)
        return merged

    def finish_compactions(self, spark: SparkSession) -> None:
        """Removes batch files that a merged file already holds (a compaction cut short)."""
        fs, _ = hadoop_fs(spark, self.output_dir)
        for _, _, files in self._partitions(spark):
            ranges = [(int(m.group(1)), int(m.group(2))) for f in files
                      if (m := COMPACTED_FILE.fullmatch(f.getName()))]
            for f in files:
                m = BATCH_FILE.fullmatch(f.getName())
                if m and any(a <= int(m.group(1)) <= b for a, b in ranges):
                    fs.delete(f, False)

    def last_batch_before(self, spark: SparkSession, batch_id: int) -> dict[str, Any] | None:
        """The batch_totals row of the last batch written before `batch_id`, if any."""
        if batch_id == 0:
            return None
        try:
            rows = (
                spark.read.schema(TABLES["batch_totals"])
                .parquet(table_path(self.output_dir, "batch_totals"))
                .where(F.col("batch_id") < batch_id)
                .orderBy(F.desc("batch_id"))
                .limit(1)
                .collect()
            )
        except AnalysisException as e:  # no table yet: this output dir is new
            if _missing(e):
                return None
            raise
        return rows[0].asDict() if rows else None

    def read_rows(self, spark: SparkSession, table: str, where: Column) -> list[dict[str, Any]]:
        """Rows of a table (its declared columns) that match `where`; none when it has no file."""
        try:
            df = spark.read.schema(TABLES[table]).parquet(table_path(self.output_dir, table))
            return [r.asDict() for r in df.where(where).collect()]
        except AnalysisException as e:
            if _missing(e):
                return []
            raise


def _missing(e: AnalysisException) -> bool:
    return "PATH_NOT_FOUND" in str(e) or "Path does not exist" in str(e)
