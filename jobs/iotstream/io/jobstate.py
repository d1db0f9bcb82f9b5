"""The job's own state, kept beside Spark's in the checkpoint folder: small tables (the windows
it keeps, the Kafka partitions' clocks) saved as one version per batch.

On a local checkpoint (a plain path or file://) the files are written and read with Python's own
file calls; elsewhere (hdfs://, s3a://, ...) through Hadoop's FileSystem. A batch saves its state
every time, so the 20-30 calls into the JVM a Hadoop save takes (about 1 ms each here) are worth
saving where they are not needed.
"""

from __future__ import annotations

import shutil
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from iotstream.config import local_path
from iotstream.io.arrow import parquet_bytes, to_arrow
from iotstream.io.fs import hadoop_fs, put_file, read_bytes
from iotstream.io.layout import STAGING

_FILE = "part-0.parquet"


class VersionedState:
    """A table the job keeps from batch to batch: saved after every batch as version
    `v=<batch_id>`; a batch reads the latest version before its own, so a replayed batch starts
    from the same state as the first try."""

    def __init__(self, location: str, schema: Any) -> None:
        self.location = location.rstrip("/")
        self.schema = schema
        self.local = local_path(self.location)

    def _versions(self, spark: SparkSession | None) -> list[int]:
        if self.local is not None:
            names = [p.name for p in self.local.iterdir()] if self.local.is_dir() else []
        else:
            fs, path = hadoop_fs(spark, self.location)
            if not fs.exists(path(self.location)):
                return []
            names = [s.getPath().getName() for s in fs.listStatus(path(self.location))]
        return sorted(int(n[2:]) for n in names if n.startswith("v=") and n[2:].isdigit())

    def load(self, spark: SparkSession, batch_id: int) -> pa.Table:
        """The state as the last batch before `batch_id` left it (empty before any), read on the
        driver (no Spark job: the job's own state is small)."""
        before = [v for v in self._versions(spark) if v < batch_id]
        if not before:
            return to_arrow([], self.schema)
        if self.local is not None:
            parts = [to_arrow(pq.read_table(f), self.schema)
                     for f in sorted((self.local / f"v={before[-1]}").glob("*.parquet"))]
        else:
            fs, path = hadoop_fs(spark, self.location)
            folder = path(f"{self.location}/v={before[-1]}")
            parts = [to_arrow(pq.read_table(pa.BufferReader(read_bytes(spark, fs, s.getPath()))),
                              self.schema)
                     for s in fs.listStatus(folder) if s.getPath().getName().endswith(".parquet")]
        return pa.concat_tables(parts) if parts else to_arrow([], self.schema)

    def save(self, state: pa.Table, batch_id: int, spark: SparkSession) -> None:
        """Saves the state after `batch_id` as one file (staged, then renamed into place); keeps
        only it and the version before it."""
        content = parquet_bytes(to_arrow(state, self.schema))
        if self.local is not None:
            self._save_local(content, batch_id)
            return
        fs, path = hadoop_fs(spark, self.location)
        staging = f"{self.location}/{STAGING}-{batch_id}"
        put_file(spark, f"{staging}/{_FILE}", content)
        final = path(f"{self.location}/v={batch_id}")
        if fs.exists(final) and not fs.delete(final, True):
            raise OSError(f"cannot delete {final.toString()}")
        if not fs.rename(path(staging), final):
            raise OSError(f"cannot move {staging} to {final.toString()}")
        for version in self._stale(spark, batch_id):
            fs.delete(path(f"{self.location}/v={version}"), True)

    def _stale(self, spark: SparkSession | None, batch_id: int) -> list[int]:
        """The versions a save of `batch_id` leaves behind: all but it and the one before."""
        return [v for v in self._versions(spark) if v < batch_id][:-1]

    def _save_local(self, content: bytes, batch_id: int) -> None:
        staging = self.local / f"{STAGING}-{batch_id}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (staging / _FILE).write_bytes(content)
        final = self.local / f"v={batch_id}"
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        for version in self._stale(None, batch_id):
            shutil.rmtree(self.local / f"v={version}", ignore_errors=True)
