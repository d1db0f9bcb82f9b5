"""The job on a real Spark standalone cluster: scripts/cluster-start.sh (a master and two workers
on loopback, spark-class of the installed pyspark), submit.sh --master spark://..., against the
test broker, on a topic of 6 partitions (more than the 2 executors) of which one stays empty.
Its Parquet output must be the same as a local-mode run's on the same input.

Both runs drain the topic with --available-now and the same --max-offsets-per-trigger, so their
micro-batches hold the same records; the cluster run also splits the Kafka partitions into more
tasks (--min-partitions) and shuffles into another number of partitions, which must not change
any result. It writes to a file:// URI and takes its executor settings from a config file. One
executor is killed in the middle of a batch: Spark must replace it and redo its share of the
batch, with the same result. Both runs score with the same learned model; the cluster's workers
cannot see the folder it is in (hidden in their own mount namespace, as on other hosts): the job
ships it to them.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

import reference
from conftest import ROOT, SCRIPTS, free_port, run_script, run_script_beside
from iotstream.schema import TABLES
from learned_data import trained_model
from tables import table_rows

pytestmark = pytest.mark.e2e

TOPIC = "iotmsgs-cluster"
PARTITIONS = 6
EMPTY = 4  # the partition no record goes to
EVENTS = 6_000
RESENDS = 20
# A day ago: recent, as a live fleet's readings are.
START = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:00Z")
PER_BATCH = "1500"
BAD_LINES = ["not json at all", '{"guid": "g", "state": "ZZ"}']
# Processing time and how long a batch took differ from run to run; everything else must not.
RUN_COLUMNS = {"batch_time", "date", "seconds"}
# conf/job.toml's [cluster] lines → the cluster run's.
CLUSTER_SETTINGS = {"executors = 0": "executors = 2", "executor_cores = 0": "executor_cores = 1",
                    'executor_memory = ""': 'executor_memory = "512m"'}


def kafka_partition(key: str) -> int:
    """The partition Kafka's producer picks for a key (murmur2 of its bytes, as Kafka does)."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS


def keyed_input(d: Path) -> tuple[Path, int, int, int]:
    """Simulator events keyed by sensor (guid TAB json), 10 minutes of event time, leaving out
    the sensors whose records would land on partition EMPTY. At the end: a few unusable
    records, and copies of the first readings, which come after their window was written
    (late), RESENDS readings sent twice and a reading stamped 2099 (quarantined). Returns the
    file, its number of records, how many of them are accepted readings and how many re-sends
    (those of sensors on partition EMPTY are left out too)."""
    events = subprocess.run(
        [sys.executable, str(ROOT / "iotsimulator.py"), str(EVENTS), "--seed", "11", "--sensors",
         "240", "--event-interval", "0.1", "--anomaly-rate", "0.02", "--stuck-rate", "0.002",
         "--silent-rate", "0.0005", "--start-time", START],
        capture_output=True, text=True, check=True).stdout.splitlines()
    late = [json.loads(line) for line in events[:3]]
    for event in late:
        event["payload"]["data"]["temperature"] += 0.5
    rng = random.Random(4)
    for i in sorted(rng.sample(range(len(events) - 30), RESENDS), reverse=True):
        events.insert(i + rng.randint(1, 20), events[i])  # re-sent a few records later
    clock = next(g for g in (f"0-ZZZ-CLOCK-{n:02d}" for n in range(100))
                 if kafka_partition(g) != EMPTY)
    future = {**json.loads(events[-1]), "guid": clock, "eventTime": "2099-01-01T00:00:00.000000Z"}
    events += [json.dumps(event) for event in late] + [json.dumps(future)]
    states = set(reference.baselines())
    lines, usable, resent, seen = [], 0, 0, set()
    for line in events:
        guid = json.loads(line)["guid"]
        if kafka_partition(guid) != EMPTY:
            lines.append(f"{guid}\t{line}")
            if reference.usable(line.encode(), states) and guid != clock:
                usable += line not in seen
                resent += line in seen
            seen.add(line)
    keys = [k for k in (f"bad-{n}" for n in range(100)) if kafka_partition(k) != EMPTY]
    lines += [f"{key}\t{bad}" for key, bad in zip(keys, BAD_LINES, strict=False)]
    path = d / "keyed.txt"
    path.write_text("\n".join(lines) + "\n")
    return path, len(lines), usable, resent


