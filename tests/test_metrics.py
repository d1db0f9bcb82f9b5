"""The job's Prometheus metrics: the text format, against a job running on the real broker."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from datetime import datetime

import pyarrow as pa
import pytest

from conftest import ROOT, SCRIPTS, configured, free_port
from iotstream.metrics import Metrics, quarantine_reasons
from tables import table_rows

TIMEOUT = 600  # JVM start-up on a slow, shared machine


def sample(text: str) -> dict[str, float]:
    """Every series of a scrape: 'name{labels}' → value."""
    return {m[1]: float(m[2]) for m in re.finditer(r"^(\S+) (\S+)$", text, re.M)
            if not m[1].startswith("#")}


def test_the_text_format_adds_batches_up_and_keeps_the_latest_gauges():
    metrics = Metrics(3.0)
    anomalies = pa.table({"detector": ["band", "zscore", "band"]})
    quarantine = pa.table({"reason": ["not_json", "not_json", "unknown_state"]})
    for batch_id, consumed in ((0, 10), (1, 7)):
        metrics.batch({"batch_id": batch_id, "batch_time": datetime(2026, 1, 1, 0, 0, 30),
                       "watermark": datetime(2026, 1, 1, 0, 0, 5), "consumed": consumed,
                       "accepted": consumed - 4, "quarantined": 3, "duplicates": 1, "late": 0,
                       "time_adjusted": 0, "total_sensors": 5}, 0.5 + batch_id,
                      anomalies, quarantine_reasons(quarantine))
    metrics.progress({"inputRowsPerSecond": 12.5, "processedRowsPerSecond": 40.0,
                      "sources": [{"metrics": {"maxOffsetsBehindLatest": "17"}}]})
    text = metrics.render()
    got = sample(text)
    assert got['iot_records_total{term="consumed"}'] == 17
    assert got['iot_records_total{term="duplicates"}'] == 2
    assert got['iot_anomalies_total{detector="band"}'] == 4
    assert got['iot_quarantined_total{reason="not_json"}'] == 4
    assert got["iot_batch_duration_seconds"] == 1.5  # the latest batch's
    assert got["iot_watermark_delay_seconds"] == 25
    assert got["iot_kafka_offsets_behind_latest"] == 17
    assert got["iot_batches_total"] == 2 and got["iot_trigger_seconds"] == 3
    assert "# TYPE iot_records_total counter" in text
    assert "# TYPE iot_batch_duration_seconds gauge" in text


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
    assert 0 < got["iot_batch_duration_seconds"] < 60
    assert "iot_input_rows_per_second" in got and "iot_kafka_offsets_behind_latest" in got
