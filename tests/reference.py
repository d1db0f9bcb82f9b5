"""Independent plain-Python reference: what the job should produce for a set of Kafka records.

Shares no code with the job: it re-reads conf/ files itself and applies the rules as documented.
"""

from __future__ import annotations

import csv
import json
import math
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from conftest import ROOT


def baselines() -> dict[str, float]:
    with (ROOT / "conf" / "states.csv").open() as f:
        return {r["state"]: float(r["avg_temp_f"]) for r in csv.DictReader(f)}


@cache
def _settings() -> dict:  # read once: the reference runs over tens of thousands of readings
    with (ROOT / "conf" / "job.toml").open("rb") as f:
        return tomllib.load(f)


def _anomaly_settings() -> dict:
    return _settings()["anomalies"]


def physically_possible(t: float) -> bool:
    a = _anomaly_settings()
    return a["physical_min"] <= t <= a["physical_max"]


def band(state: str) -> tuple[float, float]:
    anomalies = _anomaly_settings()
    tol = anomalies["tolerance_by_state"].get(state, anomalies["tolerance"])
    base = baselines()[state]
    return base - tol, base + tol


@dataclass
class Reading:
    guid: str
    state: str
    event_time: str
    temperature: float


def usable(value: bytes | None, states: set[str]) -> Reading | None:
    """The reading in a record, or None when the record cannot be used."""
    try:
        e = json.loads(value.decode("utf-8"))
        t = e["payload"]["data"]["temperature"]
        datetime.fromisoformat(e["eventTime"].replace("Z", "+00:00"))
    except (AttributeError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(e.get("guid"), str) or e.get("state") not in states:
        return None
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        return None
    return Reading(e["guid"], e["state"], e["eventTime"], float(t))


def anomalous(r: Reading) -> bool:
    """Outside the state's band or outside the physically possible range."""
    low, high = band(r.state)
    return not (low <= r.temperature <= high) or not physically_possible(r.temperature)


def band_reason(r: Reading) -> str | None:
    """The band rule's reason: impossible, below_band, above_band, or None (in band)."""
    low, high = band(r.state)
    if not physically_possible(r.temperature):
        return "impossible"
    return "below_band" if r.temperature < low else "above_band" if r.temperature > high else None


BAND_BACK = 10  # readings in band that end a sensor's run out of band


def band_findings(batches: list[list[Reading]]) -> set[tuple[str, str]]:
    """(guid, eventTime) of the readings `band` reports: out of band, starting a run (for another
    reason than the sensor's run out of band, or after BAND_BACK readings in band). A sensor's
    readings go in the rules' order: by event time, whatever batch brought them (the job holds
    each reading until the rules' clock passes it; none of these readings comes behind it)."""
    run: dict[str, tuple[str | None, int]] = {}  # guid → (its run's reason, readings in band)
    found = set()
    for r in sorted((r for readings in batches for r in readings), key=lambda r: r.event_time):
        reason = band_reason(r)
        current, back = run.get(r.guid, (None, 0))
        if reason is None:
            back += 1
            run[r.guid] = (None, 0) if back >= BAND_BACK else (current, back)
            continue
        if reason != current:
            found.add((r.guid, r.event_time))
        run[r.guid] = (reason, 0)
    return found


@dataclass
class StateFigures:
    """Messages and sensors count every usable reading; temperatures only possible ones."""

    messages: int = 0
    temperatures: list[float] = field(default_factory=list)
    sensors: set[str] = field(default_factory=set)

    def add(self, r: Reading) -> None:
        self.messages += 1
        self.sensors.add(r.guid)
        if physically_possible(r.temperature):
            self.temperatures.append(r.temperature)

    @property
    def avg(self) -> float:
        return math.fsum(self.temperatures) / len(self.temperatures)


def by_state(readings: list[Reading]) -> dict[str, StateFigures]:
    figures: dict[str, StateFigures] = defaultdict(StateFigures)
    for r in readings:
        figures[r.state].add(r)
    return dict(figures)


def zscore_bands(temperatures: list[float],
                 batches: list[int] | None = None) -> list[tuple[float, float] | None]:
    """The zscore band of each reading of one sensor, in order (None before the sensor has
    min_history readings), with conf/job.toml's [detectors.zscore] settings: mean ± threshold ×
    max(sd, min_sigma) of the last `history` readings that entered the history (possible, not
    flagged, not a repeat of the reading before). Without `batches`: the band each reading is
    judged by. With `batches` (the batch that brought each reading, one partition in event-time
    order): the band its row gets on arrival, the history the rules judged by then: every
    reading of the batches before it."""
    z = _settings()["detectors"]["zscore"]
    history, min_history, threshold = z["history"], z["min_history"], z["threshold"]

    def band_of(kept: list[float]) -> tuple[tuple[float, float] | None, float, float]:
        if len(kept) < min_history:
            return None, 0.0, 0.0
        mean = math.fsum(kept) / len(kept)
        sigma = max(math.sqrt(math.fsum((k - mean) ** 2 for k in kept) / len(kept)), z["min_sigma"])
        return (mean - threshold * sigma, mean + threshold * sigma), mean, sigma

    kept: list[float] = []
    bands: list[tuple[float, float] | None] = []
    last = None
    batch, arrival = None, None
    for i, t in enumerate(temperatures):
        if batches is not None and batches[i] != batch:
            batch, arrival = batches[i], band_of(kept)[0]
        band, mean, sigma = band_of(kept)
        flagged = band is not None and abs(t - mean) / sigma > threshold
        bands.append(band if batches is None else arrival)
        if physically_possible(t) and not flagged and t != last:
            kept = (kept + [t])[-history:]
        last = t
    return bands


def silences(readings: list[Reading], end: datetime) -> set[tuple[str, str]]:
    """(guid, event time) of each reading after which its sensor sent nothing for longer than
    conf/job.toml's [detectors.silent] allows it, by the readings' event times alone: more than
    missed_readings of its long interval (the 90th percentile, nearest rank, of its last 16
    intervals before), at least after_seconds, less than sensor_ttl_seconds (the TTL's own with
    fewer than 3 intervals known); the last reading of each sensor too when `end` (the latest
    event time read) is that far after it."""
    detectors = _settings()["detectors"]
    silent = detectors["silent"]
    after = silent["after_seconds"] * 1e6
    ttl = detectors["sensor_ttl_seconds"] * 1e6
    by_sensor: dict[str, list[tuple[int, str]]] = defaultdict(list)

    def micros(text: str) -> int:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return round(t.timestamp() * 1e6)

    for r in readings:
        by_sensor[r.guid].append((micros(r.event_time), r.event_time))
    def allowed(intervals: list[int]) -> float:
        if len(intervals) < 3:  # its cadence not known yet: the TTL
            return ttl - 1
        usual = sorted(intervals[-16:])
        long = usual[math.floor(0.9 * (len(usual) - 1) + 0.5)]  # the 90th percentile (nearest)
        return min(max(after, silent["missed_readings"] * long), ttl - 1)

    found = set()
    for guid, times in by_sensor.items():
        times.sort()
        intervals: list[int] = []
        for (a, text), (b, _) in zip(times, times[1:], strict=False):
            if b - a > allowed(intervals):
                found.add((guid, text))
            intervals.append(b - a)
        last, text = times[-1]
        if round(end.timestamp() * 1e6) - last > allowed(intervals):
            found.add((guid, text))
    return found
