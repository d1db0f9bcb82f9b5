"""What the simulator's tests share: its fleet's baselines, the shapes of its output, running it
as a user would, and running its event stream in this process."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import simulator as sim  # importable: conftest.py puts the repo root on sys.path
from conftest import ROOT
from iotstream.states import load_baselines

SCRIPT = ROOT / "iotsimulator.py"
STATES = load_baselines(sim.DEFAULT_STATES_FILE)
US_STATES_PLUS_DC = 51
GUID_RE = re.compile(r"^0-ZZZ\d{8}-\d{2}[A-Z]$")
DESTINATION_RE = re.compile(r"^0-AAA\d{8}$")
EVENT_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
RAW_TEMPERATURE_RE = re.compile(r'"temperature": (-?\d+(?:\.\d)?)\}\}\}$')
TOP_KEYS = ["guid", "destination", "state", "eventTime", "payload"]
ANOMALY_BAND_F = 15.0  # the aggregator's "far from baseline" threshold
IMPOSSIBLE_FLOOR_F = 200.0
BINOMIAL_SIGMAS = 5  # tolerance for random counts: a false failure is ~1 in 3 million
WALL_CLOCK_SLACK = timedelta(seconds=5)
# Over 1,000 readings the walk's mean is within ~0.2 °F of its centre (sd ~1.2 °F, correlation
# time ~10 readings, and the offset it starts from fades within ~50): 1 °F is five of those.
LONG_RUN_READINGS, CENTRE_TOLERANCE_F = 1000, 1.0


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the script as a user would; check=True asserts exit 0 and a silent stderr."""
    result = subprocess.run([sys.executable, str(SCRIPT), *args], check=False,
                            capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
    return result


def parse_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


def temperature(event: dict[str, Any]) -> float:
    return event["payload"]["data"]["temperature"]


def deviation(event: dict[str, Any]) -> float:
    return abs(temperature(event) - STATES[event["state"]])


def generate(count: int, sensors: int, seed: int, anomaly_rate: float = 0.0):
    """In-process run with a seed and the simulated clock: (sensor list, list of pairs)."""
    fleet, pairs = stream(count, sensors, seed, anomaly_rate)
    return fleet, list(pairs)


def stream(count: int, sensors: int, seed: int, anomaly_rate: float = 0.0,
           rates: dict[str, float] | None = None):
    """Like generate(), but the pairs come lazily: the fleet can be inspected between them."""
    rng = random.Random(seed)
    fleet = sim.make_sensors(STATES, sensors, rng)
    clock = sim.simulated_clock(sim.parse_utc(sim.DEFAULT_START_TIME), 0.01)
    return fleet, sim.events(fleet, rng, clock, count, anomaly_rate, rates)


Pairs = Iterable[tuple[dict[str, Any], list[sim.AnomalyLabel]]]


def follow_levels(fleet: list[sim.Sensor], pairs: Pairs) -> Iterator[tuple[dict[str, Any], list[str], float]]:
    """Yield (event, label kinds, its sensor's level) and check that a sensor's baseline moves
    only at a reading labelled shift, by 10-30 °F."""
    sensors = {s.guid: s for s in fleet}
    level = {s.guid: s.baseline_f for s in fleet}
    for event, labels in pairs:
        guid, kinds = event["guid"], [label.kind for label in labels]
        if "shift" in kinds:
            assert sim.SHIFT_MIN_F <= abs(sensors[guid].baseline_f - level[guid]) <= sim.SHIFT_MAX_F
            level[guid] = sensors[guid].baseline_f
        assert sensors[guid].baseline_f == level[guid]
        yield event, kinds, level[guid]
