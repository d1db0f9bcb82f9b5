"""`silent`: a sensor that reported before and then sent nothing for `after_seconds` of event
time, reported once: by the first batch that starts with the watermark past that point (the
engine's event-time timer), or when the sensor comes back, whichever is first. The engine hands
it on as a row of kind `silent` carrying the sensor's last reading; the score is after_seconds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iotstream.detectors.base import Detector, Finding, Row, Settings


@dataclass(frozen=True)
class SilentSettings(Settings):
    after_seconds: float = 120.0  # > 0 and below the TTL: Detectors.problems checks both


def findings(_row: Row, settings: SilentSettings) -> Iterable[Finding]:
    return [("silent", float(settings.after_seconds))]


DETECTOR = Detector(
    name="silent", settings=SilentSettings, meant_for=("silent",), wanted="kind = 'silent'",
    findings=findings, goals={"silent": 0.95})
