"""`three_sigma`: a reading more than k standard deviations from its state's mean over its
event-time window (the window's readings so far, this batch's included). The batch's side pass
computes `sigma_z` from the limits the driver derives from the windows (windows.py); the score
is |z|."""

from __future__ import annotations

from collections.abc import Iterable

from iotstream.detectors import Detector, Finding, Row


def findings(row: Row, _settings: object) -> Iterable[Finding]:
    z = row["sigma_z"]
    return [("high" if z > 0 else "low", abs(z))]


DETECTOR = Detector(
    name="three_sigma",
    settings={"k": ("sigma_k", float), "min_readings": ("sigma_min_readings", int)},
    meant_for=("spike",), wanted="sigma_z IS NOT NULL", findings=findings, side_only=True)
