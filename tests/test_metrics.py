"""The job's Prometheus metrics: the text format, the endpoint, and a job running on the real
broker."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from conftest import ROOT, SCRIPTS, configured, free_port
from iotstream.metrics import BATCH_BUCKETS, COMPACTION_BUCKETS, Metrics, quarantine_reasons, serve
from tables import table_rows

TIMEOUT = 600  # JVM start-up on a slow, shared machine


def sample(text: str) -> dict[str, float]:
    """Every series of a scrape: 'name{labels}' → value."""
    return {m[1]: float(m[2]) for m in re.finditer(r"^(\S+) (\S+)$", text, re.M)
            if not m[1].startswith("#")}


def _totals(batch_id: int, consumed: int) -> dict:
    """A batch_totals row as the batch handler hands it over."""
    return {"batch_id": batch_id, "batch_time": datetime(2026, 1, 1, 0, 0, 30),
            "watermark": datetime(2026, 1, 1, 0, 0, 5), "consumed": consumed,
            "accepted": consumed - 4, "quarantined": 3, "duplicates": 1, "late": 0,
            "time_adjusted": 0, "total_sensors": 5}


def _bucket(name: str, le: float) -> str:
    return f'{name}_bucket{{le="{float(le)}"}}'


def test_the_text_format_adds_batches_up_and_keeps_the_latest_gauges():
    metrics = Metrics(3.0)
    before = sample(metrics.render())
    assert before["iot_batches_total"] == 0 and before['iot_records_total{term="late"}'] == 0
    assert "iot_watermark_delay_seconds" not in before  # no figure before the first batch's
    anomalies = pa.table({"detector": ["band", "zscore", "band"]})
    quarantine = pa.table({"reason": ["not_json", "not_json", "unknown_state"]})
    durations = [0.5, 1.5]
    for batch_id, consumed in ((0, 10), (1, 7)):
        metrics.batch(_totals(batch_id, consumed), durations[batch_id], anomalies,
                      quarantine_reasons(quarantine))
    metrics.progress({"inputRowsPerSecond": 12.5, "processedRowsPerSecond": 40.0,
                      "sources": [{"metrics": {"maxOffsetsBehindLatest": "17"}}]})
    text = metrics.render()
    got = sample(text)
    assert got['iot_records_total{term="consumed"}'] == 17
    assert got['iot_records_total{term="duplicates"}'] == 2
    assert got['iot_anomalies_total{detector="band"}'] == 4
    assert got['iot_quarantined_total{reason="not_json"}'] == 4
    name = "iot_batch_duration_seconds"  # a histogram of every batch's
    assert got[f"{name}_count"] == len(durations) and got[f"{name}_sum"] == sum(durations)
    for le in BATCH_BUCKETS:
        assert got[_bucket(name, le)] == sum(d <= le for d in durations)
    assert got[f'{name}_bucket{{le="+Inf"}}'] == len(durations)
    assert got["iot_last_batch_duration_seconds"] == durations[-1]
    assert got["iot_last_batch_id"] == 1
    assert got["iot_last_batch_timestamp_seconds"] == datetime(
        2026, 1, 1, 0, 0, 30, tzinfo=UTC).timestamp()
    assert got["iot_watermark_delay_seconds"] == 25
    assert got["iot_kafka_offsets_behind_latest"] == 17
    assert got["iot_batches_total"] == 2 and got["iot_trigger_seconds"] == 3
    assert "# TYPE iot_records_total counter" in text
    assert "# TYPE iot_batch_duration_seconds histogram" in text
    assert not [k for k in got if "_created" in k]  # disabled: one gauge more per series


def test_compactions_and_the_time_since_the_latest_batch():
    now = [1000.0]
    metrics = Metrics(3.0, clock=lambda: now[0])
    now[0] = 1012.5  # no batch yet: since the metrics started
    assert sample(metrics.render())["iot_seconds_since_last_batch"] == 12.5
    metrics.batch(_totals(0, 10), 2.0, pa.table({"detector": pa.array([], pa.string())}), {})
    now[0] += 7.25
    merges = [(2.5, 100), (45.0, 300)]  # (seconds, batch files merged)
    for seconds, files in merges:
        metrics.compaction(seconds, files)
    got = sample(metrics.render())
    assert got["iot_seconds_since_last_batch"] == 7.25
    assert got["iot_compacted_files_total"] == sum(f for _, f in merges)
    name = "iot_compaction_duration_seconds"
    assert got[f"{name}_count"] == len(merges)
    assert got[f"{name}_sum"] == sum(s for s, _ in merges)
    for le in COMPACTION_BUCKETS:
        assert got[_bucket(name, le)] == sum(s <= le for s, _ in merges)


def test_serve_binds_the_given_address_and_answers_a_scrape():
    metrics, port = Metrics(3.0), free_port()
    metrics.compaction(1.0, 4)
    server = serve(metrics, port, "127.0.0.1")
    try:
        assert server.server_address[:2] == ("127.0.0.1", port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            got = sample(r.read().decode())
        assert got["iot_trigger_seconds"] == 3 and got["iot_compacted_files_total"] == 4
        with pytest.raises(OSError):  # taken: the runner reports it in one line
            serve(metrics, port, "127.0.0.1")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.e2e
def test_a_running_job_serves_its_metrics(broker, tmp_path):
    topic = "iotmsgs-metrics"
    broker.create_topic(topic, partitions=2)
    data = tmp_path / "data.txt"
    lines = subprocess.run([str(ROOT / ".venv/bin/python"), str(ROOT / "iotsimulator.py"), "3000",
                            "--anomaly-rate", "0.02"], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    data.write_text("\n".join(lines + ["not json"]) + "\n")
    broker.produce_file(topic, data)
    port, out = free_port(), tmp_path / "out"
    job = subprocess.Popen(
        [str(SCRIPTS / "submit.sh"), "--conf", "spark.ui.enabled=false", "--", broker.bootstrap,
         topic, "--output-dir", str(out), "--metrics-port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        got: dict[str, float] = {}
        # Every record counted (by the batch handler), Spark's progress report of that batch
        # in (it comes after the batch), and the findings of the batch without records that
        # follows (the rules judge the readings once their clock has passed them).
        while (got.get('iot_records_total{term="consumed"}', 0) < len(lines) + 1
               or "iot_kafka_offsets_behind_latest" not in got
               or 'iot_anomalies_total{detector="band"}' not in got):
            assert job.poll() is None, job.stdout.read()
            assert time.monotonic() < deadline
            time.sleep(1)
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/metrics", timeout=5) as r:
                    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                    got = sample(r.read().decode())
            except OSError:
                continue  # not serving yet
    finally:
        os.killpg(job.pid, signal.SIGINT)
        job.wait(timeout=120)
    totals = table_rows(out, "batch_totals")
    for term in ("consumed", "accepted", "quarantined"):
        assert got[f'iot_records_total{{term="{term}"}}'] == sum(t[term] for t in totals)
    assert got['iot_quarantined_total{reason="not_json"}'] == 1
    found = [a["detector"] for a in table_rows(out, "anomalies")]
    assert got['iot_anomalies_total{detector="band"}'] == found.count("band") > 0
    assert got["iot_batches_total"] == len(totals)
    assert got["iot_trigger_seconds"] == configured().trigger_seconds  # conf/job.toml's
    # Every batch's duration is in the histogram (updated with the batch count, under one lock).
    assert got["iot_batch_duration_seconds_count"] == got["iot_batches_total"]
    assert 0 < got["iot_batch_duration_seconds_sum"] < 60 * got["iot_batches_total"]
    assert 0 < got["iot_last_batch_duration_seconds"] < 60
    assert 0 <= got["iot_seconds_since_last_batch"] < TIMEOUT
    assert "iot_input_rows_per_second" in got and "iot_kafka_offsets_behind_latest" in got
