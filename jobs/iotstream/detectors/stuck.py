"""`stuck`: a sensor reporting the identical value `repeats` times in a row, reported once per
run. Computed by the engine's per-sensor step, which hands on `stuck_score` (the run length)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iotstream.detectors.base import Detector, Finding, Row, Settings


@dataclass(frozen=True)
class StuckSettings(Settings):
    repeats: int = 10

    def problems(self) -> list[str]:
        return [] if self.repeats >= 2 else ["stuck repeats must be >= 2"]


def findings(row: Row, _settings: StuckSettings) -> Iterable[Finding]:
    return [("stuck", row["stuck_score"])]


DETECTOR = Detector(
    name="stuck", settings=StuckSettings, meant_for=("stuck",), wanted="stuck_score IS NOT NULL",
    findings=findings, columns=("stuck_score",), goals={"stuck": 0.95})
