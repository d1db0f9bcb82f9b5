"""Tests for iotsimulator.py and its package simulator/: output format, determinism, the
temperature model, anomaly ground truth, clocks and CLI errors. No Spark and no Kafka broker
needed."""
from __future__ import annotations

import csv
import itertools
import json
import math
import random
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

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


# --- conf/states.csv -------------------------------------------------------------------

def test_states_table_has_51_known_rows() -> None:
    with sim.DEFAULT_STATES_FILE.open(newline="") as handle:
        assert handle.readline().strip() == "state,name,avg_temp_f"
    assert len(STATES) == US_STATES_PLUS_DC and "DC" in STATES
    assert (STATES["AK"], STATES["FL"], STATES["HI"], STATES["ND"], STATES["CA"]) == (
        26.6, 70.7, 70.0, 40.4, 59.4)
    assert all(20.0 < value < 75.0 for value in STATES.values())


# --- output format ---------------------------------------------------------------------

def test_every_line_has_the_exact_shape() -> None:
    stdout = run_cli("3000", "--seed", "11", "--sensors", "80", "--anomaly-rate", "0.1").stdout
    lines = stdout.splitlines()
    assert len(lines) == 3000 and stdout.endswith("\n")
    for line in lines:
        event = json.loads(line)
        assert json.dumps(event) == line  # default separators, nothing extra
        assert list(event) == TOP_KEYS
        assert list(event["payload"]) == ["format", "data"]
        assert event["payload"]["format"] == "urn:example:sensor:temp"
        assert list(event["payload"]["data"]) == ["temperature"]
        assert GUID_RE.match(event["guid"]) and DESTINATION_RE.match(event["destination"])
        assert EVENT_TIME_RE.match(event["eventTime"])
        assert event["state"] in STATES
        assert isinstance(temperature(event), float)
        assert RAW_TEMPERATURE_RE.search(line), line  # at most one decimal


def test_start_time_offset_is_converted_to_utc_and_interval_applied() -> None:
    events = parse_lines(run_cli("3", "--start-time", "2026-03-01T12:00:00+02:00",
                                 "--event-interval", "1.5").stdout)
    assert [e["eventTime"] for e in events] == [
        "2026-03-01T10:00:00.000000Z", "2026-03-01T10:00:01.500000Z", "2026-03-01T10:00:03.000000Z"]


# --- determinism -----------------------------------------------------------------------

def test_same_seed_gives_byte_identical_output() -> None:
    args = ("2000", "--seed", "42", "--anomaly-rate", "0.05")
    first, second = run_cli(*args).stdout, run_cli(*args).stdout
    assert first == second
    assert run_cli("2000", "--seed", "43", "--anomaly-rate", "0.05").stdout != first


# --- sensors ---------------------------------------------------------------------------

def test_each_guid_keeps_its_state_and_destination() -> None:
    identity: dict[str, tuple[str, str]] = {}
    for event in parse_lines(run_cli("20000", "--seed", "5", "--sensors", "300").stdout):
        seen = identity.setdefault(event["guid"], (event["state"], event["destination"]))
        assert seen == (event["state"], event["destination"]), event
    destinations = [dest for _, dest in identity.values()]
    assert len(set(destinations)) == len(destinations)  # one destination per sensor


@pytest.mark.parametrize("sensors", [1, 7, 51, 120])
def test_distinct_sensors_equals_option(sensors: int) -> None:
    events = parse_lines(run_cli("20000", "--seed", "9", "--sensors", str(sensors)).stdout)
    assert len({e["guid"] for e in events}) == sensors
    if sensors >= US_STATES_PLUS_DC:
        assert {e["state"] for e in events} == set(STATES)


def test_make_sensors_covers_every_state_and_ids_are_unique() -> None:
    for seed in range(20):
        fleet = sim.make_sensors(STATES, US_STATES_PLUS_DC, random.Random(seed))
        assert {s.state for s in fleet} == set(STATES)
        assert len({s.guid for s in fleet}) == len({s.destination for s in fleet}) == len(fleet)
        assert all(abs(s.offset_f) <= sim.START_SPREAD_F for s in fleet)


