"""Files through Hadoop's FileSystem, from the driver: the same calls on file://, hdfs://,
s3a:// ... (whatever the session's Hadoop configuration knows)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, BinaryIO

from pyspark.sql import SparkSession


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


def list_names(spark: SparkSession, folder: str) -> list[str] | None:
    """The names of the files in `folder` (None: no such folder)."""
    fs, path = hadoop_fs(spark, folder)
    where = path(folder)
    if not fs.exists(where) or not fs.getFileStatus(where).isDirectory():
        return None
    return [s.getPath().getName() for s in fs.listStatus(where) if s.isFile()]


def read_text(spark: SparkSession, location: str) -> str:
    """The whole content of the file at `location` (UTF-8)."""
    fs, path = hadoop_fs(spark, location)
    return read_bytes(spark, fs, path(location)).decode("utf-8")


def read_bytes(spark: SparkSession, fs: Any, location: Any) -> bytes:
    """The whole content of the file at `location` (a Hadoop Path on `fs`)."""
    stream = fs.open(location)
    try:
        return bytes(spark._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
    finally:
        stream.close()


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
