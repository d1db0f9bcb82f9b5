"""`stuck`: a run of identical values longer than the sensor's own readings make likely, reported
once per run: at least `repeats` readings, and less likely than `chance` for a sensor that
repeats its value at the rate it did over its last 200 changes of reading (an upper bound of
it). Computed by the engine's per-sensor step (engine/…/StuckRule.java), which hands on
`stuck_score` (the run length)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iotstream.detectors.base import Detector, Finding, Row, Settings


@dataclass(frozen=True)
class StuckSettings(Settings):
    repeats: int = 10
    chance: float = 1e-15

    def problems(self) -> list[str]:
        return [] if self.repeats >= 2 and 0 < self.chance < 1 else [
            "stuck needs repeats >= 2 and 0 < chance < 1"]


def findings(row: Row, _settings: StuckSettings) -> Iterable[Finding]:
    return [("stuck", row["stuck_score"])]


DETECTOR = Detector(
    name="stuck", settings=StuckSettings, meant_for=("stuck",), wanted="stuck_score IS NOT NULL",
    findings=findings, columns=("stuck_score",), goals={"stuck": 0.95})