# --- temperature model -----------------------------------------------------------------

def test_walk_stays_bounded_and_centred_on_the_baseline() -> None:
    _, pairs = generate(200_000, sensors=20, seed=3)
    readings: dict[str, list[float]] = defaultdict(list)
    for event, labels in pairs:
        assert labels == []
        assert deviation(event) <= sim.NORMAL_MAX_DEVIATION, event
        readings[event["guid"]].append(temperature(event) - STATES[event["state"]])
    assert max(max(map(abs, r)) for r in readings.values()) > 3.0  # it does wander
    for offsets in readings.values():
        # Stationary sd ~1.2 °F, correlation time ~20 readings, ~10,000 readings per
        # sensor: the standard error of the mean is ~0.05 °F, so 0.5 is ten of them.
        assert abs(sum(offsets) / len(offsets)) < 0.5


def test_anomalies_leave_the_walk_untouched() -> None:
    fleet, _ = generate(0, sensors=10, seed=8)
    before = [s.offset_f for s in fleet]
    rng = random.Random(1)
    clock = sim.simulated_clock(sim.parse_utc(sim.DEFAULT_START_TIME), 0.01)
    labelled = [labels for _, labels in sim.events(fleet, rng, clock, 500, anomaly_rate=1.0)]
    assert all(len(labels) == 1 for labels in labelled)
    assert [s.offset_f for s in fleet] == before


def test_labels_are_exactly_the_readings_outside_the_band(tmp_path: Path) -> None:
    count, rate = 40_000, 0.05
    labels_path = tmp_path / "labels.csv"
    stdout = run_cli(str(count), "--seed", "21", "--sensors", "200", "--anomaly-rate", str(rate),
                     "--labels", str(labels_path)).stdout
    events = parse_lines(stdout)
    with labels_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["guid", "eventTime", "kind", "temperature"]
        labels = {(row["guid"], row["eventTime"]): row for row in reader}
    outside = {(e["guid"], e["eventTime"]): e for e in events if deviation(e) > ANOMALY_BAND_F}
    assert set(labels) == set(outside)
    for key, row in labels.items():
        emitted = temperature(outside[key])
        assert float(row["temperature"]) == emitted
        if row["kind"] == "impossible":
            assert abs(emitted) >= IMPOSSIBLE_FLOOR_F
        else:
            assert row["kind"] == "spike" and abs(emitted) < IMPOSSIBLE_FLOOR_F
            assert deviation(outside[key]) <= sim.SPIKE_MAX_F + sim.ROUNDING_SLACK_F
    sigma = math.sqrt(count * rate * (1 - rate))
    assert abs(len(labels) - count * rate) < BINOMIAL_SIGMAS * sigma
    spikes = sum(row["kind"] == "spike" for row in labels.values())
    assert abs(spikes - len(labels) / 2) < BINOMIAL_SIGMAS * math.sqrt(len(labels) / 4)
    normal = [e for e in events if (e["guid"], e["eventTime"]) not in labels]
    assert all(deviation(e) <= sim.NORMAL_MAX_DEVIATION for e in normal)


