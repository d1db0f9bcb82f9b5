"""The event stream: the fleet's readings, some replaced by labelled faults (ground truth for
tests). Point anomalies (spike, impossible) replace one reading; incidents (a sensor stuck,
drifting or silent for a while) last several readings; a level shift moves a sensor for good."""
from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from simulator.clock import format_utc
from simulator.fleet import Sensor, advance_walk, round_temperature

PAYLOAD_FORMAT = "urn:example:sensor:temp"

# A spike is far outside a ±15 °F band yet physically possible; an impossible reading
# is beyond any air temperature ever measured on Earth.
SPIKE_MIN_F, SPIKE_MAX_F = 30.0, 50.0
IMPOSSIBLE_MIN_F, IMPOSSIBLE_MAX_F = 200.0, 999.0
ANOMALY_KINDS = ("spike", "impossible")
# Incidents: a sensor stuck on its last value, drifting out of its band, or going silent.
INCIDENT_KINDS = ("stuck", "drift", "silent")
STUCK_READINGS = (15, 30)  # repeats of the last value (the job's default stuck detector: 10)
DRIFT_READINGS = (20, 40)
DRIFT_MIN_F, DRIFT_MAX_F = 20.0, 30.0  # beyond the ±15 °F band, unlike the walk (±9 °F)
# A shift moves a sensor's baseline for good (say, a re-sited sensor), by more than the walk's
# ±9 °F; the new level may well lie inside the ±15 °F band.
SHIFT_MIN_F, SHIFT_MAX_F = 10.0, 30.0
SILENT_SECONDS = (180.0, 600.0)  # of event time; the job's default silent detector: 120 s
LABEL_COLUMNS = ("guid", "eventTime", "kind", "temperature")
LABEL_KINDS = (*ANOMALY_KINDS, *INCIDENT_KINDS, "shift")


class AnomalyLabel(NamedTuple):
    """Ground truth for one injected anomaly, exactly as emitted."""

    guid: str
    event_time: str
    kind: str
    temperature: float


def draw_anomaly(baseline_f: float, rng: random.Random) -> tuple[str, float]:
    """Return (kind, reading) for an anomaly, 50/50 spike or impossible, random sign."""
    kind = rng.choice(ANOMALY_KINDS)
    sign = rng.choice((-1.0, 1.0))
    if kind == "spike":
        return kind, round_temperature(baseline_f + sign * rng.uniform(SPIKE_MIN_F, SPIKE_MAX_F))
    return kind, round_temperature(sign * rng.uniform(IMPOSSIBLE_MIN_F, IMPOSSIBLE_MAX_F))


def events(sensors: list[Sensor], rng: random.Random, clock: Iterator[datetime],
           count: int | None = None, anomaly_rate: float = 0.0,
           incident_rates: dict[str, float] | None = None,
           ) -> Iterator[tuple[dict[str, Any], list[AnomalyLabel]]]:
    """Yield count (None: endless) (event, labels) pairs, one random sensor each.

    Point anomalies (spike, impossible) replace one reading; incidents (stuck, drift, silent;
    probability per event in incident_rates) start on the chosen sensor and last several of its
    readings (silent: a span of event time, in which the sensor is never chosen); a shift (its
    rate in incident_rates too) moves the sensor's baseline for good. An event's labels are its
    own (point anomaly, stuck, drift or shift reading) or a silence it starts."""
    rates = {k: v for k, v in (incident_rates or {}).items() if v > 0}
    for _ in range(count) if count is not None else itertools.count():
        moment = next(clock)
        sensor = rng.choice(sensors)
        tries = 0
        while sensor.silent_until is not None:  # draws only once some sensor went silent
            tries += 1
            if moment >= sensor.silent_until or tries > 10 * len(sensors):  # (all silent)
                sensor.silent_until = None
                break
            sensor = rng.choice(sensors)
        kind, temperature = _reading(sensor, rng, anomaly_rate, rates)
        event_time = format_utc(moment)
        event = {"guid": sensor.guid, "destination": sensor.destination, "state": sensor.state,
                 "eventTime": event_time,
                 "payload": {"format": PAYLOAD_FORMAT, "data": {"temperature": temperature}}}
        labels = [AnomalyLabel(sensor.guid, event_time, kind, temperature)] if kind else []
        sensor.last = (moment, temperature)
        # Silence starts after this reading (drawn only when silences are on).
        if "silent" in rates and sensor.incident is None and rng.random() < rates["silent"]:
            sensor.silent_until = moment + timedelta(seconds=rng.uniform(*SILENT_SECONDS))
            labels.append(AnomalyLabel(sensor.guid, event_time, "silent", temperature))
        yield event, labels


def _reading(sensor: Sensor, rng: random.Random, anomaly_rate: float,
             rates: dict[str, float]) -> tuple[str | None, float]:
    """(label kind or None, reading) of the sensor's next event."""
    if sensor.incident is None and sensor.last is not None:
        for kind in ("stuck", "drift"):  # fixed order: the same seed gives the same output
            if kind in rates and rng.random() < rates[kind]:
                low, high = STUCK_READINGS if kind == "stuck" else DRIFT_READINGS
                sensor.incident, sensor.remaining = kind, rng.randint(low, high)
                sensor.incident_f = (sensor.last[1] if kind == "stuck" else
                                     rng.choice((-1.0, 1.0)) * rng.uniform(DRIFT_MIN_F, DRIFT_MAX_F))
                break
        # Drawn after the incidents, and only when shifts are on: rate-0 output is unchanged.
        if sensor.incident is None and "shift" in rates and rng.random() < rates["shift"]:
            sensor.baseline_f += rng.choice((-1.0, 1.0)) * rng.uniform(SHIFT_MIN_F, SHIFT_MAX_F)
            return "shift", advance_walk(sensor, rng)  # the walk goes on around the new level
    if sensor.incident is not None:
        kind = sensor.incident
        sensor.remaining -= 1
        if sensor.remaining <= 0:
            sensor.incident = None
        if kind == "stuck":  # the walk waits: the sensor reads on from where it stuck
            return kind, sensor.incident_f
        return kind, round_temperature(sensor.baseline_f + sensor.incident_f + _walk(sensor, rng))
    # Draw only when anomalies are on, so rate-0 output is unaffected by the feature.
    # An anomaly replaces the reading and leaves the sensor's walk untouched.
    if anomaly_rate > 0.0 and rng.random() < anomaly_rate:
        return draw_anomaly(sensor.baseline_f, rng)
    return None, advance_walk(sensor, rng)


def _walk(sensor: Sensor, rng: random.Random) -> float:
    """One step of the sensor's walk; its new offset."""
    advance_walk(sensor, rng)
    return sensor.offset_f
