"""scripts/quality.py: precision and recall per detector on a small hand-made case."""

from __future__ import annotations

import importlib.util
from datetime import datetime

import pytest

from conftest import SCRIPTS

spec = importlib.util.spec_from_file_location("quality", SCRIPTS / "quality.py")
quality = importlib.util.module_from_spec(spec)
spec.loader.exec_module(quality)


def t(second: int) -> str:
    return f"2026-01-01T00:00:{second:02d}.000000Z"


def label(guid: str, second: int, kind: str, temperature: float = 60.0) -> dict[str, str]:
    return {"guid": guid, "eventTime": t(second), "kind": kind, "temperature": str(temperature)}


def flag(detector: str, guid: str, second: int) -> dict:
    return {"detector": detector, "guid": guid,
            "event_time": datetime.strptime(t(second), quality.TIME_FORMAT)}


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
    r = quality.evaluate(labels, found, watermark, silent_seconds=120.0, stuck_repeats=10)
    d = r["detectors"]
    # zscore: 2 of 3 flags are labelled faults; of spike+impossible+drift (5) it found 2.
    assert (d["zscore"]["precision"], d["zscore"]["recall"]) == (pytest.approx(2 / 3), 2 / 5)
    assert (d["band"]["precision"], d["band"]["recall"]) == (1.0, 1.0)
    assert (d["stuck"]["labelled"], d["stuck"]["caught"], d["stuck"]["precision"]) == (1, 1, 1.0)
    assert (d["silent"]["precision"], d["silent"]["labelled"], d["silent"]["recall"]) == (0.5, 1, 1.0)
    assert d["three_sigma"]["flagged"] == 0 and d["three_sigma"]["precision"] is None
    assert r["kinds"]["silent"]["not yet observable"] == 1
    goals = {g["kind"]: g["met"] for g in r["goals"]}
    assert goals == {"spike": False, "stuck": True, "silent": False}
    text = quality.markdown(r)
    assert "| zscore | 3 | 0.667 | spike, impossible, drift | 5 | 2 | 0.400 |" in text