def end_offsets(bootstrap: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        ends = consumer.end_offsets([TopicPartition(TOPIC, p) for p in range(PARTITIONS)])
    finally:
        consumer.close()
    return {tp.partition: offset for tp, offset in ends.items()}


def tables(output: Path) -> dict[str, list[dict]]:
    return {t.name: table_rows(output, t.name)
            for t in sorted(output.iterdir()) if not t.name.startswith(("_", "."))}


def comparable(rows: list[dict]) -> list[list]:
    """Rows without their processing-time columns, in a fixed order: sorted by every value,
    doubles rounded for the sort only (Spark may add them up in another order on a cluster)."""
    cells = [[(k, v) for k, v in sorted(r.items()) if k not in RUN_COLUMNS] for r in rows]

    def key(row: list) -> tuple:
        return tuple((v is None, round(v, 6) if isinstance(v, float) else v) for _, v in row)

    return sorted(cells, key=key)


def same_value(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        # Sums of doubles in another order differ in the last digits; a standard deviation
        # (from sums of squares) loses a few more: 3e-12 relative seen here.
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


@pytest.fixture(scope="module")
def runs(broker, tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster")
    broker.create_topic(TOPIC, PARTITIONS)
    data, records, usable, resent = keyed_input(d)
    broker.produce_file(TOPIC, data, "--property", "parse.key=true")
    ends = end_offsets(broker.bootstrap)

    # A model trained on noisy readings (a budget of 100 findings per sensor-day of them: it
    # flags the input's spikes).
    models = d / "models"
    model = trained_model(d, models, seed=3, budget=100.0)
    job = [broker.bootstrap, TOPIC, "--available-now", "--max-offsets-per-trigger", PER_BATCH,
           "--model-dir", str(models)]
    # The same job in local mode, beside the cluster's start and run (what it writes is compared).
    local_run = run_script_beside("submit.sh", "--conf", "spark.ui.enabled=false", "--", *job,
                                  "--output-dir", str(d / "local"))

    # The cluster run's config: conf/job.toml with executor settings, states.csv beside it.
    conf = d / "conf"
    conf.mkdir()
    shutil.copy(ROOT / "conf" / "states.csv", conf)
    text = (ROOT / "conf" / "job.toml").read_text()
    for line, replacement in CLUSTER_SETTINGS.items():
        assert f"\n{line}\n" in text, line
        text = text.replace(f"\n{line}\n", f"\n{replacement}\n")
    (conf / "job.toml").write_text(text)
    home = d / "spark-cluster"
    env = {"CLUSTER_PORT": str(free_port()), "CLUSTER_UI_PORT": str(free_port()),
           "CLUSTER_HOME_DIR": str(home), "CLUSTER_WORKER_HIDDEN": str(models)}
    run_script("cluster-start.sh", env=env)
    try:
        # What a worker sees of the model folder: nothing (its own mount namespace).
        worker = int((home / "worker-1.pid").read_text())
        seen = subprocess.run(["nsenter", "-t", str(worker), "-m", "ls", "-A", str(models)],
                              capture_output=True, text=True, check=True).stdout
        cluster, killed = submit_killing_an_executor(
            ["--master", f"spark://127.0.0.1:{env['CLUSTER_PORT']}", "--executor-memory", "600m",
             "--conf", "spark.ui.enabled=false", "--", *job, "--config", str(conf / "job.toml"),
             "--output-dir", f"file://{d / 'cluster'}", "--min-partitions", "12",
             "--shuffle-partitions", "3"], env, home, d / "cluster-run")
    finally:
        run_script("cluster-stop.sh", env=env, check=False)
    local = local_run.result()
    return {"dir": d, "records": records, "usable": usable, "resent": resent, "ends": ends, "local": local,
            "cluster": cluster, "killed": killed, "home": home, "model": model,
            "seen_by_worker": seen}


def submit_killing_an_executor(args: list[str], env: dict[str, str], home: Path, logs: Path,
                               ) -> tuple[subprocess.CompletedProcess, int | None]:
    """submit.sh ARGS, with one of the cluster's executors killed (SIGKILL, as a lost node)
    during the job's third batch, as soon as a job of the batch reads the batch's cached rows
    from it (its log says "Found block rdd_… locally"): the rows it holds are then lost, and
    later jobs of the batch need them. Returns the finished run and the pid killed (None if the
    job ended first)."""
    out, err = logs.with_suffix(".out"), logs.with_suffix(".err")
    with out.open("w") as stdout, err.open("w") as stderr:
        job = subprocess.Popen([str(SCRIPTS / "submit.sh"), *args], stdout=stdout, stderr=stderr,
                               stdin=subprocess.DEVNULL, text=True, env={**os.environ, **env})
        try:
            killed = _kill_an_executor_in_the_third_batch(job, out, home)
            job.wait(timeout=900)
        finally:
            if job.poll() is None:
                job.kill()
    done = subprocess.CompletedProcess(job.args, job.returncode, out.read_text(), err.read_text())
    assert done.returncode == 0, f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"
    return done, killed


def _kill_an_executor_in_the_third_batch(job: subprocess.Popen, out: Path, home: Path) -> int | None:
    deadline = time.monotonic() + 900
    while job.poll() is None and "== Batch 1 " not in out.read_text():  # the third one starts
        assert time.monotonic() < deadline, "the cluster run did not finish its second batch"
        time.sleep(0.2)
    seen = {pid: len(_executor_log(pid)) for pid in executor_pids(home)}
    while job.poll() is None and time.monotonic() < deadline:
        for pid in executor_pids(home):
            if "Found block rdd_" in _executor_log(pid)[seen.get(pid, 0):]:
                os.kill(pid, signal.SIGKILL)
                return pid
        time.sleep(0.1)
    return None


def executor_pids(home: Path) -> list[int]:
    """The executors of the cluster of `home`: JVMs working in one of its workers' folders."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")).is_relative_to(home.resolve()):
                if b"CoarseGrainedExecutorBackend" in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
        except OSError:
            continue  # gone, or not ours to read
    return sorted(pids)


def _executor_log(pid: int) -> str:
    """What the executor has logged so far (its stderr, in its working folder)."""
    try:
        return (Path(os.readlink(f"/proc/{pid}/cwd")) / "stderr").read_text(errors="replace")
    except OSError:
        return ""


def test_the_input_fills_five_partitions_and_leaves_one_empty(runs):
    ends = runs["ends"]
    assert ends[EMPTY] == 0
    assert all(ends[p] > 0 for p in range(PARTITIONS) if p != EMPTY)
    assert sum(ends.values()) == runs["records"]


def test_an_executor_lost_mid_batch_is_replaced_and_the_job_goes_on(runs):
    assert runs["killed"], "the job ended before an executor could be killed"
    assert re.search(r"Lost executor \d+ on 127\.0\.0\.1", runs["cluster"].stderr)
    # The comparison with local mode below is made on this run's output.


def test_the_cluster_run_used_both_workers_and_the_config_s_executor_settings(runs):
    out = runs["cluster"].stdout
    # From the config, which wins over spark-submit's --executor-memory 600m.
    assert re.search(r"master spark://127\.0\.0\.1:\d+; cores each 1, memory each 512m, "
                     r"cores max 2; shuffle partitions 3; Kafka maxOffsetsPerTrigger 1500, "
                     r"minPartitions 12", out), out[:2000]
    # Each worker ran tasks of the application (in the executor killed, then its replacement,
    # on one of them): their logs are in the worker's folder.
    for worker in ("work-1", "work-2"):
        logs = [log.read_text(errors="replace")
                for log in (runs["home"] / worker).glob("app-*/*/stderr")]
        assert any("Executor: Running task" in log for log in logs), worker


def test_the_cluster_writes_the_same_tables_as_local_mode(runs):
    local, cluster = tables(runs["dir"] / "local"), tables(runs["dir"] / "cluster")
    assert set(cluster) == set(local) == set(TABLES)
    for name in TABLES:
        assert local[name], f"the input should give rows in {name}"
    for name in local:
        want, got = comparable(local[name]), comparable(cluster[name])
        assert len(got) == len(want), name
        for w, g in zip(want, got, strict=True):
            assert [k for k, _ in g] == [k for k, _ in w], name
            assert all(same_value(a, b) for (_, a), (_, b) in zip(w, g, strict=True)), (name, w, g)


def test_the_learned_model_reaches_executors_that_cannot_see_the_driver_s_folder(runs):
    assert runs["model"].is_file() and runs["seen_by_worker"] == ""
    assert f"learned: scoring with {runs['model'].name}" in runs["cluster"].stdout
    # The cluster's findings equal local mode's (above), the learned detector's among them.
    learned = [a for a in tables(runs["dir"] / "cluster")["anomalies"] if a["detector"] == "learned"]
    assert learned


def test_every_record_was_read_once_across_partitions_and_batches(runs):
    totals = sorted(tables(runs["dir"] / "cluster")["batch_totals"], key=lambda t: t["batch_id"])
    assert [t["batch_id"] for t in totals] == list(range(len(totals)))
    assert len(totals) >= math.ceil(runs["records"] / int(PER_BATCH))
    assert sum(t["consumed"] for t in totals) == runs["records"]
    assert sum(t["messages"] for t in totals) == runs["usable"]
    assert sum(t["duplicates"] for t in totals) == runs["resent"] > 0
    assert sum(t["quarantined"] for t in totals) == (
        runs["records"] - runs["usable"] - runs["resent"])
