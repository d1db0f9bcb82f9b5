"""The job's tables read right without Spark (pyarrow, from a local output folder): layout's
reader rule, for the quality and real-data tools, train.sh on a local folder and the dashboard's
file list. query.sh's Spark SQL views follow the same rule (iotstream.views).
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from iotstream.io.layout import PARTITION_COLUMN, readable


def committed_files(table_dir: Path) -> list[str]:
    """The table's files a reader reads (layout's rule 1), every date folder's, sorted."""
    found = []
    for folder in sorted(table_dir.glob(f"{PARTITION_COLUMN}=*")):
        try:
            names = [e.name for e in os.scandir(folder) if e.is_file()]
        except (FileNotFoundError, NotADirectoryError):
            continue
        found += [str(folder / name) for name in readable(names)]
    return found


def _dataset(output_dir: Path, table: str) -> ds.Dataset | None:
    files = committed_files(Path(output_dir) / table)
    if not files:
        return None
    return ds.dataset(files, format="parquet",
                      partitioning=ds.HivePartitioning.discover(infer_dictionary=False),
                      partition_base_dir=str(Path(output_dir) / table))


def last_complete_batch(output_dir: Path) -> int:
    """The last batch with its batch_totals row (layout's rule 2); -1 before any."""
    data = _dataset(output_dir, "batch_totals")
    if data is None:
        return -1
    last = pc.max(data.to_table(columns=["batch_id"])["batch_id"]).as_py()
    return -1 if last is None else last


def read_committed(output_dir: Path, table: str, columns: list[str] | None = None,
                   upto: int | None = None) -> pa.Table | None:
    """The rows of `table` of every complete batch (up to `upto`, the last complete one when not
    given), with `date` from the folder; None when the table has no file."""
    data = _dataset(output_dir, table)
    if data is None:
        return None
    last = last_complete_batch(output_dir) if upto is None else upto
    return data.to_table(columns=columns, filter=pc.field("batch_id") <= last)
