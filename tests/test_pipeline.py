"""The per-batch handler on batch DataFrames: Parquet tables, running totals, console block."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from iotstream.schema import TABLES
from iotstream.views import REPORTS, register_views
from sparkdata import BANDS, BATCH_TIME, PRODUCED_AT, event, kafka_records
from streamrun import StreamRun, job_config, job_run
from tables import table_rows

CLOCK = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)  # used only for a batch with no rows

BATCH_0 = [event("a", "CA", 60.0), event("a", "CA", 70.0, "2026-01-01T00:00:02.000000Z"),
           event("b", "AK", 26.0), event("c", "AK", 90.0), "not json"]
# a's reading of batch 0 sent again (a duplicate), and f's clock 73 years ahead (quarantined).
BATCH_1 = [event("a", "CA", 62.0, "2026-01-01T00:00:03.000000Z"), event("d", "CA", 999.0),
           event("e", "AK", 20.0), event("a", "CA", 60.0),
           event("f", "CA", 61.0, "2099-01-01T00:00:00.000000Z")]


def batch_1(spark, **options):
    """BATCH_1 as Kafka records produced on 2026-01-01 (f's clock is off)."""
    return kafka_records(spark, BATCH_1, produced_at=PRODUCED_AT, **options)


@pytest.fixture
def processor_factory(spark, tmp_path):
    config = job_config(tmp_path / "out", bands=BANDS, max_anomaly_rows=1)

    def make() -> tuple[StreamRun, io.StringIO]:
        """A new process of the job: its query runs the handler on the given batches."""
        out = io.StringIO()
        return job_run(spark, config, out, clock=lambda: CLOCK), out

    return make, tmp_path / "out"


def _running(out: Path) -> dict[int, int]:
    """batch_totals' running total of messages by batch."""
    return {t["batch_id"]: t["running_messages"] for t in table_rows(out, "batch_totals")}


def test_two_batches_write_every_table(spark, processor_factory):
    make, out = processor_factory
    processor, console = make()
    processor(kafka_records(spark, BATCH_0), 0)
    processor(batch_1(spark, first_offset=5), 1)

    written = {t for t in TABLES if (out / t).exists()}
    # No window closed (every event at the same time) and nothing late.
    assert written == set(TABLES) - {"window_stats", "late_events"}
    for table in written:
        schema = TABLES[table]
        df = spark.read.parquet(str(out / table))  # the schema as written, inferred from files
        assert df.columns == schema.fieldNames() + ["date"], table
        assert [f.dataType for f in df.schema.fields[: len(schema)]] == [
            f.dataType for f in schema.fields], table

    totals = sorted(table_rows(out, "batch_totals"), key=lambda t: t["batch_id"])
    assert [(t["batch_id"], t["messages"], t["running_messages"], t["sensors"], t["states"],
             t["anomalies"]) for t in totals] == [(0, 4, 4, 3, 2, 0), (1, 3, 7, 3, 2, 2)]
    assert {str(t["date"]) for t in totals} == {"2026-05-06"}
    assert all(t["batch_time"] == BATCH_TIME.replace(tzinfo=None) for t in totals)

    stats = {(r["batch_id"], r["state"]): (r["avg_temperature"], r["min_temperature"],
                                           r["max_temperature"], r["messages"], r["sensors"],
                                           r["readings"])
             for r in table_rows(out, "state_stats")}
    assert stats == {
        (0, "CA"): (65.0, 60.0, 70.0, 2, 1, 2),
        (0, "AK"): (58.0, 26.0, 90.0, 2, 2, 2),
        (1, "CA"): (62.0, 62.0, 62.0, 2, 2, 1),  # 999 is impossible: not a temperature
        (1, "AK"): (20.0, 20.0, 20.0, 1, 1, 1),
    }

    # The rules judge a reading once the rules' clock (00:00:02 after batch 0) reaches it: c's
    # reading above its band by c's timer in batch 1. d's reading of 00:00:01 comes behind that
    # clock, so band judges it on its own as it comes.
    found = sorted((r["batch_id"], r["guid"], r["temperature"], r["reason"])
                   for r in table_rows(out, "anomalies"))
    assert found == [(1, "c", 90.0, "above_band"), (1, "d", 999.0, "impossible")]

    text = console.getvalue()
    assert "== Batch 0 · 2026-05-06 07:08:09 UTC" in text  # Spark's batch time, not the clock
    assert "Messages: 4 in batch · 4 since start" in text
    assert "Messages: 3 in batch · 7 since start" in text
    assert "Ledger: 5 records read = 4 accepted + 1 quarantined + 0 duplicates" in text
    assert "Ledger: 5 records read = 3 accepted + 1 quarantined + 1 duplicates" in text
    [dup] = table_rows(out, "duplicates")
    assert (dup["batch_id"], dup["guid"], dup["event_time"], dup["temperature"], dup["kind"],
            dup["kafka_offset"]) == (1, "a", datetime(2026, 1, 1, 0, 0, 1), 60.0, "resend", 8)
    [clock] = table_rows(out, "clock_errors")
    skew = (datetime(2099, 1, 1) - datetime(2026, 1, 1)).total_seconds()
    assert (clock["guid"], clock["error"], clock["action"], clock["readings"],
            clock["max_skew_seconds"], clock["latest_event_time"]) == (
        "f", "future", "quarantined", 1, skew, datetime(2099, 1, 1))
    [q] = [q for q in table_rows(out, "quarantine") if q["batch_id"] == 1]
    assert (q["kafka_offset"], q["reason"]) == (9, "bad_value:eventTime_future")


def test_running_total_continues_after_a_restart(spark, processor_factory):
    make, out = processor_factory
    first, _ = make()
    first(kafka_records(spark, BATCH_0), 0)
    restarted, console = make()  # a new process: nothing in memory, only the Parquet output
    restarted(batch_1(spark), 1)
    assert _running(out) == {0: 4, 1: 7}
    assert "Messages: 3 in batch · 7 since start" in console.getvalue()


def test_console_lists_at_most_the_configured_anomalies(spark, processor_factory):
    make, out = processor_factory
    processor, console = make()
    lines = [event("x", "CA", 500.0), event("y", "CA", -500.0), event("z", "CA", 100.0)]
    processor(kafka_records(spark, lines), 0, last=True)  # judged once the input ends
    text = console.getvalue()
    assert "Anomalies (first 1 of 3; all in Parquet)" in text
    assert sum(a["batch_id"] == 1 for a in table_rows(out, "anomalies")) == 3


def test_an_empty_batch_writes_zero_totals_and_keeps_the_running_total(spark, processor_factory):
    make, out = processor_factory
    processor, console = make()
    processor(kafka_records(spark, BATCH_0), 0)
    processor(kafka_records(spark, []), 1)
    restarted, _ = make()
    restarted(batch_1(spark), 2)  # a new process: continues from batch 1's rows
    totals = {r["batch_id"]: (r["messages"], r["running_messages"], r["sensors"], r["anomalies"])
              for r in table_rows(out, "batch_totals")}
    # c's reading above its band is judged by batch 1 (no record: c's timer); d's by batch 2.
    assert totals == {0: (4, 4, 3, 0), 1: (0, 4, 0, 1), 2: (3, 7, 3, 1)}
    assert sum(s["batch_id"] == 1 for s in table_rows(out, "state_stats")) == 0
    assert "Messages: 0 in batch · 4 since start" in console.getvalue()


def test_sql_views_and_canned_reports_over_the_output(spark, processor_factory):
    make, out = processor_factory
    processor, _ = make()
    processor(kafka_records(spark, [event("a", "CA", 60.0), event("b", "CA", 999.0)]), 0)
    processor(kafka_records(spark, [event("a", "CA", 70.0, "2026-01-01T00:00:02.000000Z"),
                                    event("c", "CA", 74.0)]), 1, last=True)
    found = register_views(spark, str(out))
    # Nothing quarantined or late; the end of the input closes the window.
    assert set(found) == {"state_stats", "batch_totals", "anomalies", "state_totals", "sensors",
                          "readings", "window_stats"}
    # Every accepted reading, as sent; no sensor has the history zscore needs yet.
    readings = spark.sql("SELECT batch_id, guid, temperature, late, zscore_low FROM readings")
    assert sorted(map(tuple, readings.collect())) == [
        (0, "a", 60.0, False, None), (0, "b", 999.0, False, None),
        (1, "a", 70.0, False, None), (1, "c", 74.0, False, None)]
    # How long each batch took until its totals were written: more than nothing, less than a run.
    seconds = [r.seconds for r in spark.sql("SELECT seconds FROM batch_totals").collect()]
    assert len(seconds) == 3 and all(0 < s < 600 for s in seconds)  # with the input's end
    results = {title: spark.sql(sql).collect() for title, sql in REPORTS.items()}
    by_state = results["All batches by state"]
    # Weighted by plausible readings: (60 + 70 + 74) / 3, not by messages (4).
    assert [(r.state, r.avg_temperature, r.messages) for r in by_state] == [("CA", 68.0, 4)]
    assert [(r.batches, r.accepted, r.sensors, r.anomalies)
            for r in results["Totals"]] == [(3, 4, 3, 1)]
    assert [(r.state, r.messages, r.sensors, r.avg_temperature)
            for r in results["Since the start, by state"]] == [("CA", 4, 3, 68.0)]
    assert [(r.detector, r.reason, r.anomalies) for r in results["Anomalies by detector"]] == [
        ("band", "impossible", 1)]


def test_views_exist_for_tables_not_written_yet(spark, processor_factory):
    make, out = processor_factory
    processor, _ = make()
    processor(kafka_records(spark, [event("a", "CA", 60.0)]), 0)  # no anomaly: no such table
    assert register_views(spark, str(out)) == ["state_stats", "batch_totals", "state_totals",
                                               "sensors", "readings"]
    assert spark.sql("SELECT count(*) FROM anomalies").collect()[0][0] == 0
    assert spark.sql("SELECT count(*) FROM quarantine").collect()[0][0] == 0
    assert [r.state for r in spark.sql(REPORTS["Anomalies by state"]).collect()] == []


def test_a_replayed_batch_replaces_its_rows_instead_of_adding_them(spark, processor_factory):
    make, out = processor_factory
    first, _ = make()
    first(kafka_records(spark, BATCH_0), 0)
    first(batch_1(spark), 1)
    # A crash after batch 1 wrote its files but before Spark committed it: the restarted job
    # runs batch 1 again, with the same records.
    restarted, _ = make()
    restarted(batch_1(spark), 1)
    counts = {t: Counter(r["batch_id"] for r in table_rows(out, t)) for t in TABLES
              if (out / t).exists()}
    assert dict(counts["batch_totals"]) == {0: 1, 1: 1}
    assert dict(counts["state_stats"]) == {0: 2, 1: 2}
    assert dict(counts["anomalies"]) == {1: 2}  # c's and d's (test above)
    assert dict(counts["quarantine"]) == {0: 1, 1: 1}
    assert dict(counts["duplicates"]) == {1: 1}
    assert _running(out) == {0: 4, 1: 7}
    files = sorted(p.name for p in (out / "batch_totals").rglob("*.parquet"))
    assert files == ["part-b000000000000-000.parquet", "part-b000000000001-000.parquet"]


def test_every_record_is_accepted_or_quarantined(spark, processor_factory):
    make, out = processor_factory
    processor, console = make()
    lines = [event("a", "CA", 60.0), "junk", None, b"\xff", "", event("b", "ZZ", 1.0),
             event("c", "AK", 20.0)]
    processor(kafka_records(spark, lines, partition=2, first_offset=50), 0)
    total = table_rows(out, "batch_totals")[0]
    assert (total["consumed"], total["accepted"], total["quarantined"]) == (7, 2, 5)
    assert total["consumed"] == total["accepted"] + total["quarantined"]
    quarantine = sorted(table_rows(out, "quarantine"), key=lambda q: q["kafka_offset"])
    assert [(q["kafka_partition"], q["kafka_offset"], q["reason"]) for q in quarantine] == [
        (2, 51, "not_json"), (2, 52, "null_value"), (2, 53, "not_utf8"), (2, 54, "empty"),
        (2, 55, "unknown_state"),
    ]
    assert [q["raw"] for q in quarantine] == ["junk", None, "base64:/w==", "", event("b", "ZZ", 1.0)]
    assert "Ledger: 7 records read = 2 accepted + 5 quarantined + 0 duplicates" in console.getvalue()


def test_a_replay_with_fewer_rows_leaves_none_of_the_earlier_ones(spark, processor_factory):
    # E.g. the bands were widened before the restart: the replay finds no anomaly this time.
    # (b's reading is judged in batch 1: the rules' clock is then at it, 00:00:01.)
    make, out = processor_factory
    first, _ = make()
    first(kafka_records(spark, [event("a", "CA", 60.0)]), 0)
    first(kafka_records(spark, [event("a", "CA", 60.0, "2026-01-01T00:00:05.000000Z"),
                                event("b", "CA", 99.0), "junk"], first_offset=1), 1)
    assert len(table_rows(out, "anomalies")) == 1
    assert len(table_rows(out, "quarantine")) == 1
    replay, _ = make()
    replay(kafka_records(spark, [event("a", "CA", 60.0, "2026-01-01T00:00:05.000000Z"),
                                 event("b", "CA", 61.0)], first_offset=1), 1)
    assert len(table_rows(out, "anomalies")) == 0
    assert len(table_rows(out, "quarantine")) == 0
    totals = table_rows(out, "batch_totals")
    assert sorted((t["batch_id"], t["messages"], t["anomalies"], t["quarantined"])
                  for t in totals) == [(0, 1, 0, 0), (1, 2, 0, 0)]


def test_compaction_merges_the_batches_before_and_changes_no_row(spark, tmp_path):
    # Batch 2: batch 0's readings 10 s later (the same again would be duplicates), c's from
    # another sensor (c's would go on with its run out of band: no new band finding).
    later = [line.replace("T00:00:0", "T00:00:1").replace('"guid": "c"', '"guid": "c2"')
             for line in BATCH_0]
    batches = [BATCH_0, BATCH_1 + ["junk"], later, BATCH_1]

    def run(out: Path, every: int, ids: range) -> None:
        config = job_config(out, bands=BANDS, compact_every_batches=every)
        run_batch = job_run(spark, config, clock=lambda: CLOCK)
        for i in ids:
            run_batch(kafka_records(spark, batches[i], first_offset=10 * i,
                                    produced_at=PRODUCED_AT), i)

    def rows(out: Path) -> dict[str, list]:
        """Every table's rows, less batch_totals' `seconds` (how long a batch took)."""
        return {t: sorted((sorted((k, v) for k, v in r.items() if k != "seconds")
                           for r in table_rows(out, t)), key=repr)
                for t in TABLES if (out / t).exists()}

    plain, compacted = tmp_path / "plain", tmp_path / "compacted"
    run(plain, 0, range(3))
    run(compacted, 2, range(2))
    original = next((compacted / "batch_totals").rglob("part-b000000000000-000.parquet"))
    saved = original.read_bytes()
    run(compacted, 2, range(2, 3))  # batch 2 merges batches 0 and 1

    assert rows(compacted) == rows(plain)
    for table in ("batch_totals", "state_stats", "quarantine"):
        names = sorted(p.name for p in (compacted / table).rglob("*.parquet"))
        assert names == ["part-b000000000002-000.parquet",
                         "part-c000000000000-000000000001.parquet"], table
    # One batch file in the range is left as it is: batch 1's (batch 0 judged nothing yet; batch
    # 2's readings are judged by the batch after it).
    assert sorted(p.name for p in (compacted / "anomalies").rglob("*.parquet")) == [
        "part-b000000000001-000.parquet"]

    # A compaction cut short after the merged file was in place: a batch file is back. The next
    # start removes it before anything reads the tables.
    original.write_bytes(saved)
    run(compacted, 2, range(3, 4))
    run(plain, 0, range(3, 4))
    assert rows(compacted) == rows(plain)
    assert not original.exists()
