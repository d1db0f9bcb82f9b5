"""tools/evaluation/quality.py: precision and recall per detector, the goals and the after-shift bar,
on small hand-made cases."""

from __future__ import annotations

from datetime import datetime

import pytest

from times import after
from tools.evaluation import quality


def label(guid: str, second: int, kind: str, temperature: float = 60.0) -> dict[str, str]:
    return {"guid": guid, "eventTime": after(second), "kind": kind, "temperature": str(temperature)}


def flag(detector: str, guid: str, second: int) -> dict:
    return {"detector": detector, "guid": guid,
            "event_time": datetime.strptime(after(second), quality.TIME_FORMAT)}


def test_precision_and_recall_per_detector():
    labels = (
        [label("a", 1, "spike"), label("a", 2, "spike"), label("b", 3, "impossible"),
         label("c", 4, "drift"), label("c", 5, "drift")]
        + [label("d", 10 + i, "stuck", 55.5) for i in range(12)]  # one run, long enough
        + [label("e", 10 + i, "stuck", 41.0) for i in range(3)]  # cut off by the stream's end
        + [label("f", 1, "silent"), label("g", 50, "silent")]  # g: not observable yet
    )
    found = [
        flag("zscore", "a", 1), flag("zscore", "b", 3), flag("zscore", "x", 7),  # x: a false alarm
        flag("band", "a", 1), flag("band", "a", 2), flag("band", "b", 3), flag("band", "c", 4),
        flag("band", "c", 5),
        flag("stuck", "d", 18),
        flag("silent", "f", 1), flag("silent", "y", 9),
    ]
    watermark = datetime(2026, 1, 1, 0, 2, 30)  # 00:00:01 + 120 s has passed; 00:00:50 not
    r = quality.evaluate(labels, found, watermark, silent_seconds=120.0, stuck_repeats=10,
                         zscore_history=30)
    d = r["detectors"]
    # zscore: 2 of 3 flags are labelled faults; of spike+impossible (3) it found 2.
    assert (d["zscore"]["precision"], d["zscore"]["recall"]) == (pytest.approx(2 / 3), 2 / 3)
    assert (d["band"]["precision"], d["band"]["recall"]) == (1.0, 1.0)
    assert (d["stuck"]["labelled"], d["stuck"]["caught"], d["stuck"]["precision"]) == (1, 1, 1.0)
    assert (d["silent"]["precision"], d["silent"]["labelled"], d["silent"]["recall"]) == (0.5, 1, 1.0)
    assert d["three_sigma"]["flagged"] == 0 and d["three_sigma"]["precision"] is None
    assert r["kinds"]["silent"]["not yet observable"] == 1
    assert d["level_shift"]["flagged"] == d["level_shift"]["labelled"] == 0
    goals = {(g["kind"], g["detector"]): (g["met"], g["recall"]) for g in r["goals"]}
    # zscore's goal recall is on spikes alone: 1 of 2 (a at 1 s, not a at 2 s).
    assert {key: goals[key] for key in (("spike", "zscore"), ("stuck", "stuck"),
                                        ("silent", "silent"), ("shift", "level_shift"))} == {
        ("spike", "zscore"): (False, 0.5), ("stuck", "stuck"): (True, 1.0),
        ("silent", "silent"): (False, 1.0), ("shift", "level_shift"): (False, None)}
    assert r["after_shift"] == {"shifts": 0, "history": 30, "max": None, "mean": None,
                                "met": False}
    text = quality.markdown(r)
    assert "| zscore | 3 | 0.667 | spike, impossible | 3 | 2 | 0.667 |" in text
    assert "| level_shift | 0 | – | shift | 0 | 0 | – |" in text
    assert "| shift | 0 | 0 |" in text
    assert ("- Goal (precision and recall >= 0.95) for spike by zscore: NOT met "
            "(precision 0.667, recall 0.500)") in text
    assert ("- Goal (zscore findings after a labelled shift <= history (30) per shift): "
            "not measured (no shift labels)") in text


# Sensor s shifts at 10 s and again at 40 s, u at 5 s; s also has a spike (20 s) and stuck
# readings (30-31 s, too short a run to count), u a drift reading (8 s); a spikes at 1 s and b
# reads an impossible value at 3 s.
SHIFT_LABELS = [
    label("s", 10, "shift"), label("s", 20, "spike"), label("s", 30, "stuck", 50.0),
    label("s", 31, "stuck", 50.0), label("s", 40, "shift"), label("u", 5, "shift"),
    label("u", 8, "drift"), label("a", 1, "spike"), label("b", 3, "impossible"),
]
SHIFT_FOUND = [
    # level_shift: two labelled shifts (s 10 s, u 5 s), a spike, and two false alarms (s one
    # reading late at 41 s, w never shifted).
    flag("level_shift", "s", 10), flag("level_shift", "u", 5), flag("level_shift", "s", 20),
    flag("level_shift", "s", 41), flag("level_shift", "w", 7),
    # zscore on s: before its first shift (5 s: not charged); then the shift's reading, 12 s,
    # the spike and the stuck reading (not charged) and 35 s: 3 for the shift at 10 s; the next
    # shift's reading and 45 s: 2 for the shift at 40 s.
    flag("zscore", "s", 5), flag("zscore", "s", 10), flag("zscore", "s", 12),
    flag("zscore", "s", 20), flag("zscore", "s", 30), flag("zscore", "s", 35),
    flag("zscore", "s", 40), flag("zscore", "s", 45),
    # on u: 5 s and 9 s, not the drift at 8 s: 2; on v (no shift) nothing is charged.
    flag("zscore", "u", 5), flag("zscore", "u", 8), flag("zscore", "u", 9),
    flag("zscore", "v", 12), flag("zscore", "b", 3),
]


