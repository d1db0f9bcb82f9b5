"""Readings from real fleets through the job's streaming query: broken clocks (the event-time
policy), re-sent readings (duplicates) and sensors whose level moves for good (level_shift)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import ROOT, configured
from sparkdata import BANDS, event, kafka_records
from streamrun import job_config, job_run, run_batches
from tables import table_rows
from times import T0, after, parse_iso

FUTURE = event("broken-clock", "CA", 61.0, "2099-01-01T00:00:00.000000Z")


def rows(out: Path, table: str, *columns: str) -> list[tuple]:
    """The table's `columns`, one tuple a row, sorted."""
    return sorted(tuple(r[c] for c in columns) for r in table_rows(out, table))


@pytest.fixture(scope="module")
def fleet_lines() -> list[str]:
    """10,000 simulator readings from 100 sensors over 500 s of event time from T0, some of them
    going silent."""
    return subprocess.run(
        [sys.executable, str(ROOT / "iotsimulator.py"), "10000", "--seed", "5", "--sensors", "100",
         "--event-interval", "0.05", "--silent-rate", "0.002", "--start-time", after(0)],
        check=True, capture_output=True, text=True).stdout.splitlines()


def test_a_2099_reading_changes_no_watermark_window_or_silence_and_is_quarantined(
        spark, tmp_path, fleet_lines):
    chunks = [fleet_lines[i:i + 2500] for i in range(0, 10_000, 2500)]
    plain = [kafka_records(spark, c, first_offset=2500 * i) for i, c in enumerate(chunks)]
    # The same stream with one reading stamped 2099 a third of the way in, produced (Kafka's
    # timestamp) when the readings around it were.
    broken = list(plain)
    sent = parse_iso(chunks[1][0].split('"eventTime": "')[1][:26] + "Z")
    broken[1] = plain[1].unionByName(kafka_records(spark, [FUTURE], first_offset=99_999,
                                                   produced_at=sent))
    run_batches(spark, tmp_path / "plain", plain, watermark_seconds=30.0)
    run_batches(spark, tmp_path / "broken", broken, watermark_seconds=30.0)

    def same(table: str, *columns: str) -> list[tuple]:
        got = rows(tmp_path / "broken", table, *columns)
        assert got == rows(tmp_path / "plain", table, *columns), table
        return got

    marks = same("batch_totals", "batch_id", "watermark", "late", "messages", "accepted")
    assert marks[-1][1] == datetime(2026, 1, 1, 0, 7, 49, 950000)  # 499.95 s less 30 s
    assert sum(m[2] for m in marks) == 0
    assert len(same("window_stats", "window_start", "state", "messages", "avg_temperature")) > 50
    silent = same("anomalies", "batch_id", "guid", "event_time", "detector")
    assert [s for s in silent if s[3] == "silent"]  # sensors did go silent, in both runs

    broken_out = tmp_path / "broken"
    assert rows(broken_out, "quarantine", "batch_id", "kafka_offset", "reason") == [
        (1, 99_999, "bad_value:eventTime_future")]
    assert rows(broken_out, "clock_errors", "batch_id", "guid", "error", "action",
                "readings") == [(1, "broken-clock", "future", "quarantined", 1)]
    [totals] = [t for t in table_rows(broken_out, "batch_totals") if t["batch_id"] == 1]
    assert (totals["consumed"], totals["accepted"], totals["quarantined"],
            totals["duplicates"]) == (2501, 2500, 1, 0)


def test_the_adjust_policy_takes_the_kafka_timestamp_as_event_time(spark, tmp_path):
    produced = T0 + timedelta(seconds=40)
    records = kafka_records(spark, [event("a", "CA", 60.0, after(10)), FUTURE,
                                    event("old", "CA", 59.0, "2025-06-01T00:00:00.000000Z")],
                            produced_at=produced)
    text = run_batches(spark, tmp_path / "out", [records], bands=BANDS, time_policy="adjust",
                       max_past_seconds=604800.0, watermark_seconds=30.0)
    out = tmp_path / "out"
    [t] = rows(out, "batch_totals", "consumed", "accepted", "quarantined", "time_adjusted",
               "watermark")
    assert t == (3, 3, 0, 2, datetime(2026, 1, 1, 0, 0, 10))  # the Kafka timestamp less 30 s
    assert rows(out, "sensors", "guid", "first_event_time") == [
        ("a", datetime(2026, 1, 1, 0, 0, 10)), ("broken-clock", datetime(2026, 1, 1, 0, 0, 40)),
        ("old", datetime(2026, 1, 1, 0, 0, 40))]
    assert rows(out, "clock_errors", "guid", "error", "action", "latest_event_time") == [
        ("broken-clock", "future", "adjusted", datetime(2099, 1, 1)),
        ("old", "past", "adjusted", datetime(2025, 6, 1))]
    assert "3 accepted (2 time-adjusted: in clock_errors)" in text


