"""`silent`: a sensor that reported before and then sent nothing for longer than its own cadence
allows: `missed_readings` of its long interval (the 90th percentile of its last 16), and at
least `after_seconds`, of event time; the TTL until it has 3 intervals
(engine/…/SilentRule.java). Reported once, as soon as the rules' clock passes that point: by
the sensor's event-time timer, or when it comes back. The engine hands it on as a row of kind
`silent` carrying the sensor's last reading; the score is the silence it was judged by, in
seconds (`silent_seconds`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iotstream.detectors.base import Detector, Finding, Row, Settings


@dataclass(frozen=True)
class SilentSettings(Settings):
    after_seconds: float = 120.0  # > 0 and below the TTL: Detectors.problems checks both
    missed_readings: int = 10  # of the sensor's long interval

    def problems(self) -> list[str]:
        return [] if self.missed_readings >= 1 else ["silent missed_readings must be >= 1"]


def findings(row: Row, _settings: SilentSettings) -> Iterable[Finding]:
    return [("silent", float(row["silent_seconds"]))]


DETECTOR = Detector(
    name="silent", settings=SilentSettings, meant_for=("silent",), wanted="kind = 'silent'",
    findings=findings, columns=("silent_seconds",), goals={"silent": 0.95})
