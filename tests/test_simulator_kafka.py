"""The simulator's direct mode against the real broker: pacing, stopping, acknowledgements."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from kafka import KafkaConsumer, TopicPartition

from conftest import ROOT

pytestmark = pytest.mark.broker
SIMULATOR = [sys.executable, str(ROOT / "iotsimulator.py")]


def consume_all(bootstrap: str, topic: str, at_least: int = 0, wait_s: float = 60) -> list[bytes]:
    """Every value in partition 0 of the topic (waiting up to wait_s for `at_least` of them)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    end = consumer.end_offsets([tp])[tp]
    values: list[bytes] = []
    deadline = time.monotonic() + wait_s
    while (len(values) < max(end, at_least)) and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            values += [m.value for m in batch]
        end = consumer.end_offsets([tp])[tp]
    consumer.close()
    return values


def sent_count(stderr: str, topic: str) -> int:
    line = next(line for line in stderr.splitlines() if line.startswith("sent "))
    assert f" events to {topic} in " in line, line
    return int(line.split()[1])


def test_rate_mode_sends_the_same_bytes_as_stdout_mode_paced(broker):
    topic, count, rate = "sim-rate", 300, 150
    broker.create_topic(topic)
    started = time.monotonic()
    done = subprocess.run([*SIMULATOR, "--bootstrap-server", broker.bootstrap, "--topic", topic,
                           "--rate", str(rate), "--count", str(count), "--seed", "3"],
                          capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert sent_count(done.stderr, topic) == count
    # Paced, not a burst: 300 events at 150/s take at least ~2 s (no upper bound: the machine
    # may be slow).
    assert elapsed >= (count - 1) / rate * 0.95
    values = consume_all(broker.bootstrap, topic, count)
    expected = subprocess.run([*SIMULATOR, str(count), "--seed", "3"], capture_output=True,
                              check=True).stdout.splitlines()
    assert values == expected  # same bytes as stdout mode, in order, none lost or doubled
    assert all(json.loads(v)["payload"]["format"] == "urn:example:sensor:temp" for v in values)


def test_duration_bounds_what_is_sent_and_the_report_is_exact(broker):
    topic, rate, seconds = "sim-duration", 100, 2
    broker.create_topic(topic)
    done = subprocess.run([*SIMULATOR, "--bootstrap-server", broker.bootstrap, "--topic", topic,
                           "--rate", str(rate), "--duration", str(seconds)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    sent = sent_count(done.stderr, topic)
    assert 0 < sent <= rate * seconds
    assert len(consume_all(broker.bootstrap, topic, sent)) == sent


def test_ctrl_c_flushes_and_reports_what_reached_kafka(broker):
    topic = "sim-interrupt"
    broker.create_topic(topic)
    sim = subprocess.Popen([*SIMULATOR, "--bootstrap-server", broker.bootstrap, "--topic", topic,
                            "--rate", "200"], stderr=subprocess.PIPE, text=True)
    try:
        consume_all(broker.bootstrap, topic, at_least=50)  # it is running and delivering
        sim.send_signal(signal.SIGINT)
        _, stderr = sim.communicate(timeout=60)
    finally:
        sim.kill()
    assert sim.returncode == 0, stderr
    assert "Traceback" not in stderr
    sent = sent_count(stderr, topic)
    assert sent >= 50
    assert len(consume_all(broker.bootstrap, topic, sent)) == sent


def test_records_the_broker_refuses_are_reported_as_failures(broker):
    topic = "sim-too-small"
    broker.create_topic(topic, configs={"max.message.bytes": "64"})
    done = subprocess.run([*SIMULATOR, "--bootstrap-server", broker.bootstrap, "--topic", topic,
                           "--rate", "0", "--count", "5"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert sent_count(done.stderr, topic) == 0
    assert "5 events not acknowledged" in done.stderr
