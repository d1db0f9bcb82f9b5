"""Event time on real Kafka delivery, end to end: recorded history through the real console
producer and spark-submit with default settings, late readings restating their windows, a backlog
read in slices whose partitions run minutes apart, re-sends on another partition, and a partition
that goes idle in a live run. Every figure is checked against plain Python over the same lines.
"""
# Over 300 lines: its tests share two fixtures' job runs and the plain-Python figures they check.

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from kafka.partitioner.default import murmur2

import reference
from conftest import ROOT, configured, run_script, run_scripts
from tables import table_rows
from test_crash import start_job, stop_job, wait_for_blocks
from test_e2e import read_topic
from times import iso, parse_iso

pytestmark = pytest.mark.e2e

PARTITIONS = 3
SPARK_OPTS = ["--conf", "spark.ui.enabled=false", "--"]
# The runs take conf/job.toml's windows and watermark delay.
WINDOW = timedelta(seconds=configured().window_seconds)
DELAY = timedelta(seconds=configured().watermark_seconds)
SEED_START = datetime(2016, 11, 16, 13, 26, 39, 447974, tzinfo=UTC)  # the seed's sample's time


def line(guid: str, state: str, t: datetime, temperature: float) -> str:
    """One reading in the seed's format."""
    return json.dumps({"guid": guid, "destination": "0-AAA12345678", "state": state,
                       "eventTime": iso(t), "payload": {"format": "urn:example:sensor:temp",
                                                        "data": {"temperature": temperature}}})