def test_incidents_are_labelled_as_they_are_emitted(tmp_path: Path) -> None:
    labels_path = tmp_path / "labels.csv"
    stdout = run_cli("60000", "--seed", "5", "--sensors", "50", "--stuck-rate", "0.002",
                     "--drift-rate", "0.002", "--silent-rate", "0.0003",
                     "--labels", str(labels_path)).stdout
    events = parse_lines(stdout)
    with labels_path.open(newline="") as handle:
        labels = list(csv.DictReader(handle))
    kinds = {k: [r for r in labels if r["kind"] == k] for k in ("stuck", "drift", "silent")}
    assert all(len(rows) > 10 for rows in kinds.values())
    by_sensor: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_sensor.setdefault(e["guid"], []).append(e)
    position = {(e["guid"], e["eventTime"]): i for rows in by_sensor.values() for i, e in enumerate(rows)}

    # stuck: each labelled reading repeats the sensor's previous reading exactly, in runs of at
    # least 15 (the job's stuck detector needs 10 identical values in a row).
    stuck = {(r["guid"], r["eventTime"]) for r in kinds["stuck"]}
    runs = 0
    for guid, rows in by_sensor.items():
        length = 0
        for before, e in itertools.pairwise(rows):
            if (guid, e["eventTime"]) in stuck:
                assert temperature(e) == temperature(before)
                length += 1
            elif length:
                assert length >= sim.STUCK_READINGS[0]
                runs, length = runs + 1, 0
    assert runs > 10
    # drift: labelled readings are 20-30 °F (± the walk) off their baseline, outside the band.
    drift = {(r["guid"], r["eventTime"]) for r in kinds["drift"]}
    for e in events:
        if (e["guid"], e["eventTime"]) in drift:
            assert sim.DRIFT_MIN_F - sim.NORMAL_MAX_DEVIATION <= deviation(e)
            assert deviation(e) <= sim.DRIFT_MAX_F + sim.NORMAL_MAX_DEVIATION
    # silent: the labelled reading is the sensor's; its next comes >= 180 s later (or never).
    for r in kinds["silent"]:
        rows = by_sensor[r["guid"]]
        i = position[(r["guid"], r["eventTime"])]
        assert temperature(rows[i]) == float(r["temperature"])
        if i + 1 < len(rows):
            gap = sim.parse_utc(rows[i + 1]["eventTime"]) - sim.parse_utc(r["eventTime"])
            assert gap.total_seconds() >= sim.SILENT_SECONDS[0]
    # Nothing else moved: unlabelled readings stay on the bounded walk.
    labelled = stuck | drift
    assert all(deviation(e) <= sim.NORMAL_MAX_DEVIATION for e in events
               if (e["guid"], e["eventTime"]) not in labelled)


def test_shifts_are_labelled_at_about_their_rate(tmp_path: Path) -> None:
    count, sensors, rate = 60_000, 50, 0.002
    labels_path = tmp_path / "labels.csv"
    events = parse_lines(run_cli(str(count), "--seed", "13", "--sensors", str(sensors),
                                 "--shift-rate", str(rate), "--labels", str(labels_path)).stdout)
    with labels_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["kind"] for row in rows} == {"shift"}
    # Any reading but a sensor's first can be a shift's (no other fault is on here).
    chances = count - sensors
    assert abs(len(rows) - chances * rate) < BINOMIAL_SIGMAS * math.sqrt(chances * rate * (1 - rate))
    emitted = {(e["guid"], e["eventTime"]): temperature(e) for e in events}
    keys = [(row["guid"], row["eventTime"]) for row in rows]
    assert len(set(keys)) == len(keys)
    assert all(float(row["temperature"]) == emitted[key] for row, key in zip(rows, keys, strict=True))


def test_a_shifted_sensor_reads_on_around_its_new_level() -> None:
    fleet, pairs = stream(200_000, sensors=20, seed=17, rates={"shift": 0.0002})
    shifts: list[tuple[float, float, list[float]]] = []  # (old level, new level, its readings)
    current: dict[str, list[float]] = {}
    levels = {s.guid: s.baseline_f for s in fleet}
    for event, kinds, level in follow_levels(fleet, pairs):
        guid, reading = event["guid"], temperature(event)
        if kinds:
            assert kinds == ["shift"]
            current[guid] = []
            shifts.append((levels[guid], level, current[guid]))
            levels[guid] = level
        # The shift's own reading is the first at the new level; every later one stays there.
        assert abs(reading - level) <= sim.NORMAL_MAX_DEVIATION, event
        if guid in current:
            current[guid].append(reading)
    long_runs = [s for s in shifts if len(s[2]) >= LONG_RUN_READINGS]
    assert len(shifts) > 20 and len(long_runs) > 10
    for old, new, readings in long_runs:
        direction = math.copysign(1.0, new - old)
        mean = sum(readings) / len(readings)
        assert abs(mean - new) < CENTRE_TOLERANCE_F
        # At least 10 °F off the old level, in the shift's direction, but for the walk's noise:
        # a shift can be as small as 10 °F.
        assert direction * (mean - old) >= sim.SHIFT_MIN_F - CENTRE_TOLERANCE_F


