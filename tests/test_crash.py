"""Exactly-once output across crashes: the job is killed with SIGKILL mid-stream, several times
(inside a batch's writes, inside a compaction, and at an arbitrary moment after it rode out a
broker outage), restarted from its checkpoint each time, and finally drained; every record must
be counted exactly once in the Parquet tables, and while the job is down after each kill every
reader the project ships sees each complete batch exactly once (tests/readers.py). One run shows
all of it: a job start costs tens of seconds here.
"""
# Over 300 lines: one run shows every kill and the outage, and its checks share that run.

from __future__ import annotations

import csv
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import ROOT, SCRIPTS, run_script
from iotstream.compaction import PAUSE_ENV
from iotstream.io.layout import held
from readers import check_every_reader
from tables import table_rows
from times import iso

pytestmark = pytest.mark.e2e

TOPIC = "iotmsgs-crash"
EVENTS = 12_000
BAD = ["garbage", "", '{"guid": "g", "state": "CA"}', "[1]"]
KILLS = 3
BLOCK_TIMEOUT = 900  # JVM start-up on a slow, shared machine
RESENDS = 200  # readings sent twice, a few lines after the first time
OUTAGE_SECONDS = 30  # the broker down while the job runs


def recent() -> str:
    """A simulated clock's start a day ago, as a live fleet's would be."""
    return (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:00Z")


def start_job(bootstrap: str, out: str, topic: str = TOPIC, per_batch: int = 1500,
              *options: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, list[str]]:
    """The job on 1-second triggers (more job options after per_batch), in a session of its own
    (so it can be killed whole)."""
    job = subprocess.Popen(
        [str(SCRIPTS / "submit.sh"), "--conf", "spark.ui.enabled=false", "--", bootstrap, topic,
         "--output-dir", out, "--trigger-seconds", "1", "--max-offsets-per-trigger",
         str(per_batch), *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env=None if env is None else {**os.environ, **env})
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(job.stdout), daemon=True).start()
    return job, lines


def wait_for_blocks(job: subprocess.Popen, lines: list[str], count: int) -> None:
    deadline = time.monotonic() + BLOCK_TIMEOUT
    while sum(line.startswith("== Batch") for line in list(lines)) < count:
        assert job.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.2)


def stop_job(job: subprocess.Popen) -> None:
    """Ctrl-C, as in a terminal; killed if it has not stopped two minutes later."""
    os.killpg(job.pid, signal.SIGINT)
    try:
        job.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)


def batch_ids_written(out: Path, table: str) -> set[int]:
    """Batch ids with a file in the table (the sink names files part-b<batch_id>-<n>)."""
    return {int(p.name[6:18]) for p in (out / table).glob("date=*/part-b*.parquet")}


def wait_mid_write(job: subprocess.Popen, lines: list[str], out: Path) -> None:
    """Until a batch has written its state_stats but not yet its batch_totals: the moment a
    crash is most likely to leave a half-written batch behind."""
    deadline = time.monotonic() + BLOCK_TIMEOUT
    while not (batch_ids_written(out, "state_stats") - batch_ids_written(out, "batch_totals")):
        assert job.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.005)


def wait_mid_compaction(job: subprocess.Popen, lines: list[str], out: Path) -> str:
    """Until a merged file and the batch files it holds are side by side (the job paused there
    by IOT_TEST_COMPACTION_PAUSE_SECONDS): a kill now leaves both. Returns the table's name."""
    deadline = time.monotonic() + BLOCK_TIMEOUT
    while True:
        for folder in out.glob("*/date=*"):
            if held(sorted(p.name for p in folder.iterdir())):
                return folder.parent.name
        assert job.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, "".join(lines)
        time.sleep(0.02)


def test_sigkill_mid_stream_loses_nothing_and_doubles_nothing(broker, spark, tmp_path):
    data, labels = _fleet_with_resends(tmp_path)
    broker.create_topic(TOPIC, partitions=3)
    # Keyed by sensor, as a fleet's gateway sends: every partition then spans the whole stream's
    # event time. (Unkeyed, the console producer's sticky partitioner may leave one partition
    # with the first minute only; it holds the clock until idle_timeout_seconds of batch time,
    # longer than this backlog takes to read, and no window would close.)
    broker.produce_file(TOPIC, _keyed(data), "--property", "parse.key=true",
                        "--property", "key.separator=\t")
    out = tmp_path / "out"
    # Merges every 2 batches (beside the stream), so that the kills and restarts meet them.
    config = tmp_path / "job.toml"  # (states.csv beside it, as in conf/)
    shutil.copy(ROOT / "conf" / "states.csv", tmp_path)
    config.write_text(re.sub(r"(?m)^compact_every_batches = \d+$", "compact_every_batches = 2",
                             (ROOT / "conf" / "job.toml").read_text()))
    records = len(_keyed(data).read_text().splitlines())
    _kill_mid_stream(broker, out, config, records, lambda: check_every_reader(spark, out))
    _drain(broker.bootstrap, out, config)
    assert check_every_reader(spark, out) == len(table_rows(out, "batch_totals"))
    assert list(out.glob("*/date=*/part-c*.parquet"))  # merges happened
    totals, late_resends = _check_every_batch_and_record_once(out)
    _check_state_figures_once(out, late_resends)
    _check_every_finding_once(out, labels)
    _check_windows_and_sensors_once(out, data, totals, late_resends)
    quarantined = Counter((q["kafka_partition"], q["kafka_offset"])
                          for q in table_rows(out, "quarantine"))
    assert len(quarantined) == len(BAD) and set(quarantined.values()) == {1}


