"""Parquet output: one folder per table under the output dir, partitioned by the batch's UTC date.

Writes are idempotent by batch id: a batch first removes whatever an earlier attempt at it wrote
(in every table), then its rows for each table go to files named after the batch
(`date=YYYY-MM-DD/part-b<batch_id>-<n>.parquet`), written to a hidden staging folder and renamed
into place. A batch that Spark replays after a crash therefore replaces its own rows instead of
adding them twice.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.utils import AnalysisException

from iotstream.schema import BATCH_TOTALS_SCHEMA, PARTITION_COLUMN, TABLES

STAGING = "_staging"  # '_' hides it from Spark's and pyarrow's readers


def hadoop_fs(spark: SparkSession, location: str) -> tuple[Any, Any]:
    """(FileSystem, Path class) of Hadoop for `location`: the same calls on file://, hdfs://,
    s3a:// ..."""
    path = spark._jvm.org.apache.hadoop.fs.Path
    return path(location).getFileSystem(spark._jsc.hadoopConfiguration()), path


def qualified(spark: SparkSession, location: str) -> str:
    """`location` as a full URI (a relative path made absolute against the driver's working
    directory), so that executors, whatever their own working directory, write where the
    driver does."""
    fs, path = hadoop_fs(spark, location)
    return fs.makeQualified(path(location)).toString()


def last_offsets_entry(spark: SparkSession, checkpoint: str) -> str | None:
    """The text of the newest entry of a streaming checkpoint's offset log (None if none)."""
    fs, path = hadoop_fs(spark, checkpoint)
    folder = path(f"{checkpoint.rstrip('/')}/offsets")
    if not fs.exists(folder):
        return None
    batches = [int(s.getPath().getName()) for s in fs.listStatus(folder)
               if s.getPath().getName().isdigit()]
    if not batches:
        return None
    return read_bytes(spark, fs, path(folder, str(max(batches)))).decode("utf-8")


def arrow_schema(schema: T.StructType) -> pa.Schema:
    """The Arrow schema of a table: Spark's types, timestamps as UTC instants (microseconds)."""
    return to_arrow_schema(schema, timezone="UTC")


def to_arrow(rows: DataFrame | pa.Table | list[dict[str, Any]], schema: T.StructType) -> pa.Table:
    """Rows of a table (a small DataFrame, collected; or rows made on the driver) as Arrow, in
    the table's column order and types. Naive datetimes are UTC."""
    target = arrow_schema(schema)
    if isinstance(rows, list):
        return pa.Table.from_pylist(rows, schema=target)
    if isinstance(rows, pa.Table):
        # A file written before a column was added to the table has it as nulls.
        for name in schema.fieldNames():
            if name not in rows.column_names:
                rows = rows.append_column(name, pa.nulls(rows.num_rows, target.field(name).type))
        return rows.select(schema.fieldNames()).cast(target)
    return rows.select(*schema.fieldNames()).toArrow().cast(target)


def naive(table: pa.Table) -> pa.Table:
    """`table` with its timestamps as naive UTC, the driver's one convention (rows collected with
    Spark's collect() are naive UTC too)."""
    columns = [c.cast(pa.timestamp("us")) if pa.types.is_timestamp(c.type) else c
               for c in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names)


def parquet_bytes(data: pa.Table) -> bytes:
    """`data` as one Parquet file (snappy), in memory."""
    buffer = pa.BufferOutputStream()
    pq.write_table(data, buffer, compression="snappy")
    return buffer.getvalue().to_pybytes()


class _HadoopFile(io.RawIOBase):
    """A write-only Python file over a Hadoop output stream (what pyarrow writes Parquet to),
    handed on in pieces of at most CHUNK bytes: one py4j call each, never the whole file."""

    CHUNK = 8 << 20

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        for start in range(0, len(view), self.CHUNK):
            self.stream.write(bytearray(view[start:start + self.CHUNK]))
        self.position += len(view)
        return len(view)

    def tell(self) -> int:
        return self.position


def put_file(spark: SparkSession, location: str, content: bytes | Callable[[BinaryIO], None]) -> None:
    """Writes `content` (bytes, or a function that writes to the file it is given) at `location`
    through Hadoop's FileSystem (any URI it knows): to a hidden name beside it first, then
    renamed, so readers never see half a file."""
    fs, path = hadoop_fs(spark, location)
    final = path(location)
    partial = path(final.getParent(), f".{final.getName()}.partial")
    stream = fs.create(partial, True)
    try:
        file = _HadoopFile(stream)
        if isinstance(content, bytes):
            file.write(content)
        else:
            content(file)
    finally:
        stream.close()
    if fs.exists(final) and not fs.delete(final, False):
        raise OSError(f"cannot delete {final.toString()}")
    if not fs.rename(partial, final):
        raise OSError(f"cannot move {partial.toString()} to {final.toString()}")


def table_path(output_dir: str, table: str) -> str:
    return f"{output_dir.rstrip('/')}/{table}"


def batch_file_prefix(batch_id: int) -> str:
    return f"part-b{batch_id:012d}-"


BATCH_FILE = re.compile(r"part-b(\d{12})-\d{3}\.parquet")
COMPACTED_FILE = re.compile(r"part-c(\d{12})-(\d{12})\.parquet")


def compacted_name(first: int, last: int) -> str:
    return f"part-c{first:012d}-{last:012d}.parquet"


def read_bytes(spark: SparkSession, fs: Any, location: Any) -> bytes:
    stream = fs.open(location)
    try:
        return bytes(spark._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
    finally:
        stream.close()


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
                spark.read.schema(BATCH_TOTALS_SCHEMA)
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
