"""Producing the events straight into Kafka (kafka-python, imported only here and only when
used: stdout mode needs nothing beyond the standard library), paced at a rate, with a report
of what the broker acknowledged."""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

KAFKA_BOOTSTRAP_TIMEOUT_MS = 10_000  # give up well within 15 s when no broker answers
KAFKA_MAX_BLOCK_MS = 10_000
KAFKA_REQUEST_TIMEOUT_MS = 10_000
KAFKA_DELIVERY_TIMEOUT_MS = 30_000  # bounds how long the final flush can wait
KAFKA_CLOSE_TIMEOUT_S = 10.0
KAFKA_HINT = "is the broker running? (./scripts/kafka-start.sh)"
KAFKA_SETUP_HINT = "run ./scripts/setup.sh and use .venv/bin/python ./iotsimulator.py"


class KafkaUnavailable(RuntimeError):
    """Kafka mode cannot start (no broker, no kafka-python); the message is one line."""


@dataclass
class KafkaReport:
    """Outcome of a produce run; only acknowledged events count as sent."""

    topic: str
    attempted: int = 0
    acked: int = 0
    failed: int = 0
    elapsed_s: float = 0.0
    first_error: str | None = None

    def summary(self) -> str:
        rate = self.acked / self.elapsed_s if self.elapsed_s > 0 else 0.0
        return (f"sent {self.acked} events to {self.topic} in {self.elapsed_s:.1f} s "
                f"({rate:.1f} events/s)")


def connect_producer(bootstrap_server: str) -> Any:
    """A connected kafka-python KafkaProducer, or KafkaUnavailable within ~10 s."""
    try:  # lazy: stdout mode must not need kafka-python
        from kafka import KafkaProducer
        from kafka.errors import KafkaError
    except ImportError as exc:
        raise KafkaUnavailable(f"Kafka mode needs kafka-python ({exc}) — {KAFKA_SETUP_HINT}") from exc
    try:
        return KafkaProducer(bootstrap_servers=bootstrap_server,
                             bootstrap_timeout_ms=KAFKA_BOOTSTRAP_TIMEOUT_MS,
                             max_block_ms=KAFKA_MAX_BLOCK_MS,
                             request_timeout_ms=KAFKA_REQUEST_TIMEOUT_MS,
                             delivery_timeout_ms=KAFKA_DELIVERY_TIMEOUT_MS)
    except (KafkaError, ValueError, OSError) as exc:
        raise KafkaUnavailable(
            f"cannot reach Kafka at {bootstrap_server}: {exc} — {KAFKA_HINT}") from exc


def _force_close(producer: Any) -> None:
    """Stops a producer whose close() failed. kafka-python 3.0 can fail to flush a batch the
    broker refused, and would then try (and fail, noisily) again when garbage-collected."""
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
    producer._closed = True


def produce_to_kafka(lines: Iterable[str], producer: Any, topic: str, rate: float,
                     duration_s: float | None = None, stop: threading.Event | None = None,
                     ) -> KafkaReport:
    """Send lines (UTF-8, no key) at rate/s (0: flat out) until they run out, duration_s
    passes or stop is set; then flush and close the producer and report what was acked.

    Event i is due at start + i / rate on the monotonic clock, so pacing never drifts.
    """
    from kafka.errors import KafkaError

    lines, stop = iter(lines), stop or threading.Event()
    report, lock = KafkaReport(topic), threading.Lock()
    final = threading.Event()  # the report is final: late callbacks change nothing

    def on_ack(_metadata: Any) -> None:  # runs on the producer's I/O thread
        with lock:
            if not final.is_set():
                report.acked += 1

    def on_error(exc: BaseException) -> None:
        with lock:
            if not final.is_set():
                report.failed += 1
                report.first_error = report.first_error or str(exc)

    start = time.monotonic()
    deadline = start + duration_s if duration_s is not None else math.inf
    try:
        while True:
            due = start + report.attempted / rate if rate > 0 else time.monotonic()
            # Check the wall deadline too, in case sending cannot keep up with the schedule.
            if due >= deadline or time.monotonic() >= deadline:
                break
            # Event.wait is an interruptible sleep: a signal ends the run at once.
            if stop.wait(max(0.0, due - time.monotonic())):
                break
            # Pull the next line only now, so no event (or label row) is made and dropped.
            if (line := next(lines, None)) is None:
                break
            future = producer.send(topic, value=line.encode("utf-8"))
            report.attempted += 1
            future.add_callback(on_ack)
            future.add_errback(on_error)
        # Bounded by the delivery timeout, and here: a batch of records that is still not done
        # after this long ends the flush (KafkaTimeoutError, reported as not acknowledged).
        producer.flush(timeout=KAFKA_DELIVERY_TIMEOUT_MS / 1000 + KAFKA_CLOSE_TIMEOUT_S)
    except KafkaError as exc:
        report.first_error = report.first_error or str(exc)
    finally:
        report.elapsed_s = time.monotonic() - start
        try:
            producer.close(timeout=KAFKA_CLOSE_TIMEOUT_S)
        except KafkaError as exc:  # e.g. records the broker refused as too large
            report.first_error = report.first_error or str(exc)
            _force_close(producer)
    with lock:  # whatever was neither acknowledged nor refused by now never reached Kafka
        report.failed = report.attempted - report.acked
        # A forced close can still fail the futures it drops, on the I/O thread, after this.
        final.set()
    return report