def _fleet_with_resends(tmp_path: Path) -> tuple[Path, Path]:
    """EVENTS simulator readings (and their labels file), RESENDS of them sent again 1-40 lines
    after their first time (across batches and across the kills too), then the BAD lines."""
    data, labels = tmp_path / "data.txt", tmp_path / "labels.csv"
    with data.open("w") as f:
        subprocess.run([sys.executable, str(ROOT / "iotsimulator.py"), str(EVENTS), "--seed", "11",
                        "--anomaly-rate", "0.01", "--labels", str(labels), "--start-time",
                        recent()], stdout=f, check=True)
    lines = data.read_text().splitlines()
    rng = random.Random(9)
    for i in sorted(rng.sample(range(len(lines) - 50), RESENDS), reverse=True):
        lines.insert(i + rng.randint(1, 40), lines[i])
    data.write_text("\n".join(lines + BAD) + "\n")
    return data, labels


def _keyed(data: Path) -> Path:
    """The lines of `data` keyed by their sensor (\t between), for the console producer; the
    lines that are no reading are keyed "bad"."""
    keyed = data.with_name("keyed.txt")
    with data.open() as f, keyed.open("w") as out:
        for line in f.read().splitlines():
            guid = json.loads(line).get("guid", "bad") if line.startswith('{"guid": "0-') else "bad"
            out.write(f"{guid}\t{line}\n")
    return keyed


def _consumed(out: Path) -> int:
    return sum(t["consumed"] for t in table_rows(out, "batch_totals"))


def _kill_mid_stream(broker, out: Path, config: Path, records: int,
                     check: Callable[[], int]) -> None:
    """Starts the job KILLS times, each time killed with SIGKILL once it has shown a batch:
    inside a batch's writes, inside a compaction (between its merged file and the removal of the
    files it holds), and at an arbitrary moment after it rode out a broker outage (the broker
    down OUTAGE_SECONDS mid-stream: the job stays up and reads on once it is back). After each
    kill, while the job is down, every reader is `check`ed."""
    rng = random.Random(5)
    pause = {PAUSE_ENV: "30"}
    for kill in range(KILLS):
        job, lines = start_job(broker.bootstrap, str(out), TOPIC, 1500, "--config", str(config),
                               env=pause if kill == 1 else None)
        try:
            wait_for_blocks(job, lines, 1)
            if kill == 0:
                wait_mid_write(job, lines, out)  # inside a batch's writes
            elif kill == 1:
                merging = wait_mid_compaction(job, lines, out)
            else:
                _ride_out_an_outage(broker, job, lines, out, records)
                time.sleep(rng.uniform(0.0, 2.0))  # an arbitrary moment
        finally:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
        if kill == 1:  # a plain read of the folder now has the merged batches' rows twice
            assert Counter(repr(sorted(r.items())) for r in table_rows(out, merging)
                           ).most_common(1)[0][1] >= 2, merging
        check()


def _ride_out_an_outage(broker, job: subprocess.Popen, lines: list[str], out: Path,
                        records: int) -> None:
    """The broker stops mid-stream for OUTAGE_SECONDS and starts again: the job, documented to
    ride it out, is still up and reads on."""
    run_script("kafka-stop.sh", env=broker.env)
    before = _consumed(out)
    assert before < records  # the outage falls in the middle of the stream
    time.sleep(OUTAGE_SECONDS)
    run_script("kafka-start.sh", env=broker.env)
    deadline = time.monotonic() + BLOCK_TIMEOUT
    while _consumed(out) <= before and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert job.poll() is None, "".join(lines)
    assert _consumed(out) > before, "".join(lines)


def _drain(bootstrap: str, out: Path, config: Path) -> None:
    """The job restarted once more, until it has read everything (available-now)."""
    done = run_script("submit.sh", "--conf", "spark.ui.enabled=false", "--", bootstrap,
                      TOPIC, "--output-dir", str(out), "--available-now",
                      "--max-offsets-per-trigger", "1500", "--config", str(config))
    assert "Traceback" not in done.stdout + done.stderr


