"""The fleet: sensors with fixed identities and states, each reporting a temperature that wanders
around its state's average (conf/states.csv) on a bounded, mean-reverting walk."""
from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

DEFAULT_STATES_FILE = Path(__file__).resolve().parent.parent / "conf" / "states.csv"
DEFAULT_SENSORS = 500
GUID_PREFIX, DESTINATION_PREFIX = "0-ZZZ", "0-AAA"
ID_DIGITS, GUID_SUFFIX_DIGITS = 8, 2

# Temperature walk, in °F. Each reading: offset = (offset + U(-STEP, +STEP)) * (1 - PULL).
# Bound: if |o| <= 9 then |o ± 1| <= 10 and |(o ± 1) * 0.9| <= 9; the start offset is
# within ±5 <= 9, so by induction |offset| <= 9 forever (9 = STEP * (1 - PULL) / PULL).
START_SPREAD_F = 5.0
WALK_STEP_F = 1.0
RECALIBRATION_PULL = 0.1
WALK_BOUND_F = 9.0
TEMPERATURE_DECIMALS = 1
ROUNDING_SLACK_F = 0.05  # rounding to 1 decimal moves a value by at most half a tenth
# No non-anomalous reading is ever farther than this from its state's baseline.
NORMAL_MAX_DEVIATION = WALK_BOUND_F + ROUNDING_SLACK_F


@dataclass
class Sensor:
    """One device: identity and state are fixed; baseline_f is its state's average until a
    shift moves it (for good); offset_f is its walk position around baseline_f."""

    guid: str
    destination: str
    state: str
    baseline_f: float
    offset_f: float
    last: tuple[datetime, float] | None = None  # (event time, reading) last emitted
    incident: str | None = None  # "stuck" or "drift" while one lasts
    remaining: int = 0  # readings left in the incident
    incident_f: float = 0.0  # the stuck value, or the drift offset
    silent_until: datetime | None = None


def _unique_id(make_id: Callable[[], str], taken: set[str]) -> str:
    """Call make_id() until it returns a value not in taken; record and return it."""
    while (new_id := make_id()) in taken:
        pass
    taken.add(new_id)
    return new_id


def make_sensors(states: dict[str, float], n: int, rng: random.Random) -> list[Sensor]:
    """n sensors with unique guids and destinations; once n >= len(states) every state has one."""
    codes = sorted(states)  # sorted first so the shuffle depends only on the seed
    rng.shuffle(codes)
    guids: set[str] = set()
    destinations: set[str] = set()

    def digits(width: int) -> str:
        return f"{rng.randrange(10**width):0{width}d}"

    def new_guid() -> str:
        suffix = digits(GUID_SUFFIX_DIGITS) + rng.choice(string.ascii_uppercase)
        return f"{GUID_PREFIX}{digits(ID_DIGITS)}-{suffix}"

    sensors = []
    for i in range(n):
        # Round-robin over the shuffled states covers them all, then random choices.
        state = codes[i] if i < len(codes) else rng.choice(codes)
        guid = _unique_id(new_guid, guids)
        destination = _unique_id(lambda: DESTINATION_PREFIX + digits(ID_DIGITS), destinations)
        offset = rng.uniform(-START_SPREAD_F, START_SPREAD_F)
        sensors.append(Sensor(guid, destination, state, states[state], offset))
    return sensors


def round_temperature(value: float) -> float:
    """Round to the emitted precision; never returns -0.0."""
    return round(value, TEMPERATURE_DECIMALS) + 0.0


def advance_walk(sensor: Sensor, rng: random.Random) -> float:
    """Move the sensor one step on its bounded walk and return the new reading."""
    step = rng.uniform(-WALK_STEP_F, WALK_STEP_F)
    sensor.offset_f = (sensor.offset_f + step) * (1.0 - RECALIBRATION_PULL)
    return round_temperature(sensor.baseline_f + sensor.offset_f)