def test_re_sends_are_counted_once_across_batches_restarts_and_a_replay(spark, tmp_path):
    out = tmp_path / "out"
    first = [event("a", "CA", 60.0 + i, after(i)) for i in range(1, 6)] + [
        event("b", "AK", 20.0 + i, after(i)) for i in range(1, 4)]
    second = [
        event("a", "CA", 62.0, after(2)),  # a re-send of batch 0's reading
        event("a", "CA", 99.0, after(3)),  # the same sensor and time, another value: a conflict
        event("b", "AK", 30.0, after(4)), event("b", "AK", 30.0, after(4)),  # twice in one batch
        event("a", "CA", 66.0, after(6)),
    ]
    text = run_batches(spark, out, [kafka_records(spark, first),
                                    kafka_records(spark, second, first_offset=8)], bands=BANDS)
    # A crash after batch 1 wrote its files: it runs again from the state before it.
    job_run(spark, job_config(out, bands=BANDS))(kafka_records(spark, second, first_offset=8), 1)

    assert rows(out, "duplicates", "batch_id", "guid", "event_time", "temperature", "kind",
                "kept_temperature", "kafka_offset") == [
        (1, "a", datetime(2026, 1, 1, 0, 0, 2), 62.0, "resend", 62.0, 8),
        (1, "a", datetime(2026, 1, 1, 0, 0, 3), 99.0, "conflict", 63.0, 9),
        (1, "b", datetime(2026, 1, 1, 0, 0, 4), 30.0, "resend", 30.0, 11)]
    assert rows(out, "batch_totals", "batch_id", "consumed", "accepted", "quarantined",
                "duplicates", "conflicts", "messages") == [
        (0, 8, 8, 0, 0, 0, 8), (1, 5, 2, 0, 3, 1, 2)]
    stats = [r for r in table_rows(out, "state_stats") if r["batch_id"] == 1]
    assert sorted((r["state"], r["messages"], r["avg_temperature"]) for r in stats) == [
        ("AK", 1, 30.0), ("CA", 1, 66.0)]
    assert "Ledger: 5 records read = 2 accepted + 0 quarantined + 3 duplicates (1 conflicting)" \
        in text


def test_a_sensor_that_moves_for_good_is_one_level_shift_and_then_normal(spark, tmp_path):
    steady = [60.0, 61.0, 60.5, 59.5, 60.0, 61.0, 60.5, 59.5, 60.0, 61.0, 60.5, 60.0]
    moved = [v + 20.0 for v in steady]
    shift = 10  # readings in a row that make a new level (its score is their mean's move)
    batches = [[event("s", "CA", v, after(i)) for i, v in enumerate(steady)],
               [event("s", "CA", v, after(20 + i)) for i, v in enumerate(moved)],
               [event("s", "CA", v, after(40 + i)) for i, v in enumerate(moved)]]
    out = tmp_path / "out"
    run_batches(spark, out, [kafka_records(spark, b, first_offset=20 * i)
                             for i, b in enumerate(batches)],
                bands=BANDS, detectors=configured().detectors.only("zscore", "level_shift")
                .changed("level_shift", readings=shift))
    found = sorted(table_rows(out, "anomalies"), key=lambda r: r["detector"])
    # Judged by the batch after the one that brought them (the rules' clock then passes them).
    assert [(r["batch_id"], r["detector"], r["reason"], r["event_time"], r["temperature"])
            for r in found] == [
        (2, "level_shift", "up", datetime(2026, 1, 1, 0, 0, 20), 80.0),
        (2, "zscore", "high", datetime(2026, 1, 1, 0, 0, 20), 80.0)]
    [score] = [r["score"] for r in found if r["detector"] == "level_shift"]
    assert score == pytest.approx(sum(moved[:shift]) / shift - sum(steady) / 12)