def key_for(partition: int, prefix: str) -> str:
    """A record key that Kafka's default partitioner (murmur2, as the console producer's) sends
    to `partition` of a PARTITIONS-partition topic."""
    for n in range(10_000):
        key = f"{prefix}-{n}"
        # Kafka's BuiltInPartitioner: toPositive(murmur2(key)) % partitions.
        if (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS == partition:
            return key
    raise AssertionError("no key found")


table = partial(table_rows, aware=True)  # the clocks here are aware UTC datetimes


def window_start(t: datetime) -> datetime:
    """The start of the window `t` is in."""
    return datetime.fromtimestamp(t.timestamp() // WINDOW.total_seconds() * WINDOW.total_seconds(),
                                  UTC)


def latest_windows(out: Path) -> dict[tuple[str, datetime], dict]:
    """window_stats as its latest revision of each (state, window start)."""
    latest: dict[tuple[str, datetime], dict] = {}
    for r in table(out, "window_stats"):
        key = (r["state"], r["window_start"])
        if key not in latest or r["revision"] > latest[key]["revision"]:
            latest[key] = r
    return latest


def window_figures(readings: list[reference.Reading], clock: datetime) -> dict:
    """Plain Python: per (state, window start) of every window that ends by `clock`: messages,
    distinct sensors, average, min, max."""
    groups: dict[tuple[str, datetime], list[reference.Reading]] = defaultdict(list)
    for r in readings:
        start = window_start(parse_iso(r.event_time))
        if start + WINDOW <= clock:
            groups[(r.state, start)].append(r)
    return {k: (len(rs), len({r.guid for r in rs}), sum(r.temperature for r in rs) / len(rs),
                min(r.temperature for r in rs), max(r.temperature for r in rs))
            for k, rs in groups.items()}


def written_figures(out: Path) -> dict:
    return {k: (w["messages"], w["sensors"], pytest.approx(w["avg_temperature"], abs=1e-9),
                w["min_temperature"], w["max_temperature"])
            for k, w in latest_windows(out).items()}


def clock_of(records: dict[tuple[int, int], bytes | None]) -> datetime:
    """The clock after reading every record: the lowest latest event time over the partitions,
    less the delay, truncated to milliseconds."""
    latest: dict[int, datetime] = {}
    for (partition, _), value in records.items():
        t = parse_iso(json.loads(value)["eventTime"])
        latest[partition] = max(latest.get(partition, t), t)
    slowest = min(latest.values())
    return slowest.replace(microsecond=slowest.microsecond // 1000 * 1000) - DELAY


def end_clock(records: dict[tuple[int, int], bytes | None]) -> datetime:
    """The clock once every partition has been read to its end (--available-now): past every
    reading read, to the end of the latest one's window."""
    latest = max(parse_iso(json.loads(v)["eventTime"]) for v in records.values())
    return window_start(latest) + WINDOW


def readings_of(records) -> list[reference.Reading]:
    states = set(reference.baselines())
    return [reference.usable(v, states) for _, v in sorted(records.items())]


@pytest.fixture(scope="module")
def history(broker, tmp_path_factory):
    """Run 1: 3,000 recorded readings of 2016 (the simulator in the seed's format) fed with the
    console producer and read with default settings. Run 2: 100 readings 5-15 minutes behind the
    clock, fed the same way."""
    d = tmp_path_factory.mktemp("history")
    topic, out = "replay-history", d / "output"
    broker.create_topic(topic, PARTITIONS)
    with (d / "data.txt").open("w") as f:
        subprocess.run([sys.executable, str(ROOT / "iotsimulator.py"), "3000", "--seed", "11",
                        "--sensors", "100", "--event-interval", "0.4", "--start-time",
                        SEED_START.strftime("%Y-%m-%dT%H:%M:%SZ")], stdout=f, check=True)
    broker.produce_file(topic, d / "data.txt")
    job = [broker.bootstrap, topic, "--output-dir", str(out), "--available-now"]
    first = run_script("submit.sh", *SPARK_OPTS, *job)
    before = read_topic(broker.bootstrap, topic)
    clock = end_clock(before)  # the run read every partition to its end
    rng = random.Random(5)
    sensors = sorted({(r.guid, r.state) for r in readings_of(before)})
    base = reference.baselines()
    late = []
    for i in range(100):
        guid, state = rng.choice(sensors)
        t = clock - timedelta(seconds=rng.uniform(300, 900)) + timedelta(microseconds=i)
        late.append(line(guid, state, t, round(base[state] + rng.gauss(0, 2), 2)))
    (d / "late.txt").write_text("\n".join(late) + "\n")
    broker.produce_file(topic, d / "late.txt")
    second = run_script("submit.sh", *SPARK_OPTS, *job)
    return {"out": out, "before": before, "after": read_topic(broker.bootstrap, topic),
            "clock": clock, "runs": (first.stdout, second.stdout)}


def test_recorded_history_is_accepted_with_default_settings(history):
    totals = sorted(table(history["out"], "batch_totals"), key=lambda t: t["batch_id"])
    first = totals[0]
    assert (first["consumed"], first["accepted"], first["quarantined"]) == (3000, 3000, 0)
    assert first["watermark"] == history["clock"]
    readings = readings_of(history["before"])
    assert all(r.event_time.startswith("2016-11-16") for r in readings)
    stats = {r["state"]: r for r in table(history["out"], "state_stats") if r["batch_id"] == 0}
    for state, fig in reference.by_state(readings).items():
        assert stats[state]["messages"] == fig.messages
        assert stats[state]["avg_temperature"] == pytest.approx(fig.avg, abs=1e-9)
    expected = window_figures(readings, history["clock"])
    first_run = written_figures_upto(history["out"], 0)
    assert first_run == expected
    assert len(expected) > 400  # 20 minutes of 51 states
    # The end of the input closed every window; the batch after it judged the last readings.
    assert "== Batch 0 " in history["runs"][0] and "End of input: every partition" in history["runs"][0]
    assert "== Batch 1 " in history["runs"][0] and "== Batch 2 " not in history["runs"][0]


def written_figures_upto(out: Path, batch_id: int) -> dict:
    rows = [r for r in table(out, "window_stats") if r["batch_id"] <= batch_id]
    assert all(r["revision"] == 0 for r in rows)
    return {(r["state"], r["window_start"]): (r["messages"], r["sensors"],
                                              pytest.approx(r["avg_temperature"], abs=1e-9),
                                              r["min_temperature"], r["max_temperature"])
            for r in rows}


def test_late_readings_are_counted_and_restate_their_windows(history):
    # Every late reading (at most 15 minutes behind the clock) restates its window: within
    # conf/job.toml's horizon.
    assert configured().restate_horizon_seconds >= (timedelta(minutes=15) + WINDOW).total_seconds()
    out = history["out"]
    totals = sorted(table(out, "batch_totals"), key=lambda t: t["batch_id"])
    later = [t for t in totals if t["batch_id"] > 0]
    assert sum(t["late"] for t in later) == 100
    assert all(t["watermark"] == history["clock"] for t in later)  # behind it: it stays
    late = [r for r in table(out, "late_events") if r["batch_id"] > 0]
    assert len(late) == 100
    touched = {(r["state"], r["window_start"]) for r in late}
    restated = {(r["state"], r["window_start"]): r["revision"]
                for r in table(out, "window_stats") if r["batch_id"] > 0}
    assert set(restated) == touched
    assert sum(t["restated"] for t in later) == len(touched)
    existed = {(r["state"], r["window_start"]) for r in table(out, "window_stats")
               if r["batch_id"] == 0}
    assert all(rev == (1 if key in existed else 0) for key, rev in restated.items())
    # The latest revisions: every accepted reading of each window, the late ones included.
    assert written_figures(out) == window_figures(readings_of(history["after"]), history["clock"])
    assert "restating a window with late readings" in history["runs"][1]


@pytest.fixture(scope="module")
def backlog(broker, tmp_path_factory):
    """A backlog whose partitions run minutes apart in event time (partition 0 five minutes ahead
    of partition 1, partition 2 two), with 50 readings of partition 0's sensors sent again on
    partition 2, read twice: in slices of 300 records, and in one batch."""
    d = tmp_path_factory.mktemp("backlog")
    topic = "replay-backlog"
    broker.create_topic(topic, PARTITIONS)
    rng = random.Random(9)
    base = reference.baselines()
    states = sorted(base)[:12]
    ahead = {0: timedelta(minutes=5), 1: timedelta(0), 2: timedelta(minutes=2)}
    t0 = SEED_START.replace(microsecond=0)
    lines: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    sensors = {p: [(f"0-P{p}S{i:02d}", states[(p * 4 + i) % len(states)]) for i in range(20)]
               for p in range(PARTITIONS)}
    for p, group in sensors.items():
        key = key_for(p, f"p{p}")
        for guid, state in group:
            jitter = timedelta(milliseconds=rng.randint(0, 14_000))
            for n in range(80):  # a reading every 15 s for 20 minutes
                t = t0 + ahead[p] + jitter + timedelta(seconds=15 * n)
                value = round(base[state] + rng.gauss(0, 1.5), 2)
                lines[p].append((t, f"{key}\t{line(guid, state, t, value)}"))
    first = {p: sorted(lines[p]) for p in lines}
    resend_key = key_for(2, "resend")
    for t, text in rng.sample(first[0][200:1400], 50):
        # On partition 2, among its own readings of a minute before (partition 2 runs three
        # minutes behind partition 0: the re-send comes two minutes after the reading).
        lines[2].append((t - timedelta(minutes=1), f"{resend_key}\t{text.split(chr(9), 1)[1]}"))
    with (d / "data.txt").open("w") as f:
        for p in range(PARTITIONS):
            f.write("".join(text + "\n" for _, text in sorted(lines[p])))
    broker.produce_file(topic, d / "data.txt", "--property", "parse.key=true",
                        "--property", "key.separator=\t")
    sliced, whole = d / "sliced", d / "whole"
    runs = run_scripts(("submit.sh", *SPARK_OPTS, broker.bootstrap, topic, "--output-dir",
                        str(sliced), "--available-now", "--max-offsets-per-trigger", "300"),
                       ("submit.sh", *SPARK_OPTS, broker.bootstrap, topic, "--output-dir",
                        str(whole), "--available-now"))
    return {"sliced": sliced, "whole": whole, "records": read_topic(broker.bootstrap, topic),
            "runs": runs}


def test_a_backlog_read_in_slices_is_judged_by_its_slowest_partition(backlog):
    sliced = table(backlog["sliced"], "batch_totals")
    whole = table(backlog["whole"], "batch_totals")
    # One batch of records, and the batch without records that judges the last readings.
    assert len(sliced) >= 10 and len(whole) == 2
    assert sum(t["late"] for t in sliced) == 0
    assert sum(t["accepted"] for t in sliced) == sum(t["accepted"] for t in whole) == 3 * 20 * 80
    # Until the end of the input, the slowest partition holds the clock back (never a reading
    # late); the end moves it past every reading read.
    before_end = sorted(sliced, key=lambda t: t["batch_id"])[-3]
    assert before_end["watermark"] <= clock_of(backlog["records"])
    clock = end_clock(backlog["records"])
    assert max(t["watermark"] for t in sliced) == max(t["watermark"] for t in whole) == clock
    # The same windows, with the same figures, as one read of everything.
    assert written_figures(backlog["sliced"]) == written_figures(backlog["whole"])
    readings = [r for r in readings_of(backlog["records"])]
    unique = list({(r.guid, r.event_time): r for r in readings}.values())
    assert written_figures(backlog["whole"]) == window_figures(unique, clock)
    # No silence that one read would not find. The sensors never stop, but partitions 1 and 2
    # end 5 and 3 minutes before partition 0: at the end of the input (the latest reading read),
    # their sensors have sent nothing for longer than they may, and are silent.
    def silent(out: Path) -> set:
        return {(a["guid"], iso(a["event_time"])) for a in table(out, "anomalies")
                if a["detector"] == "silent"}

    latest = max(parse_iso(r.event_time) for r in unique)
    assert silent(backlog["sliced"]) == silent(backlog["whole"]) == reference.silences(unique, latest)
    assert {g[3] for g, _ in silent(backlog["whole"])} == {"1", "2"}  # 0-P<partition>S..


def test_re_sends_on_another_partition_are_each_counted_once(backlog):
    for out in (backlog["sliced"], backlog["whole"]):
        dups = table(out, "duplicates")
        assert len(dups) == 50 and all(d["kafka_partition"] == 2 for d in dups)
        assert {d["kind"] for d in dups} == {"resend"}
        assert sum(t["duplicates"] for t in table(out, "batch_totals")) == 50


def test_an_idle_partition_stops_holding_the_clock_back(broker, tmp_path):
    """Live: partition 1 sends a minute of readings and goes quiet; partition 0 goes on. Once
    partition 1 has been idle for the timeout (6 s), windows close by partition 0 alone."""
    topic, out = "replay-idle", tmp_path / "output"
    broker.create_topic(topic, PARTITIONS)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    keys = {p: key_for(p, f"idle{p}") for p in (0, 1)}

    def feed(partition: int, start: int, stop: int) -> None:
        path = tmp_path / f"p{partition}-{start}.txt"
        guid = f"0-IDLE{partition}"
        path.write_text("".join(
            f"{keys[partition]}\t{line(guid, 'CA', t0 + timedelta(seconds=s), 60.0 + s % 3)}\n"
            for s in range(start, stop, 5)))
        broker.produce_file(topic, path, "--property", "parse.key=true",
                            "--property", "key.separator=\t")

    feed(1, 0, 60)
    feed(0, 0, 60)
    job, lines = start_job(broker.bootstrap, str(out), topic, 1500, "--idle-timeout-seconds", "6")
    try:
        wait_for_blocks(job, lines, 1)
        # Partition 1's readings end at t0 + 55 s: it holds the clock at t0 + 25 s.
        feed(0, 60, 180)
        time.sleep(7)
        feed(0, 180, 300)
        target = t0 + timedelta(seconds=295) - DELAY
        deadline = time.monotonic() + 600
        while not any(t["watermark"] == target for t in table(out, "batch_totals")):
            assert job.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.5)
    finally:
        stop_job(job)
    totals = table(out, "batch_totals")
    assert sum(t["late"] for t in totals) == 0
    assert sum(t["accepted"] for t in totals) == 12 + 60
    closed = {(w["state"], w["window_start"]) for w in table(out, "window_stats")}
    # Every window of partition 0's readings that ends by the clock: t0's minute on.
    first = window_start(t0)
    assert {("CA", first + WINDOW * i) for i in range(4)} <= closed
