"""What the dashboard shows, read from the job's Parquet tables with DuckDB (never a Spark
session: it starts in a second, and answers a panel in about a tenth of a second).

Only committed files of complete batches are read, by the reader rule every reader of the
project follows (iotstream.io.layout): the files `io.reading.committed_files` lists (no file
being written, no batch file that a merged file holds), rows of batches up to the last one with
its `batch_totals` row.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from iotstream.io.layout import PARTITION_COLUMN
from iotstream.io.reading import committed_files
from iotstream.table_columns import TABLE_COLUMNS

# table_columns' (Spark's) type names, as DuckDB names them (for the empty view of a table not written yet).
DUCK_TYPES = {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "double": "DOUBLE",
              "timestamp": "TIMESTAMPTZ", "boolean": "BOOLEAN"}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source(files: Sequence[str]) -> str:
    listed = ", ".join(_quote(f) for f in files)
    return f"read_parquet([{listed}], hive_partitioning = true, union_by_name = true)"


def _view(con: duckdb.DuckDBPyConnection, table: str, files: Sequence[str],
          last_batch: int) -> None:
    """Makes `table` a view of its files' rows of batches up to `last_batch`, with exactly the
    table's columns (and `date`): one that the files do not have yet (written before it was
    added, or no file at all) is NULL."""
    source, present = "(SELECT 1) AS nothing WHERE false", set()
    if files:
        source = f"{_source(files)} WHERE batch_id <= {int(last_batch)}"
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    fields = [(c.name, DUCK_TYPES[c.type]) for c in TABLE_COLUMNS[table]]
    fields.append((PARTITION_COLUMN, "DATE"))
    columns = ", ".join(name if name in present else f"NULL::{kind} AS {name}"
                        for name, kind in fields)
    con.execute(f"CREATE VIEW {table} AS SELECT {columns} FROM {source}")


def _last_batch(con: duckdb.DuckDBPyConnection, output_dir: Path) -> int:
    """The last complete batch: a batch writes its batch_totals row after every other table's."""
    files = committed_files(output_dir / "batch_totals")
    if not files:
        return -1
    [(last,)] = con.execute(f"SELECT coalesce(max(batch_id), -1) FROM {_source(files)}").fetchall()
    return last


def _named(sql: str) -> list[str]:
    """The tables `sql` names (a view reads its files' footers when made: only those wanted)."""
    words = set(re.findall(r"[a-z_]+", sql.lower()))
    return [t for t in TABLE_COLUMNS if t in words]


class Tables:
    """The job's tables under `output_dir`, as DuckDB views, read afresh by every query. Only
    complete batches are in them: rows of a batch still being written are left out."""

    def __init__(self, output_dir: Path, attempts: int = 3) -> None:
        self.output_dir = output_dir
        self.attempts = attempts

    def query(self, sql: str, params: Sequence[Any] = (),
              upto: int | None = None) -> list[dict[str, Any]]:
        """Rows of `sql` over views named after the tables, as dicts; with `upto`, of batches up
        to it only (the panels of one page refresh then show the same batches). A file that a
        compaction removed between listing and reading makes the query start again."""
        for attempt in range(self.attempts):
            con = duckdb.connect()
            try:
                con.execute("SET TimeZone = 'UTC'")
                last = _last_batch(con, self.output_dir)
                if upto is not None:
                    last = min(last, upto)
                for table in _named(sql):
                    _view(con, table, committed_files(self.output_dir / table), last)
                cursor = con.execute(sql, list(params))
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            except duckdb.IOException:
                if attempt == self.attempts - 1:
                    raise
                time.sleep(0.2)
            finally:
                con.close()
        raise AssertionError("unreachable")
