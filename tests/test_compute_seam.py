"""compute() at the seam: a batch's results from the step's rows as plain data (a static
DataFrame, stepdata.py), no streaming query; and windows.advance() on plain windows."""

from __future__ import annotations

import statistics
from datetime import datetime

import pytest

from conftest import configured
from iotstream import windows
from iotstream.compute import compute
from iotstream.results import JobState
from stepdata import BATCH_TIME, step_rows

T = datetime(2026, 1, 1, 0, 0, 10)
CONFIG = configured().with_overrides(write_readings=False)


def _compute(spark, rows, config=CONFIG, before=None):
    marks: list[str] = []
    result = compute(step_rows(spark, rows), 0, before or JobState(-1), config,
                     lambda: BATCH_TIME, marks.append, lambda: 0.5)
    return result, marks


def _finding(detector, reason, score):
    return {"detector": detector, "reason": reason, "score": score}


def test_every_finding_comes_as_data_whatever_its_detector(spark):
    rows = [
        {"guid": "a", "state": "CA", "event_time": T, "temperature": 60.0},
        # A late reading out of band, judged alone on arrival (BandRule.aside).
        {"guid": "b", "state": "CA", "event_time": T, "temperature": 99.0, "reason": "above_band",
         "late": True, "to_rules": False, "findings": [_finding("band", "above_band", 24.0)]},
        # A reading judged later: two rules found something, one of them unknown to the job.
        {"guid": "c", "state": "AK", "event_time": T, "temperature": 70.0, "kind": "judged",
         "findings": [_finding("zscore", "high", 5.5), _finding("a_rule_added_later", "odd", 1.5)]},
        # A silence, of the sensor's last reading.
        {"guid": "d", "state": "CA", "event_time": T, "temperature": 61.0, "kind": "judged",
         "findings": [_finding("silent", "silent", 600.0)]},
    ]
    result, marks = _compute(spark, rows)
    found = sorted((a["guid"], a["detector"], a["reason"], a["score"], a["temperature"],
                    a["band_low"], a["band_high"]) for a in result.tables["anomalies"].to_pylist())
    assert found == [
        ("b", "band", "above_band", 24.0, 99.0, 45.0, 75.0),
        ("c", "a_rule_added_later", "odd", 1.5, 70.0, 1.0, 51.0),
        ("c", "zscore", "high", 5.5, 70.0, 1.0, 51.0),
        ("d", "silent", "silent", 600.0, 61.0, 45.0, 75.0),
    ]
    [totals] = result.tables["batch_totals"].to_pylist()
    # The rules' own rows are no messages: two readings came, four findings.
    assert (totals["messages"], totals["late"], totals["anomalies"]) == (2, 1, 4)
    assert "detect" in marks


def test_a_batch_where_nothing_is_found_skips_the_side_pass(spark):
    rows = [{"guid": g, "state": "CA", "event_time": T, "temperature": 60.0 + i}
            for i, g in enumerate("abc")]
    result, marks = _compute(spark, rows)
    assert "detect" not in marks and "anomalies" not in result.tables
    [totals] = result.tables["batch_totals"].to_pylist()
    assert (totals["messages"], totals["anomalies"]) == (3, 0)


def test_a_window_rule_judges_a_reading_by_its_window_so_far(spark):
    config = CONFIG.with_overrides(detectors=CONFIG.detectors.changed(
        "three_sigma", enabled=True, k=1.5, min_readings=5))
    before_values = [60.0, 61.0, 59.0, 60.0, 60.0]
    start = datetime(2026, 1, 1)
    open_window = {windows.WINDOW_START: start, "state": "CA", "messages": 5, "readings": 5,
                   "total": sum(before_values), "total_sq": sum(v * v for v in before_values),
                   "low": 59.0, "high": 61.0, "sensors": 1, "revision": None}
    rows = [{"guid": "a", "state": "CA", "event_time": T, "temperature": t} for t in (70.0, 61.5)]
    result, _ = _compute(spark, rows, config, JobState(-1, open_windows=(open_window,)))
    # The window's readings so far, this batch's included: its mean and sample deviation.
    so_far = [*before_values, 70.0, 61.5]
    z = (70.0 - statistics.mean(so_far)) / statistics.stdev(so_far)
    assert z > 1.5 > abs((61.5 - statistics.mean(so_far)) / statistics.stdev(so_far))
    [a] = result.tables["anomalies"].to_pylist()
    assert (a["detector"], a["reason"], a["temperature"]) == ("three_sigma", "high", 70.0)
    assert a["score"] == pytest.approx(z)


def _part(start, state, values, sensors=1):
    return {windows.WINDOW_START: start, "state": state, "messages": len(values),
            "readings": len(values), "total": sum(values), "total_sq": sum(v * v for v in values),
            "low": min(values), "high": max(values), "sensors": sensors}


def test_advance_closes_windows_at_the_clock_and_restates_within_the_horizon():
    w0, w1 = datetime(2026, 1, 1, 0, 0), datetime(2026, 1, 1, 0, 1)
    old = datetime(2025, 12, 31, 23, 30)  # ended within the horizon (3600 s) of the clock
    open_w0 = {**_part(w0, "CA", [60.0, 62.0]), "revision": None}
    closed_old = {**_part(old, "CA", [50.0]), "revision": 0}
    # The clock moves from 00:00:40 to 00:01:10: 00:00-00:01 closes; 00:01 stays open.
    after = windows.advance([open_w0], [closed_old], [_part(w0, "CA", [64.0]),
                                                      _part(w1, "CA", [70.0])],
                            [_part(old, "CA", [52.0])], datetime(2026, 1, 1, 0, 0, 40),
                            datetime(2026, 1, 1, 0, 1, 10), 60.0, 3600.0)
    written = windows.window_stats(after.written, 60.0)
    assert [(w["window_start"], w["messages"], w["avg_temperature"], w["revision"])
            for w in written] == [(old, 2, 51.0, 1), (w0, 3, 62.0, 0)]
    assert written[1]["stddev_temperature"] == pytest.approx(statistics.stdev([60.0, 62.0, 64.0]))
    assert after.restated == 1
    assert [(w["window_start"], w["messages"]) for w in after.still_open] == [(w1, 1)]
    assert {w["window_start"] for w in after.kept} == {old, w0}
    # A late reading of a window that ended more than the horizon before the clock restates
    # nothing.
    far = windows.advance([], [closed_old], [], [_part(old, "CA", [52.0])],
                          datetime(2026, 1, 1, 2, 0), datetime(2026, 1, 1, 2, 0), 60.0, 3600.0)
    assert (far.written, far.restated) == ((), 0)
