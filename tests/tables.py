"""The tests' one reader of the job's output tables: Parquet files read with pyarrow, apart from
the job's own code (iotstream.views) and from Spark, so end-to-end tests need no JVM."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds


def table_rows(out: Path | str, table: str, *, aware: bool = False) -> list[dict]:
    """Every row of `table` under the output folder `out`, as dicts of its columns and `date` (the
    partition folder's text, e.g. "2026-01-01"). A table the job has not written (no folder) has
    no rows, as in the job's views. Files Spark and the sink leave aside (names starting with
    "." or "_") are not read. Timestamps come as naive UTC datetimes, as the unit tests' Spark
    session collects them, or as aware UTC datetimes with `aware`."""
    folder = Path(out) / table
    if not folder.is_dir():
        return []
    data = ds.dataset(folder, format="parquet", partitioning="hive").to_table()
    if not aware:
        data = data.cast(pa.schema([
            f.with_type(pa.timestamp(f.type.unit)) if pa.types.is_timestamp(f.type) else f
            for f in data.schema]))
    return data.to_pylist()
