"""`three_sigma`: a reading more than k standard deviations from its state's mean over its
event-time window (the window's readings so far, this batch's included), once the window has
`min_readings`. The batch's side pass computes z from the limits the driver derives from the
windows (windows.py); the reason is high or low, the score |z|."""

from __future__ import annotations

from dataclasses import dataclass

from iotstream.detectors.base import Settings, WindowRule


@dataclass(frozen=True)
class ThreeSigmaSettings(Settings):
    enabled: bool = False  # off by default: see conf/job.toml
    k: float = 3.0
    min_readings: int = 20

    def problems(self) -> list[str]:
        return [] if self.k > 0 and self.min_readings >= 2 else [
            "[detectors.three_sigma] needs k > 0 and min_readings >= 2"]


RULE = WindowRule(name="three_sigma", settings=ThreeSigmaSettings,
                  min_readings=lambda s: s.min_readings, k=lambda s: s.k)