def _check_every_batch_and_record_once(out: Path) -> tuple[list[dict], int]:
    """batch_totals: every batch once, each record counted once, running totals carried across
    every restart; re-sends counted once. Returns the totals by batch and how many re-sends
    came late (rather than as duplicates)."""
    totals = sorted(table_rows(out, "batch_totals"), key=lambda t: t["batch_id"])
    ids = [t["batch_id"] for t in totals]
    assert ids == list(range(len(ids)))  # every batch once, none missing
    # Each re-send counted once: a duplicate, or (when the clock closed its window before the
    # re-send came) a late reading, which is a message.
    duplicated = sum(t["duplicates"] for t in totals)
    late_resends = RESENDS - duplicated
    assert duplicated > 0.9 * RESENDS and sum(t["late"] for t in totals) >= late_resends
    assert sum(t["messages"] for t in totals) == EVENTS + late_resends
    assert sum(t["consumed"] for t in totals) == EVENTS + RESENDS + len(BAD)
    running = 0
    for t in totals:
        running += t["messages"]
        assert t["running_messages"] == running  # carried across every restart
        assert t["consumed"] == t["accepted"] + t["quarantined"] + t["duplicates"]
    duplicates = Counter((d["guid"], d["event_time"]) for d in table_rows(out, "duplicates"))
    assert len(duplicates) == duplicated and set(duplicates.values()) == {1}
    return totals, late_resends


def _check_state_figures_once(out: Path, late_resends: int) -> None:
    stats = table_rows(out, "state_stats")
    assert Counter((s["batch_id"], s["state"]) for s in stats).most_common(1)[0][1] == 1
    assert sum(s["messages"] for s in stats) == EVENTS + late_resends


def _check_every_finding_once(out: Path, labels: Path) -> None:
    """Every detector's findings once; band's are injected readings, most of them."""
    found = Counter((a["detector"], a["guid"], iso(a["event_time"]))
                    for a in table_rows(out, "anomalies"))
    assert set(found.values()) == {1}  # every detector's findings once, the sensor query's too
    with labels.open() as f:
        injected = {(row["guid"], row["eventTime"]) for row in csv.DictReader(f)}
    # Injected readings only, each once (above); not every one: band reports a sensor's run out
    # of band once, and which readings make a run depends on the batches the kills cut (a
    # sensor's readings go to its model batch by batch).
    band = {(g, t) for d, g, t in found if d == "band"}
    assert band <= injected and len(band) > 0.85 * len(injected)
    assert {d for d, _, _ in found} >= {"band", "zscore"}


def _check_windows_and_sensors_once(out: Path, data: Path, totals: list[dict],
                                    late_resends: int) -> None:
    """Windows and sensors since the start: once each, carried across every restart."""
    windows = Counter((w["window_start"], w["state"]) for w in table_rows(out, "window_stats"))
    assert windows and set(windows.values()) == {1}
    sensors = Counter(s["guid"] for s in table_rows(out, "sensors"))
    assert set(sensors.values()) == {1} and len(sensors) == totals[-1]["total_sensors"]
    with data.open() as f:
        guids = {json.loads(line)["guid"] for line in f if line.startswith('{"guid": "0-')}
    assert set(sensors) == guids
    last = [s for s in table_rows(out, "state_totals") if s["batch_id"] == totals[-1]["batch_id"]]
    assert sum(s["messages"] for s in last) == EVENTS + late_resends
    assert sum(s["sensors"] for s in last) == len(guids)


def test_ctrl_c_while_spark_starts_ends_the_job_before_its_query(broker, tmp_path):
    """A Ctrl-C during the start-up (tens of seconds here) is not lost: the job ends before its
    query starts, with nothing written."""
    topic = "iotmsgs-early-stop"
    broker.create_topic(topic)
    out = tmp_path / "out"
    job, lines = start_job(broker.bootstrap, str(out), topic)
    try:
        catching_ctrl_c(python_driver(job, str(out)))
        os.killpg(job.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        assert job.wait(timeout=BLOCK_TIMEOUT) == 130, "".join(lines)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    text = "".join(lines)
    assert "stopping once Spark has started" in text, text
    assert "stopped before the query started" in text, text
    assert "== Batch" not in text and "Traceback" not in text, text
    assert not (out / "batch_totals").exists()


def python_driver(job: subprocess.Popen, trace: str) -> int:
    """The pid of the job's Python driver: the child of spark-submit's JVM (the job's `--check`
    runs in Python earlier, under submit.sh)."""
    deadline = time.monotonic() + BLOCK_TIMEOUT
    while time.monotonic() < deadline:
        assert job.poll() is None
        found = subprocess.run(["pgrep", "-f", trace], capture_output=True, text=True).stdout
        for pid in found.split():
            try:
                parent = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]
                if Path(f"/proc/{parent}/comm").read_text().strip() == "java":
                    return int(pid)
            except (FileNotFoundError, IndexError):
                continue  # ended meanwhile
        time.sleep(0.1)
    raise AssertionError("no Python driver")


def catching_ctrl_c(pid: int) -> None:
    """Waits until the process has a handler for SIGINT (its SigCgt mask in /proc)."""
    deadline = time.monotonic() + BLOCK_TIMEOUT
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        caught = int(next(line.split()[1] for line in status.splitlines()
                          if line.startswith("SigCgt:")), 16)
        if caught & (1 << (signal.SIGINT - 1)):
            return
        time.sleep(0.05)
    raise AssertionError("the driver never caught SIGINT")