def test_faults_after_a_shift_are_relative_to_the_new_level() -> None:
    fleet, pairs = stream(100_000, sensors=20, seed=23, anomaly_rate=0.01,
                          rates={"shift": 0.001, "drift": 0.001})
    shifted: set[str] = set()
    seen: dict[str, int] = defaultdict(int)  # spike and drift readings of shifted sensors
    for event, kinds, level in follow_levels(fleet, pairs):
        guid, off = event["guid"], abs(temperature(event) - level)
        if "spike" in kinds:
            assert sim.SPIKE_MIN_F - sim.ROUNDING_SLACK_F <= off <= sim.SPIKE_MAX_F + sim.ROUNDING_SLACK_F
        elif "drift" in kinds:
            assert sim.DRIFT_MIN_F - sim.NORMAL_MAX_DEVIATION <= off
            assert off <= sim.DRIFT_MAX_F + sim.NORMAL_MAX_DEVIATION
        elif "impossible" not in kinds:
            assert off <= sim.NORMAL_MAX_DEVIATION, event
        if "shift" in kinds:
            shifted.add(guid)
        elif guid in shifted:
            for kind in set(kinds) & {"spike", "drift"}:
                seen[kind] += 1
    assert seen["spike"] > 50 and seen["drift"] > 50


def test_shift_rate_0_changes_nothing(tmp_path: Path) -> None:
    args = ("5000", "--seed", "4", "--sensors", "30", "--anomaly-rate", "0.01", "--stuck-rate",
            "0.002", "--drift-rate", "0.002", "--silent-rate", "0.001")
    runs = {}
    for name, extra in (("without", ()), ("zero", ("--shift-rate", "0")),
                        ("on", ("--shift-rate", "0.001"))):
        labels_path = tmp_path / f"{name}.csv"
        runs[name] = (run_cli(*args, *extra, "--labels", str(labels_path)).stdout,
                      labels_path.read_text())
    assert runs["zero"] == runs["without"]
    assert {"spike", "stuck", "drift", "silent"} <= {
        row["kind"] for row in csv.DictReader(runs["zero"][1].splitlines())}
    assert runs["on"][0] != runs["without"][0] and "shift" in runs["on"][1]


# --- clocks ----------------------------------------------------------------------------

def test_wall_clock_is_strictly_increasing_true_utc() -> None:
    before = datetime.now(UTC)
    events = parse_lines(run_cli("5000").stdout)
    after = datetime.now(UTC)
    times = [sim.parse_utc(e["eventTime"]) for e in events]
    assert all(earlier < later for earlier, later in itertools.pairwise(times))
    assert before - WALL_CLOCK_SLACK <= times[0] and times[-1] <= after + WALL_CLOCK_SLACK


def test_wall_clock_breaks_ties() -> None:
    clock = sim.wall_clock()
    times = [next(clock) for _ in range(10_000)]
    assert len(set(times)) == len(times) and times == sorted(times)


