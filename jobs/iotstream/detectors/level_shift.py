"""`level_shift`: a sensor whose level has moved for good, reported once, at the reading where the
move began, with the size of the move in °F as the score and `up` or `down` as the reason.

Computed by the engine's per-sensor step (engine/…/SensorModel.java): `readings` readings in a
row more than threshold / 2 of zscore's standard deviations from the sensor's history, on the
same side, are a new level; its size is their mean less the history's. zscore reports such a run
once, at its first flagged reading, and then judges by the new level at once (the history moves
by the size, keeping its spread). A return to the level before within 2 × zscore's `history`
readings ends the shift quietly: it was an excursion (a drift), not a move for good. The step
hands a shift on as a row of kind `shift` (event time and value of the run's first reading;
`detail` up/down, `detail_score` the size)."""

from __future__ import annotations

from collections.abc import Iterable

from iotstream.detectors import Detector, Finding, Row


def findings(row: Row, _settings: object) -> Iterable[Finding]:
    return [(row["detail"], row["detail_score"])]


DETECTOR = Detector(
    name="level_shift", settings={"readings": ("level_shift_readings", int)},
    meant_for=("shift",), wanted="kind = 'shift'", findings=findings)
