"""End to end on the real components: simulator file → kafka-console-producer.sh → real broker →
submit.sh (spark-submit, --available-now) → Parquet → query.sh, checked against plain Python.

Two job runs share one checkpoint: the second one is a restart that must continue where the
first stopped (batch ids, running totals) and process only the new records.
"""
# Over 300 lines: every test here reads the one pair of job runs its fixture makes (a job start is dear).

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

import reference
from conftest import ROOT, configured, run_script, run_script_beside
from tables import table_rows
from times import iso, parse_iso

pytestmark = pytest.mark.e2e

TOPIC = "iotmsgs-e2e"
PARTITIONS = 3
SPARK_OPTS = ["--conf", "spark.ui.enabled=false", "--"]
SECRET = "pa55-w0rd-never-printed"
# A SASL secret, as a user would pass it to a secure cluster; the test broker speaks PLAINTEXT,
# so Kafka's client leaves it unused, but the job must still never print it.
SECRET_ENV = {"IOT_KAFKA_SASL_JAAS_CONFIG":
              f'org.apache.kafka.common.security.plain.PlainLoginModule required '
              f'username="alice" password="{SECRET}";',
              "IOT_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
# The simulated clocks start two days and one day ago, on the hour: run 2 comes after run 1 in
# event time.
_HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
START_1, START_2 = _HOUR - timedelta(days=2), _HOUR - timedelta(days=1)
# A reading stamped 2099 (a broken clock): quarantined by the event-time policy, and the
# watermark never moves to it.
FUTURE = json.dumps({"guid": "0-ZZZ2-00B", "destination": "0-AAA2", "state": "CA",
                     "eventTime": "2099-01-01T00:00:00.000000Z",
                     "payload": {"format": "urn:example:sensor:temp", "data": {"temperature": 61.0}}})
BAD_LINES = ["this is not json", '{"guid": "x", "state": "ZZ"}',
             json.dumps({"guid": "0-ZZZ1-00A", "state": "CA",
                                           "eventTime": "2026-01-01T00:00:00.000000Z",
                                           "payload": {"data": {}}}), FUTURE]
BAD_REASONS = ["not_json", "missing_field:eventTime", "missing_field:temperature",
               "bad_value:eventTime_future"]
RESENDS = 100  # run 2's readings sent twice, a few lines after the first time


def simulate(path: Path, labels: Path, count: int, seed: int, start: datetime) -> None:
    with path.open("w") as out:
        subprocess.run([sys.executable, str(ROOT / "iotsimulator.py"), str(count), "--seed",
                        str(seed), "--sensors", "300", "--anomaly-rate", "0.02", "--labels",
                        str(labels), "--start-time", start.strftime("%Y-%m-%dT%H:%M:%SZ")],
                       stdout=out, check=True)


def resend(path: Path, count: int, seed: int) -> None:
    """Sends `count` of the file's lines again, each 1-40 lines after its first time (as an
    at-least-once producer does after a timeout)."""
    lines = path.read_text().splitlines()
    rng = random.Random(seed)
    for i in sorted(rng.sample(range(len(lines) - 50), count), reverse=True):
        lines.insert(i + rng.randint(1, 40), lines[i])
    path.write_text("\n".join(lines) + "\n")


@dataclass
class Run:
    stdout: str
    stderr: str


@dataclass
class E2E:
    out: Path
    runs: list[Run]
    labels: list[dict[str, str]]
    records: dict[tuple[int, int], bytes | None]  # (partition, offset) → value, read back from Kafka
    batch_ends: dict[int, dict[int, int]]  # batch id → partition → end offset (from the checkpoint)
    data1: Path
    models: Path  # the learned detector's model folder
    training: Run  # train.sh between the runs
    invalid_kafka_option: subprocess.CompletedProcess  # a run with security.protocol NOT_A_PROTOCOL

    def table(self, name: str) -> list[dict]:
        return table_rows(self.out, name, aware=True)


def read_topic(bootstrap: str, topic: str = TOPIC) -> dict[tuple[int, int], bytes | None]:
    """Every record of the topic, read with kafka-python (independently of Spark)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    records: dict[tuple[int, int], bytes | None] = {}
    while any(consumer.position(tp) < ends[tp] for tp in parts):
        for batch in consumer.poll(timeout_ms=2000).values():
            for m in batch:
                records[(m.partition, m.offset)] = m.value
    consumer.close()
    return records


def checkpoint_batches(checkpoint: Path) -> dict[int, dict[int, int]]:
    """Batch id → end offset per partition, from Spark's checkpoint offset log."""
    ends = {}
    for f in (checkpoint / "offsets").iterdir():
        if f.name.isdigit():
            ends[int(f.name)] = {int(p): o for p, o in
                                 json.loads(f.read_text().splitlines()[-1])[TOPIC].items()}
    return ends


@pytest.fixture(scope="module")
def e2e(broker, tmp_path_factory) -> E2E:
    d = tmp_path_factory.mktemp("e2e")
    out = d / "output"
    broker.create_topic(TOPIC, PARTITIONS)
    models = d / "models"  # empty in run 1: the learned detector is off
    job = [broker.bootstrap, TOPIC, "--output-dir", str(out), "--available-now",
           "--model-dir", str(models)]
    runs, labels = [], []
    # Beside run 1: a run with an invalid Kafka option, which only Kafka's own client checks (its
    # failing shows that the option went all the way through).
    invalid = run_script_beside("submit.sh", *SPARK_OPTS, broker.bootstrap, TOPIC,
                                "--output-dir", str(d / "invalid"), "--available-now", check=False,
                                env={"IOT_KAFKA_SECURITY_PROTOCOL": "NOT_A_PROTOCOL"})

    # Run 1: one 10,000-event file, drained in one micro-batch (and the batch without records
    # that judges the last readings).
    simulate(d / "data1.txt", d / "labels1.csv", 10_000, seed=7, start=START_1)
    broker.produce_file(TOPIC, d / "data1.txt")
    done = run_script("submit.sh", *SPARK_OPTS, *job)
    runs.append(Run(done.stdout, done.stderr))
    invalid_run = invalid.result()

    # The learned detector's model, trained on run 1's readings: run 2 scores with it.
    # Run 1 spans 100 s of 300 sensors (0.35 sensor-days): a budget of 50 findings per
    # sensor-day lets its threshold flag about 17 of the run's readings.
    trained = run_script("train.sh", "--output-dir", str(out), "--model-dir", str(models),
                         "--findings-per-sensor-day", "50")

    # Run 2, a restart: new records (with unusable ones), several micro-batches.
    simulate(d / "data2.txt", d / "labels2.csv", 6_000, seed=8, start=START_2)
    resend(d / "data2.txt", RESENDS, seed=3)
    with (d / "data2.txt").open("a") as f:
        f.write("\n".join(BAD_LINES) + "\n")
    broker.produce_file(TOPIC, d / "data2.txt")
    done = run_script("submit.sh", *SPARK_OPTS, *job, "--max-offsets-per-trigger", "2500",
                      "--shuffle-partitions", "3", env=SECRET_ENV)
    runs.append(Run(done.stdout, done.stderr))

    for name in ("labels1.csv", "labels2.csv"):
        with (d / name).open() as f:
            labels += list(csv.DictReader(f))
    return E2E(out, runs, labels, read_topic(broker.bootstrap),
               checkpoint_batches(out / "_checkpoint"), d / "data1.txt", models,
               Run(trained.stdout, trained.stderr), invalid_run)


def expected_batches(e: E2E) -> dict[int, list[reference.Reading]]:
    """The accepted readings of each batch, split by the offsets the checkpoint recorded: usable,
    not from the future (the test's records were all produced today), each sensor and event
    time once (the first time it is read)."""
    states = set(reference.baselines())
    batches: dict[int, list[reference.Reading]] = {}
    previous = {p: 0 for p in range(PARTITIONS)}
    seen: set[tuple[str, str]] = set()
    for batch_id in sorted(e.batch_ends):
        ends = e.batch_ends[batch_id]
        values = [e.records[(p, o)] for p in range(PARTITIONS)
                  for o in range(previous.get(p, 0), ends.get(p, 0))]
        batches[batch_id] = []
        for v in values:
            r = reference.usable(v, states)
            if r and not r.event_time.startswith("2099") and (r.guid, r.event_time) not in seen:
                seen.add((r.guid, r.event_time))
                batches[batch_id].append(r)
        previous = ends
    return batches


def test_every_record_reached_kafka_and_was_processed(e2e):
    assert len(e2e.records) == 10_000 + 6_000 + RESENDS + len(BAD_LINES)
    last = max(e2e.batch_ends)
    assert sum(e2e.batch_ends[last].values()) == len(e2e.records)


def test_first_run_is_one_batch_and_the_restart_continues(e2e):
    totals = sorted(e2e.table("batch_totals"), key=lambda t: t["batch_id"])
    ids = [t["batch_id"] for t in totals]
    # Run 1: 1 batch and the end's; run 2: ≥ 3 of ≤ 2,500 and the end's.
    assert ids == list(range(len(ids))) and len(ids) >= 6
    assert [t["messages"] for t in totals[:2]] == [10_000, 0]
    assert totals[-1]["messages"] == 0
    running = 0
    for t in totals:
        running += t["messages"]
        assert t["running_messages"] == running
    assert running == 16_000
    assert "== Batch 1 " in e2e.runs[0].stdout and "== Batch 2 " not in e2e.runs[0].stdout
    assert e2e.runs[0].stdout.count("End of input: every partition read to its end") == 1
    assert "== Batch 1 " not in e2e.runs[1].stdout
    for batch_id in ids[2:]:
        assert f"== Batch {batch_id} " in e2e.runs[1].stdout
    assert "+ 4 quarantined" in e2e.runs[1].stdout
    # Spark keeps the shuffle partitions of a checkpoint's first run (conf/job.toml's: run 1
    # sets none); the job says so.
    first = configured().shuffle_partitions
    assert f"; shuffle partitions {first}; " in e2e.runs[0].stdout
    assert (f"shuffle partitions {first} (recorded in the checkpoint at its first batch, which "
            "Spark keeps; 3 asked)") in e2e.runs[1].stdout


def test_state_stats_match_plain_python_batch_by_batch(e2e):
    expected = expected_batches(e2e)
    rows = {(r["batch_id"], r["state"]): r for r in e2e.table("state_stats")}
    want_keys = {(b, s) for b, readings in expected.items() for s in reference.by_state(readings)}
    assert set(rows) == want_keys
    for batch_id, readings in expected.items():
        for state, fig in reference.by_state(readings).items():
            row = rows[(batch_id, state)]
            assert row["messages"] == fig.messages, (batch_id, state)
            assert row["sensors"] == len(fig.sensors), (batch_id, state)
            if not fig.temperatures:  # only impossible readings: no temperature figures
                assert (row["avg_temperature"], row["min_temperature"]) == (None, None)
                continue
            assert row["avg_temperature"] == pytest.approx(fig.avg, abs=1e-9), (batch_id, state)
            assert row["min_temperature"] == min(fig.temperatures)
            assert row["max_temperature"] == max(fig.temperatures)


def test_batch_totals_match_plain_python(e2e):
    expected = expected_batches(e2e)
    band: dict[int, int] = {}
    found: dict[int, int] = {}  # every detector's rows, by the batch that found them
    for a in e2e.table("anomalies"):
        found[a["batch_id"]] = found.get(a["batch_id"], 0) + 1
        if a["detector"] == "band":
            band[a["batch_id"]] = band.get(a["batch_id"], 0) + 1
    seen: set[str] = set()
    reported = reference.band_findings([expected[b] for b in sorted(expected)])
    for t in sorted(e2e.table("batch_totals"), key=lambda t: t["batch_id"]):
        readings = expected[t["batch_id"]]
        assert t["messages"] == len(readings)
        assert t["sensors"] == len({r.guid for r in readings})
        assert t["states"] == len({r.state for r in readings})
        assert t["anomalies"] == found.get(t["batch_id"], 0)
        seen |= {r.guid for r in readings}
        assert t["total_sensors"] == len(seen)
    # Band's findings are the ones plain Python reports, each judged once the rules' clock has
    # passed its reading: by the batch that brought it or a later one (nothing is late here).
    assert sum(band.values()) == len(reported)
    brought = {(r.guid, r.event_time): b for b, readings in expected.items() for r in readings}
    judged_until = {t["batch_id"]: t["judged_until"] for t in e2e.table("batch_totals")}
    for a in e2e.table("anomalies"):
        if a["detector"] != "three_sigma":
            assert a["batch_id"] >= brought[(a["guid"], iso(a["event_time"]))], a
            assert judged_until[a["batch_id"]] >= a["event_time"], a


def test_band_anomalies_are_exactly_the_injected_readings(e2e):
    found = [a for a in e2e.table("anomalies") if a["detector"] == "band"]
    keys = [(a["guid"], iso(a["event_time"])) for a in found]
    assert len(keys) == len(set(keys))  # none twice
    labelled = {(lab["guid"], lab["eventTime"]): lab for lab in e2e.labels}
    assert len(labelled) > 100
    # Each injected reading, but one that follows another out of band for the same reason (a
    # run, reported once at its first reading).
    expected = expected_batches(e2e)
    runs = reference.band_findings([expected[b] for b in sorted(expected)])
    assert set(keys) == set(labelled) & runs
    assert len(runs) > len(labelled) * 0.85 and runs <= set(labelled)
    base = reference.baselines()
    for a, key in zip(found, keys, strict=True):
        lab = labelled[key]
        assert a["temperature"] == float(lab["temperature"])
        assert (a["band_low"], a["band_high"]) == pytest.approx(reference.band(a["state"]))
        if lab["kind"] == "impossible":
            assert a["reason"] == "impossible"
        else:
            side = "above_band" if a["temperature"] > base[a["state"]] else "below_band"
            assert a["reason"] == side


def test_per_sensor_detectors_find_the_spikes_and_the_sensors_that_went_silent(e2e):
    found = e2e.table("anomalies")
    key = lambda a: (a["guid"], iso(a["event_time"]))  # noqa: E731
    labelled = {(lab["guid"], lab["eventTime"]) for lab in e2e.labels}
    zscore = [key(a) for a in found if a["detector"] == "zscore"]
    assert len(zscore) > 50 and len(set(zscore) & labelled) / len(zscore) > 0.95
    # Run 2's events are a day after run 1's: every sensor of run 1 went silent after its last
    # reading there, reported once (by event-time timers as run 2 moves the watermark on).
    last: dict[str, str] = {}
    for line in e2e.data1.read_text().splitlines():
        event = json.loads(line)
        last[event["guid"]] = max(last.get(event["guid"], ""), event["eventTime"])
    silent = sorted(key(a) for a in found if a["detector"] == "silent")
    assert silent == sorted(last.items())
    assert not [a for a in found if a["detector"] == "stuck"]  # the simulator here sticks nowhere


def test_a_model_trained_on_run_1_scores_run_2(e2e):
    # Run 1: no model yet, said once; train.sh wrote one from run 1's readings; run 2 took it.
    assert e2e.runs[0].stdout.count(f"learned: off: no model in file:{e2e.models}") == 1
    (artifact,) = e2e.models.glob("learned-*.json")
    assert f"train: wrote {artifact}" in e2e.training.stdout
    assert f"learned: scoring with {artifact.name}" in e2e.runs[1].stdout
    model = json.loads(artifact.read_text())
    assert model["training"]["last_event_time"] < START_2.isoformat()  # run 1's readings only
    learned = [a for a in e2e.table("anomalies") if a["detector"] == "learned"]
    assert learned and all(a["event_time"] >= START_2 for a in learned)
    assert all(a["score"] > model["threshold"] and a["reason"] == "outlier" for a in learned)
    # Run 2's spikes (the simulator's labels) are among what the model flags.
    labelled = {(lab["guid"], lab["eventTime"]) for lab in e2e.labels}
    assert {(a["guid"], iso(a["event_time"])) for a in learned} & labelled


def test_windows_are_written_once_the_watermark_passes_them(e2e):
    windows = e2e.table("window_stats")
    totals = {t["batch_id"]: t for t in e2e.table("batch_totals")}
    per_window: dict[tuple, int] = {}
    for w in windows:
        assert w["window_end"] <= totals[w["batch_id"]]["watermark"]
        k = (w["window_start"], w["state"])
        per_window[k] = per_window.get(k, 0) + 1
    assert per_window and set(per_window.values()) == {1}  # each window written once
    # Run 1 (100 s of events from 00:00) is complete once run 2 moves the watermark on: its
    # first window (conf/job.toml's length) has run 1's readings up to the window's end.
    window = timedelta(seconds=configured().window_seconds)
    minute = {}
    for readings in expected_batches(e2e).values():
        for r in readings:
            if START_1 <= parse_iso(r.event_time) < START_1 + window:
                minute.setdefault(r.state, []).append(r)
    got = {w["state"]: w for w in windows
           if w["window_start"] == START_1}
    assert set(got) == set(minute)
    for state, readings in minute.items():
        assert got[state]["messages"] == len(readings)
        assert got[state]["sensors"] == len({r.guid for r in readings})
    assert not (e2e.out / "late_events").exists()  # run 2 comes after run 1 in event time


def test_alerts_reach_the_alerts_topic(e2e, broker):
    done = run_script("kafka-console-consumer.sh", "--bootstrap-server", broker.bootstrap,
                      "--topic", "iot-alerts", "--from-beginning", "--timeout-ms", "10000",
                      env=broker.env, check=False)
    alerts = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    found = e2e.table("anomalies")
    # At least once: each anomaly row is one alert (a replay could repeat one, with its alert_id).
    # Other tests' jobs publish to the same topic on this broker: only this run's ids count.
    ids = {f"{a['detector']}:{a['guid']}:{iso(a['event_time'])}"
           for a in found}
    assert len(ids) == len(found) > 0
    assert ids <= {a["alert_id"] for a in alerts}
    detectors = {a["detector"] for a in alerts if a["alert_id"] in ids}
    assert {"band", "zscore", "silent", "learned"} <= detectors
    sample = next(a for a in alerts if a["detector"] == "band")
    assert set(sample) >= {"alert_id", "guid", "state", "event_time", "temperature", "score"}


def test_console_is_quiet_and_readable(e2e):
    for run in e2e.runs:
        assert "Traceback" not in run.stdout + run.stderr
        assert " INFO " not in run.stderr
        assert "Average temperature by state" in run.stdout
        assert "Distinct sensors by state" in run.stdout


def test_query_sh_answers_sql_over_the_output(e2e):
    sql = "SELECT state, SUM(messages) AS n FROM state_stats GROUP BY state ORDER BY state"
    done = run_script("query.sh", "--output-dir", str(e2e.out), "--limit", "100", sql)
    got = {}
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2 and cells[1].isdigit():
            got[cells[0]] = int(cells[1])
    expected: dict[str, int] = {}
    for readings in expected_batches(e2e).values():
        for r in readings:
            expected[r.state] = expected.get(r.state, 0) + 1
    assert got == expected


def test_the_ledger_balances_and_bad_records_are_quarantined(e2e):
    totals = e2e.table("batch_totals")
    for t in totals:
        assert t["consumed"] == t["accepted"] + t["quarantined"] + t["duplicates"]
        assert t["accepted"] == t["messages"]
    assert sum(t["consumed"] for t in totals) == len(e2e.records)
    assert sum(t["duplicates"] for t in totals) == RESENDS
    assert sum(t["conflicts"] for t in totals) == 0
    quarantine = e2e.table("quarantine")
    assert sorted((q["raw"], q["reason"]) for q in quarantine) == sorted(
        zip(BAD_LINES, BAD_REASONS, strict=True))
    for q in quarantine:  # each one points back at its record in Kafka
        assert e2e.records[(q["kafka_partition"], q["kafka_offset"])] == q["raw"].encode()
    [clock] = e2e.table("clock_errors")
    assert (clock["guid"], clock["error"], clock["action"], clock["readings"]) == (
        "0-ZZZ2-00B", "future", "quarantined", 1)
    assert clock["latest_event_time"] == datetime(2099, 1, 1, tzinfo=UTC)
    # The re-sends: each kept in `duplicates`, pointing back at its record in Kafka, which is
    # the same reading as one accepted before it.
    duplicates = e2e.table("duplicates")
    assert len(duplicates) == RESENDS and {d["kind"] for d in duplicates} == {"resend"}
    for d in duplicates:
        sent = json.loads(e2e.records[(d["kafka_partition"], d["kafka_offset"])])
        assert (sent["guid"], sent["payload"]["data"]["temperature"]) == (d["guid"],
                                                                          d["temperature"])
        assert sent["eventTime"] == iso(d["event_time"])


def test_kafka_options_reach_the_job_and_secrets_are_never_printed(e2e):
    assert "kafka.sasl.jaas.config=***" in e2e.runs[1].stdout
    assert "kafka.security.protocol=PLAINTEXT" in e2e.runs[1].stdout
    for run in e2e.runs:
        assert SECRET not in run.stdout + run.stderr


def test_kafka_options_are_passed_to_the_kafka_client(e2e):
    done = e2e.invalid_kafka_option
    text = done.stdout + done.stderr
    assert done.returncode != 0, text
    assert "NOT_A_PROTOCOL" in text and "Traceback" not in text


def test_lost_offsets_stop_the_job_with_a_clear_message(e2e, broker, tmp_path):
    # Runs last: it breaks the topic under the checkpoint on purpose. The topic is deleted and
    # made again, so offsets the checkpoint has already passed are gone.
    broker.delete_topic(TOPIC)
    broker.create_topic(TOPIC, PARTITIONS)  # once the deletion is done (it is asynchronous)
    (tmp_path / "few.txt").write_text("\n".join(BAD_LINES) + "\n")
    broker.produce_file(TOPIC, tmp_path / "few.txt")
    done = run_script("submit.sh", *SPARK_OPTS, broker.bootstrap, TOPIC, "--output-dir",
                      str(e2e.out), "--available-now", check=False)
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert "Traceback" not in text
    assert f"error: records of topic {TOPIC} that this job has not processed are gone" in text
    assert f"Partition {TOPIC}-" in text and "offset was changed from" in text
    assert "fail_on_data_loss = false" in text
