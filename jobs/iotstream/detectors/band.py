"""`band`: a reading outside its state's band (the state's average ± tolerance) or outside any
real air temperature. The rule is the parse's `reason` column (band_rule.out_of_band_reason); the
score is how far outside the band, in °F. A sensor's run out of band is reported once, at its
first reading (`band_new`, the engine's BandRule): a sensor that sits out of its band,
drifts out of it or wavers at its edge is one finding, not one per reading. A run ends when the
sensor is back in band for 10 readings in a row, or goes on out of band for another reason (a new
run). A reading the step keeps out of the sensor's rules (a late one, or one behind the rules'
clock) is judged on its own, as it arrives."""

from __future__ import annotations

from collections.abc import Iterable

from iotstream.detectors.base import Detector, Finding, Row, Settings


def findings(row: Row, _settings: Settings) -> Iterable[Finding]:
    t, low, high = row["temperature"], row["band_low"], row["band_high"]
    score = abs(t) if low is None or high is None else max(low - t, t - high)
    return [(row["reason"], float(score))]


DETECTOR = Detector(
    name="band", settings=Settings, meant_for=("spike", "impossible", "drift"),
    wanted="reason IS NOT NULL AND ((kind = 'judged' AND band_new) OR (kind = 'reading' AND NOT "
           "to_rules))", findings=findings,
    columns=("band_new",))
