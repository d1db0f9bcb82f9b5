"""`zscore`: per sensor, a reading more than `threshold` standard deviations from the mean of
the sensor's last `history` normal readings. Computed by the engine's per-sensor step
(engine/…/SensorModel.java), which hands on `z_reason` and `z_score` (|z|). A run of readings
on the same side is reported once, at its first flagged reading: a drift or a new level is one
finding (and, when it lasts, level_shift's), not one per reading."""

from __future__ import annotations

from collections.abc import Iterable

from iotstream.detectors import Detector, Finding, Row


def findings(row: Row, _settings: object) -> Iterable[Finding]:
    return [(row["z_reason"], row["z_score"])]


DETECTOR = Detector(
    name="zscore",
    settings={"history": ("zscore_history", int), "min_history": ("zscore_min_history", int),
              "threshold": ("zscore_threshold", float), "min_sigma": ("zscore_min_sigma", float)},
    meant_for=("spike", "impossible"), wanted="z_reason IS NOT NULL", findings=findings)
