"""Tests for iotsimulator.py and its package simulator/: output format, determinism, the
temperature model, clocks and CLI errors (the injected faults and their labels:
test_simulator_faults.py). No Spark and no Kafka broker needed."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

import simulator as sim  # importable: conftest.py puts the repo root on sys.path
from simulation import (
    DESTINATION_RE,
    EVENT_TIME_RE,
    GUID_RE,
    RAW_TEMPERATURE_RE,
    SCRIPT,
    STATES,
    TOP_KEYS,
    US_STATES_PLUS_DC,
    WALL_CLOCK_SLACK,
    deviation,
    generate,
    parse_lines,
    run_cli,
    temperature,
)

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
