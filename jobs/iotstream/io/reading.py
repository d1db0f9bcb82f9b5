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

from iotstream.io.layout import PARTITION_COLUMN, readable, settled

# Reads of a table that a merge of its files may cut short (then read again).
ATTEMPTS = 3


def _readable(folder: Path) -> list[str]:
    try:
        return readable([e.name for e in os.scandir(folder) if e.is_file()])
    except (FileNotFoundError, NotADirectoryError):
        return []


def committed_files(table_dir: Path) -> list[str]:
    """The table's files a reader reads (layout's rule 1), every date folder's, sorted. A folder
    is listed until two listings agree: a merge can change it while it is listed."""
    found = []
    for folder in sorted(table_dir.glob(f"{PARTITION_COLUMN}=*")):
        found += [str(folder / name) for name in settled(lambda f=folder: _readable(f))]
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
    for attempt in range(ATTEMPTS):
        try:
            # The last complete batch first, the table's files then: a batch that completes in
            # between has its rows in them.
            last = last_complete_batch(output_dir) if upto is None else upto
            data = _dataset(output_dir, table)
            if data is None:
                return None
            return data.to_table(columns=columns, filter=pc.field("batch_id") <= last)
        except FileNotFoundError:  # a merge removed a listed file: its rows are in the merged one
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
