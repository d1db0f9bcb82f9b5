"""`stuck`: a sensor reporting the identical value `repeats` times in a row, reported once per
run. Computed by the engine's per-sensor step, which hands on `stuck_score` (the run length)."""

from __future__ import annotations

from collections.abc import Iterable

from iotstream.detectors import Detector, Finding, Row


def findings(row: Row, _settings: object) -> Iterable[Finding]:
    return [("stuck", row["stuck_score"])]


DETECTOR = Detector(
    name="stuck", settings={"repeats": ("stuck_repeats", int)}, meant_for=("stuck",),
    wanted="stuck_score IS NOT NULL", findings=findings)
