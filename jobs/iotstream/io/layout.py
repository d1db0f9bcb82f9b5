"""The output's layout, as plain Python (no pyspark: the dashboard reads it without loading
Spark): every table (table_columns.py) is a folder partitioned by `date` (the batch's UTC date),
and its files are `<table>/date=YYYY-MM-DD/part-b<batch_id>-<n>.parquet`, or
`part-c<first>-<last>.parquet` once a compaction merged batches first..last.

The reader rule, the same for every reader the project ships (the dashboard, query.sh's views,
train.sh, the quality and real-data tools: `readable` here, `io.reading` and `views`):
1. a date folder's files are its `part-b…`/`part-c…` Parquet files (a file being written has a
   hidden name, `.….partial` or under `_staging/`, and is renamed into place), less every batch
   file that a merged file of the same folder holds (its batch id within the merged range: a
   compaction, or a kill in the middle of one, leaves both for a while);
2. of their rows, only those of batches up to the last complete one: the last batch with a
   `batch_totals` row, which a batch writes after every other table's (a batch cut short by a
   kill, or being written, has none yet).
"""

from __future__ import annotations

import re
from collections.abc import Callable

PARTITION_COLUMN = "date"
STAGING = "_staging"  # '_' hides it from Spark's and pyarrow's readers


BATCH_FILE = re.compile(r"part-b(\d{12})-\d{3}\.parquet")
COMPACTED_FILE = re.compile(r"part-c(\d{12})-(\d{12})\.parquet")


def held(names: list[str]) -> set[str]:
    """The batch files among a date folder's file `names` that a merged file there holds."""
    ranges = [(int(m.group(1)), int(m.group(2))) for n in names
              if (m := COMPACTED_FILE.fullmatch(n))]
    return {n for n in names if (m := BATCH_FILE.fullmatch(n))
            and any(a <= int(m.group(1)) <= b for a, b in ranges)}


def readable(names: list[str]) -> list[str]:
    """The files of a date folder (its file `names`) that a reader reads (rule 1 above), sorted."""
    held_here = held(names)
    return sorted(n for n in names if (BATCH_FILE.fullmatch(n) or COMPACTED_FILE.fullmatch(n))
                  and n not in held_here)


def settled(listing: Callable[[], list[str]], tries: int = 10) -> list[str]:
    """What `listing` (a folder's readable files) returns twice in a row, up to `tries` times: a
    merge can change the folder while it is listed."""
    listed = listing()
    for _ in range(tries):
        again = listing()
        if again == listed:
            break
        listed = again
    return listed


def table_path(output_dir: str, table: str) -> str:
    return f"{output_dir.rstrip('/')}/{table}"


def batch_file_prefix(batch_id: int) -> str:
    """The start of the names of a batch's files (BATCH_FILE)."""
    return f"part-b{batch_id:012d}-"


def compacted_name(first: int, last: int) -> str:
    """The name of the file that merges batches first..last (COMPACTED_FILE)."""
    return f"part-c{first:012d}-{last:012d}.parquet"
