"""`rate_of_change`: a reading whose temperature changed faster than `max_f_per_minute` since the
sensor's reading before it (by event time): a jump no air or machine casing makes, which a band
or zscore rule can miss when it stays inside both. The change is measured over at least
`min_interval_seconds`: two readings a second apart differ by the sensor's noise, not by a
minute's worth of weather. Computed by the engine's per-sensor step (engine/…/RateOfChangeRule.java),
which hands on `change_per_minute` (signed, °F per minute). Reported once per jump: the reading
after it tells a spike (back near the reading before the jump: the next jump is judged from
there) from a move (near the jump's reading: the sensor's new level, quiet) and from another jump
(far from both: reported, judged from the jump); a jump back to the level a move left, within
100 readings, ends an excursion quietly. Impossible values are the band rule's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iotstream.detectors.base import Detector, Finding, Row, Settings


@dataclass(frozen=True)
class RateOfChangeSettings(Settings):
    max_f_per_minute: float = 10.0
    min_interval_seconds: float = 60.0

    def problems(self) -> list[str]:
        return [] if self.max_f_per_minute > 0 and self.min_interval_seconds > 0 else [
            "rate_of_change needs max_f_per_minute > 0 and min_interval_seconds > 0"]


def findings(row: Row, _settings: RateOfChangeSettings) -> Iterable[Finding]:
    rate = row["change_per_minute"]
    return [("rise" if rate > 0 else "fall", abs(rate))]


DETECTOR = Detector(
    name="rate_of_change", settings=RateOfChangeSettings, meant_for=("spike", "shift"),
    wanted="change_per_minute IS NOT NULL", findings=findings, columns=("change_per_minute",),
    goals={"spike": 0.95})