# --- CLI -------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["-5"], "must be >= 0"),
    ([], "is required when writing to stdout"),
    (["10", "--rate", "-1"], "must be >= 0"),
    (["--rate", "10", "--duration", "0"], "must be > 0"),
    (["10", "--anomaly-rate", "2"], "must be in [0, 1]"),
    (["10", "--shift-rate", "1.5"], "must be in [0, 1]"),
    (["10", "--shift-rate", "-0.1"], "must be in [0, 1]"),
    (["10", "--shift-rate", "often"], "invalid value 'often'"),
    (["10", "--sensors", "0"], "must be >= 1"),
    (["10", "--topic", "t"], "only valid with --bootstrap-server"),
    (["--bootstrap-server", "localhost:9092", "--count", "5"], "--topic and --rate are required"),
    (["--bootstrap-server", "localhost:9092", "--topic", "t", "--rate", "-1"], "must be >= 0"),
])
def test_bad_usage_exits_2_without_traceback(args: list[str], message: str) -> None:
    result = run_cli(*args, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("content", [None, "state,name\nCA,California\n", "state,name,avg_temp_f\n",
                                     "state,name,avg_temp_f\nCA,California,warm\n"])
def test_bad_states_file_is_a_one_line_error(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "states.csv"
    if content is not None:
        path.write_text(content)
    result = run_cli("10", "--states-file", str(path), check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "states" in result.stderr


def test_help_documents_options_and_examples() -> None:
    help_text = run_cli("--help").stdout
    for option in ("--sensors", "--seed", "--start-time", "--event-interval", "--anomaly-rate",
                   "--stuck-rate", "--drift-rate", "--silent-rate", "--shift-rate",
                   "--labels", "--states-file", "--bootstrap-server", "--topic", "--rate",
                   "--duration", "--count", "examples:"):
        assert option in help_text


def test_rate_on_stdout_streams_exactly_rate_times_duration() -> None:
    # 2,000 events/s for 1.5 s: exactly 3,000 lines, arriving over the whole time (a reader
    # piping them into kafka-console-producer gets them as they fall due, not at the end).
    started = time.monotonic()
    arrivals = []
    with subprocess.Popen([sys.executable, str(SCRIPT), "--rate", "2000", "--duration", "1.5",
                           "--seed", "3"], stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            arrivals.append(time.monotonic())
            json.loads(line)
    assert proc.returncode == 0 and len(arrivals) == 3000
    assert arrivals[-1] - started >= 1.4 and arrivals[-1] - arrivals[0] >= 1.0


def test_sensor_seed_gives_the_same_fleet_on_the_real_clock() -> None:
    runs = [parse_lines(run_cli("400", "--sensors", "20", "--sensor-seed", "5").stdout)
            for _ in range(2)]
    fleets = [{(e["guid"], e["state"]) for e in events} for events in runs]
    assert fleets[0] == fleets[1] and len(fleets[0]) == 20
    assert [e["payload"] for e in runs[0]] != [e["payload"] for e in runs[1]]  # readings differ
    assert parse_lines(run_cli("400", "--sensors", "20", "--sensor-seed", "6").stdout)[0]["guid"] \
        not in {g for g, _ in fleets[0]}


def test_rate_on_stdout_ends_with_the_count() -> None:
    assert len(run_cli("50", "--rate", "1000").stdout.splitlines()) == 50


def test_broken_pipe_is_quiet() -> None:
    with subprocess.Popen([sys.executable, str(SCRIPT), "1000000"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith(b'{"guid": ')
        proc.stdout.close()
        stderr = proc.stderr.read()
        assert proc.wait(timeout=60) == 0
    assert stderr == b""


def test_ten_thousand_events_run() -> None:
    started = time.monotonic()
    lines = run_cli("10000").stdout.splitlines()
    print(f"10,000 events in {time.monotonic() - started:.2f} s")
    assert len(lines) == 10_000


# --- Kafka producing logic, with a stand-in producer (no broker) ------------------------

# kafka-python 3.0.12 itself uses deprecated importlib.resources calls on import.
def test_unreachable_broker_is_a_one_line_error_exit_1() -> None:
    started = time.monotonic()
    result = run_cli("--bootstrap-server", "127.0.0.1:1", "--topic", "t", "--rate", "10",
                     "--count", "5", check=False)
    assert time.monotonic() - started < 15
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("iotsimulator: cannot reach Kafka at 127.0.0.1:1: ")
    assert "is the broker running? (./scripts/kafka-start.sh)" in result.stderr
