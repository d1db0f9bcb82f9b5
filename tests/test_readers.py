"""The reader rule (iotstream.io.layout), at the seam: every reader the project ships sees each
complete batch exactly once and no other, on an output left as a kill leaves it (a batch half
written, a compaction cut short, a file being written); and the merge that runs beside the
stream (compaction.Compactor). The same on the real job, killed at those points: test_crash.py.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dashboard.data import Tables
from iotstream.compaction import PAUSE_ENV, Compactor, describe
from iotstream.io import tables
from iotstream.io.arrow import arrow_schema
from iotstream.io.reading import read_committed
from iotstream.io.tables import ParquetSink
from iotstream.schema import TABLES
from iotstream.views import read_table, register_views
from learned_data import train
from tools.evaluation import quality, realdata

DAY = "date=2026-01-01"
TABLES_READ = ("batch_totals", "state_stats", "readings")


def _rows(table: str, batch_id: int) -> list[dict]:
    """Batch `batch_id`'s rows of a table: two (one for batch_totals), told apart by `n`."""
    moment = datetime(2026, 1, 1, 0, 0, batch_id, tzinfo=UTC)
    if table == "batch_totals":
        return [{"batch_id": batch_id, "batch_time": moment, "messages": 2}]
    if table == "state_stats":
        return [{"batch_id": batch_id, "state": s, "messages": 1} for s in ("CA", "NY")]
    return [{"batch_id": batch_id, "guid": f"g{n}", "state": "CA", "event_time": moment,
             "temperature": 60.0 + n, "late": False, "kafka_partition": 0,
             "kafka_offset": 10 * batch_id + n} for n in range(2)]


FILLER = {pa.string(): "x", pa.int64(): 0, pa.int32(): 0, pa.float64(): 0.0, pa.bool_(): False,
          pa.timestamp("us", "UTC"): datetime(2026, 1, 1, tzinfo=UTC)}


def _arrow(table: str, rows: list[dict]) -> pa.Table:
    """Rows of a table in its columns and types: a column a row leaves out is null, or a filler
    where the table allows no null."""
    schema = arrow_schema(TABLES[table])
    required = {f.name: FILLER[f.type] for f in schema if not f.nullable}
    return pa.Table.from_pylist([{**required, **r} for r in rows], schema)


def _write(out: Path, table: str, name: str, batch_ids: list[int]) -> None:
    folder = out / table / DAY
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(_arrow(table, [r for b in batch_ids for r in _rows(table, b)]), folder / name)


def _batch(b: int) -> str:
    return f"part-b{b:012d}-000.parquet"


def killed_output(out: Path) -> None:
    """Batches 0-2 complete; a compaction of 0-1 killed between its merged file and the removal
    of the batch files; batch 3 killed in the middle of its writes (no batch_totals row); batch 4
    being written (hidden names)."""
    for table in TABLES_READ:
        _write(out, table, "part-c000000000000-000000000001.parquet", [0, 1])
        for b in (0, 1, 2):
            _write(out, table, _batch(b), [b])
        if table != "batch_totals":
            _write(out, table, _batch(3), [3])
        _write(out, table, f".{_batch(4)}.partial", [4])
    staging = out / "state_stats" / "_staging" / "b4"
    staging.mkdir(parents=True)
    pq.write_table(_arrow("state_stats", _rows("state_stats", 4)), staging / "part-00000.parquet")


def _seen(rows: list[dict], table: str) -> Counter:
    key = {"batch_totals": "batch_id", "state_stats": "state", "readings": "guid"}[table]
    return Counter((r["batch_id"], r[key]) for r in rows)


def expected(table: str, batches: range = range(3)) -> Counter:
    return _seen([r for b in batches for r in _rows(table, b)], table)


def test_every_reader_sees_each_complete_batch_once_after_kills(spark, tmp_path):
    out = tmp_path / "out"
    killed_output(out)
    register_views(spark, str(out))
    for table in TABLES_READ:
        want = expected(table)
        assert _seen(read_committed(out, table).to_pylist(), table) == want, table
        assert _seen(Tables(out).query(f"SELECT * FROM {table}"), table) == want, table
        assert _seen([r.asDict() for r in spark.sql(f"SELECT * FROM {table}").collect()],
                     table) == want, table
        assert _seen([r.asDict() for r in read_table(spark, str(out), table).collect()],
                     table) == want, table
        assert _seen(quality.read_table(out, table), table) == want, table
    assert _seen(realdata.read_table(out, "readings", ["batch_id", "guid"]).to_pylist(),
                 "readings") == expected("readings")
    taken = train.read_readings(str(out), None, -100.0, 200.0)  # no batch_id: by offset
    assert Counter(taken["kafka_offset"].to_pylist()) == Counter(
        10 * b + n for b in range(3) for n in range(2))
    # What the rule is for: a plain read of the folder counts batches 0-1 twice and batch 3.
    plain = [r.asDict() for r in spark.read.parquet(str(out / "state_stats")).collect()]
    assert _seen(plain, "state_stats") == expected("state_stats") + expected(
        "state_stats", range(2)) + expected("state_stats", range(3, 4))