def evaluate_shifts(history: int) -> dict:
    return quality.evaluate(SHIFT_LABELS, SHIFT_FOUND, None, silent_seconds=120.0,
                            stuck_repeats=10, zscore_history=history)


def test_level_shift_precision_and_recall_on_shift_labels():
    r = evaluate_shifts(history=30)
    d = r["detectors"]["level_shift"]
    # 3 of its 5 findings are labelled faults (2 shifts, 1 spike); it found 2 of the 3 shifts.
    assert (d["flagged"], d["true"], d["precision"]) == (5, 3, 0.6)
    assert (d["labelled"], d["caught"], d["recall"]) == (3, 2, pytest.approx(2 / 3))
    assert r["kinds"]["shift"] == {"labelled": 3, "caught": 3}  # zscore has s at 40 s
    text = quality.markdown(r)
    assert "| level_shift | 5 | 0.600 | shift | 3 | 2 | 0.667 |" in text
    assert "| shift | 3 | 3 |" in text
    assert ("- Goal (precision and recall >= 0.9) for shift by level_shift: NOT met "
            "(precision 0.600, recall 0.667)") in text


def test_goal_recall_is_on_the_goals_kind_only():
    r = evaluate_shifts(history=30)
    zscore = r["detectors"]["zscore"]
    # zscore: 7 of 13 findings are labelled faults (s 10, 20, 30, 40; u 5, 8; b 3). It is meant
    # for spike and impossible: of a 1, s 20 and b 3 it found 2; of the spikes alone, 1 of 2.
    assert (zscore["flagged"], zscore["true"]) == (13, 7)
    assert (zscore["labelled"], zscore["caught"]) == (3, 2)
    goal = next(g for g in r["goals"] if g["kind"] == "spike")
    assert goal == {"kind": "spike", "detector": "zscore", "goal": 0.95, "met": False,
                    "precision": pytest.approx(7 / 13), "recall": 0.5}


@pytest.mark.parametrize("history, met", [(3, True), (2, False)])
def test_zscore_findings_after_a_shift(history: int, met: bool):
    r = evaluate_shifts(history)
    # Per shift: s at 10 s: 3 (cut at s's next shift, 40 s); s at 40 s: 2; u at 5 s: 2.
    assert r["after_shift"] == {"shifts": 3, "history": history, "max": 3,
                                "mean": pytest.approx(7 / 3), "met": met}
    verdict = "met" if met else "NOT met"
    assert (f"- Goal (zscore findings after a labelled shift <= history ({history}) per shift): "
            f"{verdict} (3 shifts; max 3, mean 2.33 per shift)") in quality.markdown(r)


def test_a_drift_counts_once_and_is_found_by_any_of_its_readings():
    labels = [label("d", 1, "drift"), label("d", 3, "drift"), label("d", 5, "drift"),
              label("d", 40, "drift"),  # 35 s later: another drift
              label("e", 2, "drift"), label("e", 4, "spike"), label("e", 6, "drift")]
    drifts = sorted(sorted(s for _, s in drift) for drift in quality._drifts(labels))
    assert drifts == [[after(1), after(3), after(5)], [after(2)], [after(6)], [after(40)]]
    found = [flag("band", "d", 3), flag("band", "e", 6)]
    result = quality.evaluate(labels, found, None, 120.0, 10, 30)
    assert result["kinds"]["drift"] == {"labelled": 4, "caught": 2}


def test_a_detector_added_since_is_reported_with_its_precision_and_false_findings():
    labels = [label("a", 1, "spike"), label("b", 2, "stuck", 50.0)]
    found = [flag("flatline", "a", 1), flag("flatline", "x", 9), flag("a_rule_not_named", "a", 1)]
    names = (*quality.DETECTORS, "flatline", "quiet_rule")  # the config's tables
    d = quality.evaluate(labels, found, None, 120.0, 10, 30, names)["detectors"]
    # Meant for no fault kind: its precision (1 of 2 on a labelled fault), no recall.
    assert {k: d["flatline"][k] for k in ("flagged", "true", "precision", "labelled", "recall")} == {
        "flagged": 2, "true": 1, "precision": 0.5, "labelled": 0, "recall": None}
    assert d["quiet_rule"]["flagged"] == 0 and d["a_rule_not_named"]["flagged"] == 1
    clean = quality.false_per_sensor_day(found, [{"guid": "a", "event_time": datetime(2026, 1, 1)},
                                                 {"guid": "a", "event_time": datetime(2026, 1, 2)}],
                                         names)
    assert (clean["findings"]["flatline"], clean["findings"]["quiet_rule"],
            clean["findings"]["a_rule_not_named"], clean["all"]) == (2, 0, 1, 3)
    assert clean["per_sensor_day"]["flatline"] == 2.0  # one sensor-day
