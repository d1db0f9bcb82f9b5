"""The console block: plain text rendering, no Spark."""

from __future__ import annotations

from datetime import UTC, datetime

from iotstream.console import (
    BatchReport,
    format_table,
    render,
    side_by_side,
)


def test_format_table_aligns_numbers_right_and_text_left():
    lines = format_table(["state", "avg"], [("CA", 59.456), ("DC", 7.0)])
    assert lines == ["state    avg", "-----  -----", "CA     59.46", "DC      7.00"]


def test_side_by_side_pads_the_shorter_block():
    assert side_by_side(["ab", "c"], ["x"], gap=2) == ["ab  x", "c"]


def _report(anomalies_total: int, shown: list[dict]) -> BatchReport:
    stats = [
        {"state": "TX", "avg_temperature": 65.0, "min_temperature": 60.0,
         "max_temperature": 70.0, "messages": 1200, "sensors": 3},
        {"state": "AK", "avg_temperature": 26.5, "min_temperature": 20.0,
         "max_temperature": 33.0, "messages": 4, "sensors": 2},
    ]
    totals = {"consumed": 1205, "accepted": 1204, "quarantined": 1, "messages": 1204,
              "running_messages": 5000, "sensors": 5, "states": 2, "anomalies": anomalies_total,
              "late": 2, "total_sensors": 9, "watermark": datetime(2026, 1, 2, 3, 0, 30)}
    since = [{"state": "AK", "sensors": 4, "avg_temperature": 25.25},
             {"state": "TX", "sensors": 5, "avg_temperature": 64.0}]
    return BatchReport(7, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), totals, stats, shown,
                       windows_written=3, state_totals=since)


def test_block_shows_header_totals_and_both_state_tables():
    text = render(_report(0, []))
    lines = text.splitlines()
    assert lines[0].startswith("== Batch 7 · 2026-01-02 03:04:05 UTC ==")
    assert "Messages: 1,204 in batch · 5,000 since start" in lines[1]
    assert "Sensors: 5 in batch · 9 since start" in lines[1] and "States: 2" in lines[1]
    assert ("Ledger: 1,205 records read = 1,204 accepted (2 late: in late_events) + 1 quarantined"
            in text)
    assert "Event time: watermark 2026-01-02 03:00:30 UTC · 3 window rows written" in text
    # Left table hottest first; right table alphabetical by state.
    body = [line for line in lines if line.startswith(("TX", "AK"))]
    assert body[0].split()[:5] == ["TX", "65.00", "60.00", "70.00", "1,200"]
    assert body[0].split()[5:] == ["AK", "2", "4", "25.25"]
    assert body[1].split() == ["AK", "26.50", "20.00", "33.00", "4", "TX", "3", "5", "64.00"]
    assert "Anomalies: none" in text


def test_block_lists_anomalies_and_says_when_some_are_not_shown():
    shown = [{"guid": "g1", "state": "AK", "event_time": datetime(2026, 1, 2, 3, 4, 1),
              "temperature": 999.0, "band_low": 1.0, "band_high": 51.0, "reason": "impossible",
              "detector": "band", "score": 948.0}]
    text = render(_report(3, shown))
    assert "Anomalies (first 1 of 3; all in Parquet)" in text
    row = next(line for line in text.splitlines() if line.startswith("g1"))
    assert row.split() == ["g1", "AK", "2026-01-02", "03:04:01.000000", "999.00", "1.0..51.0",
                           "band", "impossible", "948.00"]