def test_through_hadoops_file_system_the_rule_and_the_merge_are_the_same(spark, tmp_path,
                                                                         monkeypatch):
    # The branch an output on hdfs:// or s3a:// takes (every call through Hadoop's FileSystem),
    # taken here on a local folder: the output is not seen as local.
    monkeypatch.setattr(tables, "local_path", lambda _: None)
    out = tmp_path / "out"
    killed_output(out)
    rows = [r.asDict() for r in read_table(spark, str(out), "state_stats").collect()]
    assert _seen(rows, "state_stats") == expected("state_stats")
    sink = ParquetSink(str(out))
    sink.finish_compactions(spark)  # as the next start does: the merge cut short finished
    for table in TABLES_READ:
        assert sorted(p.name for p in (out / table / DAY).iterdir()) == sorted(
            ["part-c000000000000-000000000001.parquet", _batch(2)]
            + ([] if table == "batch_totals" else [_batch(3)])), table
    _write(out, "batch_totals", _batch(3), [3])  # batch 3 complete, then merged with batch 2
    assert sink.compact(spark, 3) == 6
    for table in TABLES_READ:  # (Hadoop's local file system keeps a hidden checksum beside)
        assert sorted(p.name for p in (out / table / DAY).iterdir()
                      if not p.name.startswith(".")) == [
            "part-c000000000000-000000000001.parquet",
            "part-c000000000002-000000000003.parquet"], table
        rows = [r.asDict() for r in read_table(spark, str(out), table).collect()]
        assert _seen(rows, table) == expected(table, range(4)), table


def _batches(out: Path, ids: range) -> None:
    for b in ids:
        for table in TABLES_READ:
            _write(out, table, _batch(b), [b])


def test_a_merge_runs_beside_the_stream_and_every_reader_sees_each_batch_once(
        spark, tmp_path, monkeypatch):
    out = tmp_path / "out"
    _batches(out, range(5))
    merges = []
    compactor = Compactor(ParquetSink(str(out)), 4, merges.append)
    assert compactor.after_commit(spark, 3) == [] and not compactor.running()  # not due
    monkeypatch.setenv(PAUSE_ENV, "4")  # per folder, between its merged file and the removals
    assert compactor.after_commit(spark, 4) == []  # returns at once: the merge runs on
    assert compactor.running()
    folder = out / "batch_totals" / DAY
    deadline = time.monotonic() + 60
    while not (folder / "part-c000000000000-000000000003.parquet").exists():
        assert compactor.running() and time.monotonic() < deadline
        time.sleep(0.01)
    # The merged file and the batch files it holds, side by side: each batch once all the same.
    assert (folder / _batch(0)).exists()
    for table in TABLES_READ:
        assert _seen(read_committed(out, table).to_pylist(), table) == expected(table, range(5))
        assert _seen(Tables(out).query(f"SELECT * FROM {table}"), table) == expected(
            table, range(5))
    assert compactor.close() == merges and len(merges) == 1  # waits for it, then reports it
    assert sorted(p.name for p in folder.iterdir()) == [
        _batch(4), "part-c000000000000-000000000003.parquet"]
    for table in TABLES_READ:
        merged = pq.read_table(out / table / DAY / "part-c000000000000-000000000003.parquet")
        assert _seen(merged.to_pylist(), table) == expected(table, range(4))
    [ended] = merges
    assert (ended.upto, ended.files, ended.error) == (3, 12, None)
    assert compactor.after_commit(spark, 8) == [] and not compactor.running()  # closed


def test_a_merge_that_fails_leaves_every_file_and_the_next_one_takes_them(spark, tmp_path):
    out = tmp_path / "out"
    _batches(out, range(5))
    day = out / "readings" / DAY
    broken = day / _batch(1)
    good = broken.read_bytes()
    broken.write_bytes(b"not parquet")
    merges = []
    compactor = Compactor(ParquetSink(str(out)), 2, merges.append)
    compactor.after_commit(spark, 2)
    compactor._thread.join()
    [failed] = compactor.after_commit(spark, 3)  # reported by the next batch, which goes on
    assert failed.upto == 1 and isinstance(failed.error, Exception) and merges == [failed]
    assert "failed" in describe(failed) and "next merge takes them again" in describe(failed)
    assert sorted(p.name for p in day.iterdir()) == [_batch(b) for b in range(5)]
    broken.write_bytes(good)
    compactor.after_commit(spark, 4)  # the next merge: batches 0-3, the failed ones too
    [merged] = compactor.close()
    assert merged.error is None and merged.upto == 3
    assert sorted(p.name for p in day.iterdir()) == [
        _batch(4), "part-c000000000000-000000000003.parquet"]
    assert _seen(read_committed(out, "readings").to_pylist(), "readings") == expected(
        "readings", range(5))


def test_a_local_merge_leaves_no_checksum_behind(spark, tmp_path):
    # The batches' files are written through Hadoop's local file system, which keeps a checksum
    # beside each (.<name>.crc); the merge reads and removes them with Python's own calls.
    sink = ParquetSink(str(tmp_path / "out"))
    for b in range(3):
        sink.write_small(spark, "batch_totals", b, date(2026, 1, 1),
                         _arrow("batch_totals", _rows("batch_totals", b)))
    folder = tmp_path / "out" / "batch_totals" / DAY
    assert {p.name for p in folder.iterdir()} >= {f".{_batch(0)}.crc", _batch(0)}
    assert sink.compact(spark, 2) == 3
    assert [p.name for p in folder.iterdir()] == ["part-c000000000000-000000000002.parquet"]
    orphan = folder / f".{_batch(7)}.crc"  # left by a merge of an earlier version
    orphan.write_bytes(b"")
    sink.finish_compactions(spark)
    assert not orphan.exists()
