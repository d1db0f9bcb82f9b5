"""The simulator's injected faults and their ground truth: anomalies outside the band, stuck,
drifting and silent sensors, level shifts, each labelled as it is emitted. No Spark and no Kafka
broker needed."""

from __future__ import annotations

import csv
import itertools
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import simulator as sim  # importable: conftest.py puts the repo root on sys.path
from simulation import (
    ANOMALY_BAND_F,
    BINOMIAL_SIGMAS,
    CENTRE_TOLERANCE_F,
    IMPOSSIBLE_FLOOR_F,
    LONG_RUN_READINGS,
    deviation,
    follow_levels,
    parse_lines,
    run_cli,
    stream,
    temperature,
)


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
