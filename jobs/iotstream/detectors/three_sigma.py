"""`three_sigma`: a reading more than k standard deviations from its state's mean over its
event-time window (the window's readings so far, this batch's included). The batch's side pass
computes `sigma_z` from the limits the driver derives from the windows (windows.py); the score
is |z|."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from iotstream.detectors.base import Detector, Finding, Row, Settings


@dataclass(frozen=True)
class ThreeSigmaSettings(Settings):
    enabled: bool = False  # off by default: see conf/job.toml
    k: float = 3.0
    min_readings: int = 20

    def problems(self) -> list[str]:
        return [] if self.k > 0 and self.min_readings >= 2 else [
            "three_sigma needs k > 0 and min_readings >= 2"]


def findings(row: Row, _settings: ThreeSigmaSettings) -> Iterable[Finding]:
    z = row["sigma_z"]
    return [("high" if z > 0 else "low", abs(z))]


def parameters(settings: ThreeSigmaSettings) -> Mapping[str, Any]:
    return {"sigma_k": float(settings.k)}


DETECTOR = Detector(
    name="three_sigma", settings=ThreeSigmaSettings, meant_for=("spike",),
    wanted="sigma_z IS NOT NULL", findings=findings, parameters=parameters, side_only=True)
