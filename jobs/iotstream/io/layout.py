"""The output's layout, as plain Python (no pyspark: the dashboard reads it without loading
Spark): every table (table_columns.py) is a folder partitioned by `date` (the batch's UTC date),
and its files are `<table>/date=YYYY-MM-DD/part-b<batch_id>-<n>.parquet`, or
`part-c<first>-<last>.parquet` once a compaction merged batches first..last.
"""

from __future__ import annotations

import re

PARTITION_COLUMN = "date"
STAGING = "_staging"  # '_' hides it from Spark's and pyarrow's readers


BATCH_FILE = re.compile(r"part-b(\d{12})-\d{3}\.parquet")
COMPACTED_FILE = re.compile(r"part-c(\d{12})-(\d{12})\.parquet")


def table_path(output_dir: str, table: str) -> str:
    return f"{output_dir.rstrip('/')}/{table}"


def batch_file_prefix(batch_id: int) -> str:
    """The start of the names of a batch's files (BATCH_FILE)."""
    return f"part-b{batch_id:012d}-"


def compacted_name(first: int, last: int) -> str:
    """The name of the file that merges batches first..last (COMPACTED_FILE)."""
    return f"part-c{first:012d}-{last:012d}.parquet"
