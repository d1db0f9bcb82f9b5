"""The offset log of a streaming checkpoint (`<checkpoint>/offsets/<batch_id>`), as Spark wrote
it: what the next run starts from."""

from __future__ import annotations

from pyspark.sql import SparkSession

from iotstream.io.fs import hadoop_fs, read_bytes


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
