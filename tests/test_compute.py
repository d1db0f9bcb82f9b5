"""A batch's figures (compute.py) through the job's query: per state, for the whole batch, and
the ledger, against hand-computed values."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from pyspark_test import assert_pyspark_df_equal

from conftest import configured
from iotstream.views import read_table
from sparkdata import BANDS, BATCH_TIME, event, kafka_records
from streamrun import job_config, job_run
from tables import table_rows


@pytest.fixture
def run(spark, tmp_path):
    def make(bands=BANDS):
        # The second test's late records and watermark are worked out for these.
        # Their anomalies are band's (the others find nothing in so few readings).
        return job_run(spark, job_config(tmp_path / "out", bands=bands, window_seconds=60.0,
                                         watermark_seconds=30.0,
                                         detectors=configured().detectors.only("band")))

    return make


def _table(tmp_path, name: str, batch_id: int) -> list[dict]:
    """Batch `batch_id`'s rows of the table, without its batch and date columns."""
    return [{k: v for k, v in r.items() if k not in ("date", "batch_id", "batch_time")}
            for r in table_rows(tmp_path / "out", name) if r["batch_id"] == batch_id]


def test_figures_per_state_and_for_the_whole_batch(spark, tmp_path, run):
    lines = [
        event("a", "CA", 60.0), event("a", "CA", 62.0, "2026-01-01T00:00:02.000000Z"),
        event("b", "CA", 64.0), event("c", "AK", 20.0), event("d", "AK", 30.0),
        event("d", "AK", 99.0, "2026-01-01T00:00:02.000000Z"),
        event("f", "CA", 500.0),  # impossible: a message, an anomaly, but not a temperature
        "not json", event("e", "ZZ", 60.0), None,
    ]
    run()(kafka_records(spark, lines), 0)
    expected = spark.createDataFrame(
        [("AK", 149.0 / 3, 20.0, 99.0, 3, 2, 3), ("CA", 62.0, 60.0, 64.0, 4, 3, 3)],
        "state string, avg_temperature double, min_temperature double, max_temperature double, "
        "messages long, sensors long, readings long")
    actual = read_table(spark, str(tmp_path / "out"), "state_stats").drop(
        "batch_id", "batch_time", "date")
    assert_pyspark_df_equal(actual, expected, check_column_names=True,
                            check_columns_in_order=True, order_by=["state"])
    [totals] = _table(tmp_path, "batch_totals", 0)
    assert {k: totals[k] for k in ("messages", "sensors", "states", "consumed", "accepted",
                                   "quarantined", "late", "total_sensors")} == {
        "messages": 7, "sensors": 5, "states": 2, "consumed": 10, "accepted": 7,
        "quarantined": 3, "late": 0, "total_sensors": 5}
    # The rules judge a reading once the rules' clock reaches it: none in the first batch. Its
    # clock, 00:00:02 (the latest reading), has passed every reading of it: the next batch's
    # timers judge d's and f's: band finds 99 above AK's band and 500 impossible.
    assert totals["anomalies"] == 0
    assert totals["judged_until"] == datetime(2026, 1, 1, 0, 0, 2)
    run()(kafka_records(spark, [event("g", "CA", 60.0, "2026-01-01T00:00:05.000000Z")],
                        first_offset=10), 1)
    [totals] = _table(tmp_path, "batch_totals", 1)
    assert totals["judged_until"] == datetime(2026, 1, 1, 0, 0, 5)
    found = sorted((r["guid"], r["temperature"], r["reason"]) for r in _table(tmp_path, "anomalies", 1))
    assert found == [("d", 99.0, "above_band"), ("f", 500.0, "impossible")]


def test_late_records_count_as_messages_and_states_hottest_first(spark, tmp_path, run):
    baselines = {**BANDS.baselines, "HI": 70.0}
    run_batch = run(replace(BANDS, baselines=baselines))
    # Batch 0 moves the watermark to 00:01 (00:01:30 less 30 s): window 00:00-00:01 is closed.
    run_batch(kafka_records(spark, [event("w", "CA", 60.0, "2026-01-01T00:01:30.000000Z")]), 0)
    lines = [event("a", "CA", 60.0, "2026-01-01T00:01:30.000000Z"), event("b", "AK", 20.0),
             event("c", "AK", 30.0), event("x", "ZZ", 1.0), event("y", "HI", -999.0)]
    run_batch(kafka_records(spark, lines, first_offset=1), 1)
    [totals] = _table(tmp_path, "batch_totals", 1)
    assert {k: totals[k] for k in ("consumed", "accepted", "quarantined", "late", "messages",
                                   "sensors", "states", "anomalies")} == {
        "consumed": 5, "accepted": 4, "quarantined": 1, "late": 3, "messages": 4,
        "sensors": 4, "states": 3, "anomalies": 1}
    assert totals["watermark"] == datetime(2026, 1, 1, 0, 1)
    text = run_batch.processor.out.getvalue()
    assert "== Batch 1 · " + BATCH_TIME.strftime("%Y-%m-%d %H:%M:%S UTC") in text
    # Hottest first; HI had only an impossible reading: no temperature figures, listed last.
    stats = _table(tmp_path, "state_stats", 1)
    assert sorted(stats, key=lambda r: r["state"]) == [
        {"state": "AK", "avg_temperature": 25.0, "min_temperature": 20.0, "max_temperature": 30.0,
         "messages": 2, "sensors": 2, "readings": 2},
        {"state": "CA", "avg_temperature": 60.0, "min_temperature": 60.0, "max_temperature": 60.0,
         "messages": 1, "sensors": 1, "readings": 1},
        {"state": "HI", "avg_temperature": None, "min_temperature": None, "max_temperature": None,
         "messages": 1, "sensors": 1, "readings": 0},
    ]
    table = text[text.index("== Batch 1"):].splitlines()
    order = [line.split()[0] for line in table if line[:2] in ("CA", "AK", "HI")]
    assert order[:3] == ["CA", "AK", "HI"]
