"""tools/evaluation/realdata.py: NAB series as the simulator's JSON lines, and the score of the job's
findings against NAB's labelled windows, on a tiny fake NAB folder and hand-made tables (no
Spark, no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tools.evaluation import realdata

MACHINE, AMBIENT = "machine_temperature_system_failure", "ambient_temperature_system_failure"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def nab(tmp_path: Path) -> Path:
    """A NAB folder with the check set's two series and their windows."""
    root = tmp_path / "nab"
    series = root / "data" / "realKnownCause"
    series.mkdir(parents=True)
    # As in NAB's machine_temperature file, a time comes back (12:10 after 12:15): the series is
    # sorted stably, the repeat keeping its place after the first 12:10.
    (series / f"{MACHINE}.csv").write_text(
        "timestamp,value\n2014-01-01 00:00:00,70.5\n2014-01-01 00:10:00,71\n"
        "2014-01-01 00:15:00,72.25\n2014-01-01 00:10:00,99\n")
    (series / f"{AMBIENT}.csv").write_text(
        "timestamp,value\n2013-12-31 23:00:00,65.0\n2014-01-01 00:00:00,66.5\n"
        "2014-01-01 01:00:00,67.0\n")
    (root / "labels").mkdir()
    windows = {
        f"realKnownCause/{MACHINE}.csv": [
            ["2014-01-01 00:00:00.000000", "2014-01-01 01:00:00.000000"],
            ["2014-01-02 00:00:00.000000", "2014-01-02 00:30:00.000000"]],
        f"realKnownCause/{AMBIENT}.csv": [
            ["2014-01-01 12:00:00.000000", "2014-01-01 13:00:00.000000"]],
        "realTraffic/speed_6005.csv": [["2015-09-01 00:00:00.000000", "2015-09-02 00:00:00.000000"]],
    }
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    return root


def test_convert_merges_the_set_in_event_time_order(nab, tmp_path):
    out = tmp_path / "check.jsonl"
    done = realdata.convert(nab, "check", out)
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert done == {"events": 7, "series": 2, "repeated_times": 1}
    # Ties (00:00) in the set's order: the machine first.
    assert [(e["guid"], e["eventTime"], e["payload"]["data"]["temperature"]) for e in events] == [
        (AMBIENT, "2013-12-31T23:00:00.000000Z", 65.0),
        (MACHINE, "2014-01-01T00:00:00.000000Z", 70.5),
        (AMBIENT, "2014-01-01T00:00:00.000000Z", 66.5),
        (MACHINE, "2014-01-01T00:10:00.000000Z", 71.0),
        (MACHINE, "2014-01-01T00:10:00.000000Z", 99.0),
        (MACHINE, "2014-01-01T00:15:00.000000Z", 72.25),
        (AMBIENT, "2014-01-01T01:00:00.000000Z", 67.0),
    ]
    assert events[0] == {
        "guid": AMBIENT, "destination": "nab", "state": "FL",
        "eventTime": "2013-12-31T23:00:00.000000Z",
        "payload": {"format": "urn:example:sensor:temp", "data": {"temperature": 65.0}},
    }


def test_convert_says_when_the_folder_is_no_nab_checkout(tmp_path):
    with pytest.raises(SystemExit, match="NAB checkout"):
        realdata.convert(tmp_path, "check", tmp_path / "out.jsonl")


def write_table(out: Path, table: str, columns: dict[str, pa.Array]) -> None:
    """One file of a job's table, where the job writes it: <table>/date=<day>/part-b<batch>-<n>."""
    folder = out / table / "date=2026-01-01"
    folder.mkdir(parents=True)
    n = len(next(iter(columns.values())))
    data = pa.table({"batch_id": pa.array([0] * n, pa.int64()), **columns})
    pq.write_table(data, folder / "part-b000000000000-000.parquet")


def stamps(*texts: str) -> pa.Array:
    return pa.array([utc(t) for t in texts], pa.timestamp("us", tz="UTC"))


