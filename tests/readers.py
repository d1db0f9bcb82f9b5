"""Every reader the project ships, on one output folder: the dashboard's (DuckDB), query.sh's and
train.sh's Spark SQL views (iotstream.views), and the tools' pyarrow reader (io.reading, which
quality.py and realdata.py use). `check_every_reader` is the kill tests' check (test_crash.py):
each reader sees each complete batch exactly once and no other, all of them the same rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pyspark.sql import SparkSession

from dashboard.data import Tables
from iotstream.io.reading import read_committed
from iotstream.views import register_views
from tables import table_rows

# What tells a table's rows apart: a batch's state, a Kafka record.
KEYS = {"batch_totals": ("batch_id",), "state_stats": ("batch_id", "state"),
        "readings": ("kafka_partition", "kafka_offset")}


def seen(spark: SparkSession, out: Path, table: str) -> dict[str, Counter]:
    """The table's rows by key, as each reader reads it."""
    key = KEYS[table]
    columns = ", ".join(key)

    def count(rows: list) -> Counter:
        return Counter(tuple(r[k] for k in key) for r in rows)

    arrow = read_committed(out, table, list(key))
    register_views(spark, str(out))
    return {
        "io.reading": count([] if arrow is None else arrow.to_pylist()),
        "dashboard": count(Tables(out).query(f"SELECT {columns} FROM {table}")),
        "views": count([r.asDict() for r in spark.sql(f"SELECT {columns} FROM {table}").collect()]),
    }


def committed_ids(checkpoint: Path) -> set[int]:
    """The batches in Spark's commit log."""
    folder = checkpoint / "commits"
    return {int(p.name) for p in folder.iterdir() if p.name.isdigit()} if folder.is_dir() else set()


def check_every_reader(spark: SparkSession, out: Path) -> int:
    """Each reader sees every row of every complete batch once and no other row: the complete
    batches are those of Spark's commit log, and the one after them when it had written its
    batch_totals row before the kill (a restart replays it and writes the same); their rows are
    what a plain read of the files has of them, less the same row seen twice (a merge's). All
    readers alike. Returns how many batches they see."""
    totals = seen(spark, out, "batch_totals")
    ids = {b for (b,) in next(iter(totals.values()))}
    committed = committed_ids(out / "_checkpoint")
    assert committed <= ids <= committed | {max(committed, default=-1) + 1}
    for table, key in KEYS.items():
        plain = {tuple(r[k] for k in key) for r in table_rows(out, table) if r["batch_id"] in ids}
        by_reader = totals if table == "batch_totals" else seen(spark, out, table)
        for reader, rows in by_reader.items():
            assert rows == Counter(plain), (table, reader, (rows - Counter(plain)).most_common(3),
                                            (Counter(plain) - rows).most_common(3))
    return len(ids)
