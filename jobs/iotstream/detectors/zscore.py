"""`zscore`: per sensor, a reading more than `threshold` standard deviations from the mean of
the sensor's last `history` normal readings. Computed by the engine's per-sensor step
(engine/…/ZScoreRule.java), which hands on `z_reason` and `z_score` (|z|). A run of readings
on the same side is reported once, at its first flagged reading: a drift or a new level is one
finding (and, when it lasts, level_shift's), not one per reading."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iotstream.detectors.base import Detector, Finding, Row, Settings


@dataclass(frozen=True)
class ZScoreSettings(Settings):
    history: int = 30
    min_history: int = 10
    threshold: float = 7.0
    min_sigma: float = 0.5

    def problems(self) -> list[str]:
        wrong = []
        if not 2 <= self.min_history <= self.history:
            wrong.append("zscore needs 2 <= min_history <= history")
        if not (self.threshold > 0 and self.min_sigma > 0):
            wrong.append("zscore needs threshold > 0 and min_sigma > 0")
        return wrong


def findings(row: Row, _settings: ZScoreSettings) -> Iterable[Finding]:
    return [(row["z_reason"], row["z_score"])]


DETECTOR = Detector(
    name="zscore", settings=ZScoreSettings, meant_for=("spike", "impossible"),
    wanted="z_reason IS NOT NULL", findings=findings, goals={"spike": 0.95},
    columns=("z_reason", "z_score", "z_mean", "z_sigma"))