@pytest.fixture
def output(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    findings = [  # (detector, guid, event time)
        ("zscore", MACHINE, "2014-01-01 00:00"),  # inside the first window (its start)
        ("zscore", MACHINE, "2014-01-01 01:00"),  # inside it (its end)
        ("zscore", MACHINE, "2014-01-01 01:05"),  # outside
        ("level_shift", MACHINE, "2014-01-01 00:00"),  # the same reading as zscore's first
        ("level_shift", AMBIENT, "2014-01-01 12:30"),  # inside the ambient window
        ("learned", MACHINE, "2014-01-02 00:10"),  # inside the second window
        ("learned", MACHINE, "2014-01-02 00:10"),  # the same reading twice: one finding
        ("silent", "speed_6005", "2015-09-01 12:00"),  # not a series of the check set
    ]
    detector, guid, moment = zip(*findings, strict=True)
    write_table(out, "anomalies", {
        "guid": pa.array(guid), "event_time": stamps(*moment), "detector": pa.array(detector),
        "score": pa.array([1.0] * len(findings))})
    readings = [  # (guid, event time, late)
        (MACHINE, "2014-01-01 00:00", False), (MACHINE, "2014-01-01 00:30", False),
        (MACHINE, "2014-01-01 00:45", True),  # late: not counted
        (MACHINE, "2014-01-01 01:00", False), (MACHINE, "2014-01-01 01:05", False),
        (MACHINE, "2014-01-01 02:00", False), (AMBIENT, "2014-01-01 12:00", False),
        (AMBIENT, "2014-01-01 12:30", False), (AMBIENT, "2014-01-01 14:00", False),
        ("speed_6005", "2015-09-01 12:00", False),  # not of the set
    ]
    guid, moment, late = zip(*readings, strict=True)
    write_table(out, "readings", {"guid": pa.array(guid), "event_time": stamps(*moment),
                                  "late": pa.array(late)})
    # Batch 0 complete (its batch_totals row): readers read the rows of complete batches only.
    write_table(out, "batch_totals", {"messages": pa.array([len(readings)], pa.int64())})
    return out


def figures(findings: int, inside: int, found: int, windows: int, normal_days: float,
            chance: float | None = None) -> dict:
    """A detector's figures; `normal_days`, the sensor-days outside the windows; `chance`, the
    share of readings inside them (the set's figures have the precision's multiple of it)."""
    precision = inside / findings if findings else None
    out = {"findings": findings, "inside": inside,
           "precision": pytest.approx(precision) if findings else None,
           "windows_found": found, "windows": windows,
           "false_per_sensor_day": pytest.approx((findings - inside) / normal_days)}
    if chance is not None:
        out["times_chance"] = pytest.approx(precision / chance) if findings else None
    return out


def test_score_counts_findings_inside_windows(nab, output):
    r = realdata.score(nab, "check", output)
    # Normal stretches: the machine's readings span 00:00-02:00, its first window an hour of
    # it; the ambient's 12:00-14:00, its window an hour of it: two hours in all.
    days, hour = 2 / 24, 1 / 24
    chance = 5 / 8
    assert r["normal_sensor_days"] == pytest.approx(days)
    assert r["detectors"] == {
        "learned": figures(1, 1, 1, 3, days, chance),
        "level_shift": figures(2, 2, 2, 3, days, chance),
        "zscore": figures(3, 2, 1, 3, days, chance),
        # Distinct readings: machine 00:00, 01:00, 01:05, 00:10 of the 2nd; ambient 12:30.
        "all": figures(5, 4, 3, 3, days, chance),
        "all but learned": figures(4, 3, 2, 3, days, chance),
    }
    assert r["per_series"][AMBIENT] == {
        "level_shift": figures(1, 1, 1, 1, hour), "all": figures(1, 1, 1, 1, hour),
        "all but learned": figures(1, 1, 1, 1, hour)}
    assert r["per_series"][MACHINE]["all"] == figures(4, 3, 2, 2, hour)
    assert r["per_series"][MACHINE]["all but learned"] == figures(3, 2, 1, 2, hour)
    # 8 readings not late of the set's series; inside windows: machine 00:00, 00:30, 01:00 and
    # ambient 12:00, 12:30.
    assert (r["readings"], r["readings_inside"]) == (8, 5)
    assert r["random_precision"] == pytest.approx(5 / 8)
    text = realdata.markdown("check", r)
    assert "| all | 5 | 4 | 0.800 | 1.3 | 3 / 3 | 12.000 |" in text
    assert f"| {MACHINE} | zscore | 3 | 2 | 0.667 | 1 / 2 | 24.000 |" in text


def test_score_leaves_out_a_skipped_detector(nab, output, tmp_path):
    json_file = tmp_path / "score.json"
    assert realdata.main(["score", "--nab", str(nab), "--set", "check", "--output-dir", str(output),
                          "--skip-detector", "learned", "--json", str(json_file)]) == 0
    r = json.loads(json_file.read_text())
    assert r["set"] == "check" and r["skipped"] == ["learned"]
    assert sorted(r["detectors"]) == ["all", "all but learned", "level_shift", "zscore"]
    assert r["detectors"]["all"] == r["detectors"]["all but learned"] == {
        "findings": 4, "inside": 3, "precision": 0.75, "windows_found": 2, "windows": 3,
        "false_per_sensor_day": pytest.approx(12.0), "times_chance": pytest.approx(1.2)}


def test_normal_readings_count_every_finding_as_false_per_sensor_day(output, tmp_path, capsys):
    # The fixture's readings, taken as normal: 3 sensors; the machine's span 2 h (00:00-02:00,
    # the late one left out), the ambient's 2 h, speed_6005's a single reading (no span).
    r = realdata.normal(output)
    days = 4 / 24
    assert (r["sensors"], r["readings"], r["sensor_days"]) == (3, 9, pytest.approx(days))
    # Each finding once (learned's row twice is one), each detector's its own.
    assert r["findings"] == {"learned": 1, "level_shift": 2, "silent": 1, "zscore": 3}
    assert r["all"] == 7 and r["all_per_sensor_day"] == pytest.approx(7 / days)
    assert realdata.main(["normal", "--output-dir", str(output)]) == 0
    text = capsys.readouterr().out
    assert "| all together | 7 | 42.000 |" in text and "NOT met (42.000)" in text


def test_score_wants_the_job_output(nab, tmp_path):
    with pytest.raises(SystemExit, match="did the job run"):
        realdata.score(nab, "check", tmp_path / "nothing")


def test_the_check_config_is_the_job_config_but_for_its_three_settings():
    import tomllib
    from dataclasses import replace

    from conftest import ROOT
    from iotstream.config import load_config

    job = load_config(ROOT / "conf" / "job.toml")
    detectors = replace(job.detectors.changed("band", enabled=False), sensor_ttl_seconds=86400.0)
    want = replace(job, detectors=detectors, alerts_topic="")
    assert want != job
    assert load_config(ROOT / "conf" / "realdata.toml") == want
    # Those settings only: every other one is job.toml's, one added there later included.
    with (ROOT / "conf" / "realdata.toml").open("rb") as f:
        assert tomllib.load(f) == {"base": "job.toml", "alerts": {"enabled": False}, "detectors": {
            "sensor_ttl_seconds": 86400, "band": {"enabled": False}}}


def test_a_silence_is_judged_by_the_readings_themselves():
    # The machine's readings: 00:00, 01:05, 02:00; the input's latest reading 03:00.
    at = [utc(f"2014-01-01 {t}") for t in ("00:00", "01:05", "02:00")]
    silences = [{"guid": MACHINE, "event_time": at[1], "score": 1800.0},  # 55 min to 02:00: real
                {"guid": MACHINE, "event_time": at[0], "score": 7200.0},  # 65 min: not more than 2 h
                {"guid": MACHINE, "event_time": at[2], "score": 3000.0}]  # 60 min to the input's end
    accepted = [(MACHINE, t) for t in at]
    assert realdata.real_gaps(silences, accepted, utc("2014-01-01 03:00")) == {
        "findings": 3, "real_gaps": 2}
