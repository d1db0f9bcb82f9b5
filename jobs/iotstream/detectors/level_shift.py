"""`level_shift`: a sensor whose level has moved for good, reported once, at the reading where the
move began, with the size of the move in °F as the score and `up` or `down` as the reason.

Computed by the engine's per-sensor step (engine/…/ZScoreRule.java, with zscore: a shift moves
zscore's history): `readings` readings in a row more than threshold / 2 of zscore's standard
deviations from the sensor's history, on the same side, are a new level; its size is their mean
less the history's. zscore reports such a run once, at its first flagged reading, and then judges
by the new level at once (the history moves by the size, keeping its spread). A return to the
level before within 2 × zscore's `history` readings ends the shift quietly: it was an excursion
(a drift), not a move for good. The step hands a shift on as a row of kind `shift` (event time
and value of the run's first reading; `shift_direction` up/down, `shift_size` the size)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iotstream.detectors.base import Detector, Finding, Row, Settings


@dataclass(frozen=True)
class LevelShiftSettings(Settings):
    readings: int = 10  # readings in a row on one side that make a new level

    def problems(self) -> list[str]:
        return [] if self.readings >= 2 else ["level_shift readings must be >= 2"]


def findings(row: Row, _settings: LevelShiftSettings) -> Iterable[Finding]:
    return [(row["shift_direction"], row["shift_size"])]


DETECTOR = Detector(
    name="level_shift", settings=LevelShiftSettings, meant_for=("shift",),
    wanted="kind = 'shift'", findings=findings, columns=("shift_direction", "shift_size"),
    goals={"shift": 0.9})
