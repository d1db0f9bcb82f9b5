"""The Parquet tables: one folder per table under the output dir, partitioned by the batch's UTC
date (io.layout names the folders and files).

Writes are idempotent by batch id: a batch first removes whatever an earlier attempt at it wrote
(in every table), then its rows for each table go to files named after the batch
(`date=YYYY-MM-DD/part-b<batch_id>-<n>.parquet`), written to a hidden staging folder and renamed
into place. A batch that Spark replays after a crash therefore replaces its own rows instead of
adding them twice. Batch files are merged now and then (compact, off the batch's path: see
compaction.py): fewer, larger files. Readers follow io.layout's rule.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

from iotstream.config import local_path
from iotstream.io.arrow import arrow_schema, parquet_bytes, to_arrow
from iotstream.io.fs import hadoop_fs, put_file, read_bytes
from iotstream.io.layout import (
    BATCH_FILE,
    PARTITION_COLUMN,
    STAGING,
    batch_file_prefix,
    compacted_name,
    held,
    readable,
    settled,
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

    def compact(self, spark: SparkSession, upto: int, pause: float = 0.0) -> int:
        """Merges, in each table's date folder, the files of batches up to `upto` (all committed:
        never a batch that may still be replayed) into one file, `part-c<first>-<last>` (the
        first and last batch it merges); returns how many batch files it merged.

        The merged file is in place before the batch files go, and every reader leaves out the
        batch files a merged file holds (layout.readable). Batch files that a merged file already
        holds (a compaction cut short) are removed first: a batch is never merged twice. `pause`
        (seconds) holds the merged file and its batch files side by side: for tests only."""
        files = OutputFiles(spark, self.output_dir)
        merged = 0
        for table in TABLES:
            for folder in files.date_folders(table):
                names = files.names(folder)
                done = held(names)
                for name in sorted(done):
                    files.delete(f"{folder}/{name}")
                batch = sorted((int(m.group(1)), n) for n in names
                               if n not in done and (m := BATCH_FILE.fullmatch(n))
                               and int(m.group(1)) <= upto)
                if len(batch) < 2:
                    continue
                schema = TABLES[table]

                def merge(file: BinaryIO, folder: str = folder, batch: list = batch,
                          schema: Any = schema) -> None:
                    # One batch file at a time, straight into the merged file: a table of every
                    # reading holds far more rows than the driver should take at once.
                    with pq.ParquetWriter(file, arrow_schema(schema), compression="snappy") as w:
                        for _, name in batch:
                            w.write_table(to_arrow(files.read(f"{folder}/{name}"), schema))

                files.put(f"{folder}/{compacted_name(batch[0][0], batch[-1][0])}", merge)
                time.sleep(pause)
                for _, name in batch:
                    files.delete(f"{folder}/{name}")
                merged += len(batch)
        return merged

    def finish_compactions(self, spark: SparkSession) -> None:
        """Run when the job starts, before anything is written: removes batch files that a merged
        file already holds (a compaction cut short), the hidden `.….partial` files a killed
        writer left, and checksum files (`.<name>.crc`) whose file is gone."""
        files = OutputFiles(spark, self.output_dir)
        for table in TABLES:
            for folder in files.date_folders(table):
                names = files.names(folder, hidden=True)
                left = [n for n in names if n.endswith(".partial")  # a writer killed
                        # a checksum whose file is gone (merges before they removed them)
                        or n.endswith(".crc") and n[1:-4] not in names]
                for name in sorted(held(names)) + left:
                    files.delete(f"{folder}/{name}")

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


class OutputFiles:
    """The output's files, named as the output is (a plain path, file://, hdfs://, ...): read,
    listed and removed through Python's own calls when the output is local (no call into the
    JVM: a merge reads and writes tens of MB), else through Hadoop's FileSystem."""

    def __init__(self, spark: SparkSession, output_dir: str) -> None:
        self.spark = spark
        self.root = output_dir.rstrip("/")
        self.local = local_path(self.root)

    def _local(self, location: str) -> Path:
        return self.local / location[len(self.root):].lstrip("/")

    def date_folders(self, table: str) -> list[str]:
        """The table's date folders (their locations, sorted)."""
        base = table_path(self.root, table)
        if self.local is not None:
            return sorted(f"{base}/{p.name}" for p in self._local(base).glob(
                f"{PARTITION_COLUMN}=*") if p.is_dir())
        fs, path = hadoop_fs(self.spark, self.root)
        found = fs.globStatus(path(f"{base}/{PARTITION_COLUMN}=*")) or []
        return sorted(f"{base}/{s.getPath().getName()}" for s in found if s.isDirectory())

    def names(self, folder: str, hidden: bool = False) -> list[str]:
        """The names of the files in `folder` (with `hidden`, also those starting with '.')."""
        if self.local is not None:
            try:
                names = [e.name for e in os.scandir(self._local(folder)) if e.is_file()]
            except FileNotFoundError:
                return []
        else:
            fs, path = hadoop_fs(self.spark, folder)
            if not fs.exists(path(folder)):
                return []
            names = [s.getPath().getName() for s in fs.listStatus(path(folder)) if s.isFile()]
        return sorted(n for n in names if hidden or not n.startswith("."))

    def readable(self, table: str) -> list[str]:
        """The table's files a reader reads (layout's rule 1), every date folder's. A folder is
        listed until two listings agree: a merge can change it while it is listed."""
        found = []
        for folder in self.date_folders(table):
            found += [f"{folder}/{name}"
                      for name in settled(lambda f=folder: readable(self.names(f)))]
        return found

    def read(self, location: str) -> pa.Table:
        if self.local is not None:
            return pq.ParquetFile(self._local(location)).read()
        fs, path = hadoop_fs(self.spark, location)
        return pq.read_table(pa.BufferReader(read_bytes(self.spark, fs, path(location))))

    def put(self, location: str, write: Callable[[BinaryIO], None]) -> None:
        """Writes a file under a hidden name beside `location`, then renames it into place."""
        if self.local is None:
            put_file(self.spark, location, write)
            return
        final = self._local(location)
        partial = final.with_name(f".{final.name}.partial")
        try:
            with partial.open("wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())  # on disk before the files it replaces go, power cut or not
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, final)
        folder = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # and its name too
        finally:
            os.close(folder)

    def delete(self, location: str) -> None:
        """Removes a file (and, on a local output, the checksum Hadoop's local file system
        keeps beside a file it wrote, `.<name>.crc`)."""
        if self.local is not None:
            file = self._local(location)
            file.unlink(missing_ok=True)
            file.with_name(f".{file.name}.crc").unlink(missing_ok=True)
            return
        fs, path = hadoop_fs(self.spark, location)
        if not fs.delete(path(location), False) and fs.exists(path(location)):
            raise OSError(f"cannot delete {location}")