def test_band_reports_a_sensor_s_run_out_of_band_once(spark, tmp_path):
    # CA's band is 45..75. s goes above it, is back in band for one reading (not enough: the run
    # goes on), reads an impossible value and then above the band again (two new reasons), is
    # back in band for 10 readings (the run is over) and above it again. t stays above the band
    # across two batches.
    values = [60.0, 80.0, 81.0, 60.0, 82.0, 500.0, 84.0] + [60.0] * 9
    first = [event("s", "CA", v, after(i)) for i, v in enumerate(values)] + [
        event("t", "CA", 90.0, after(i)) for i in range(3)]
    second = [event("s", "CA", 60.5, after(20)), event("s", "CA", 85.0, after(21)),
              event("t", "CA", 91.0, after(20))]
    out = tmp_path / "out"
    run_batches(spark, out, [kafka_records(spark, first), kafka_records(spark, second,
                                                                        first_offset=20)],
                last=True, bands=BANDS, detectors=configured().detectors.only("band", "silent"))
    # Each batch's readings are judged by the next (the input's end: by the batch after it).
    assert rows(out, "anomalies", "batch_id", "guid", "event_time", "reason") == [
        (1, "s", datetime(2026, 1, 1, 0, 0, 1), "above_band"),
        (1, "s", datetime(2026, 1, 1, 0, 0, 5), "impossible"),
        (1, "s", datetime(2026, 1, 1, 0, 0, 6), "above_band"),
        (1, "t", datetime(2026, 1, 1, 0, 0, 0), "above_band"),
        (2, "s", datetime(2026, 1, 1, 0, 0, 21), "above_band")]


def test_readings_are_the_same_through_the_driver_and_written_by_spark(
        spark, tmp_path, monkeypatch):
    """A batch of up to READINGS_DRIVER_ROWS accepted readings brings them with the side pass
    and the driver writes them; a larger one has Spark write them: the same rows either way,
    each accepted reading once, with the zscore band it was judged by."""
    from iotstream import compute

    lines = subprocess.run(
        [sys.executable, str(ROOT / "iotsimulator.py"), "5000", "--seed", "8", "--sensors", "100",
         "--event-interval", "0.05", "--anomaly-rate", "0.01", "--start-time", after(0)],
        check=True, capture_output=True, text=True).stdout.splitlines()
    chunks = [lines[i:i + 2500] for i in range(0, 5000, 2500)]

    def readings(name: str) -> list[tuple]:
        batches = [kafka_records(spark, c, first_offset=2500 * i) for i, c in enumerate(chunks)]
        run_batches(spark, tmp_path / name, batches)
        return rows(tmp_path / name, "readings", "batch_id", "guid", "event_time",
                    "temperature", "late", "zscore_mean", "zscore_low", "zscore_high",
                    "kafka_partition", "kafka_offset")

    driver = readings("driver")
    monkeypatch.setattr(compute, "READINGS_DRIVER_ROWS", 0)
    assert readings("spark") == driver
    assert len(driver) == 5000 and len({(r[1], r[2]) for r in driver}) == 5000
    # A reading's band is the one of the history the rules judged when it came: none in batch 0
    # (nothing judged yet); in batch 1, the sensor's batch-0 readings are judged first (the
    # rules' clock passes them): every sensor with min_history of them (conf/job.toml's zscore
    # settings) has a band, mean ± threshold sd, its mean inside their range.
    zscore = configured().detectors["zscore"]
    first: dict[str, list[float]] = {}
    for r in driver:
        if r[0] == 0:
            first.setdefault(r[1], []).append(r[3])
    assert all(r[6] is None for r in driver if r[0] == 0)
    banded = [r for r in driver if r[0] == 1 and len(first.get(r[1], ())) >= zscore["min_history"]]
    assert len(banded) > 2000
    for r in banded:
        mean, low, high = r[5:8]
        assert min(first[r[1]]) <= mean <= max(first[r[1]])
        assert high - mean == pytest.approx(mean - low)
        assert (high - mean) / zscore["threshold"] >= zscore["min_sigma"] - 1e-9
