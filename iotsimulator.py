#!/usr/bin/env python3
"""Simulate IoT temperature telemetry as JSON lines, to stdout or straight into Kafka.

Each sensor belongs to one US state for life and reports a temperature that wanders
around the state's average (conf/states.csv) on a bounded, mean-reverting walk.
Optionally some readings are replaced by labelled anomalies (ground truth for tests):
point anomalies (spike, impossible), incidents (a sensor stuck, drifting or silent for a while)
and level shifts (a sensor whose level moves for good, labelled at its first new reading).
"""
from __future__ import annotations

import argparse
import csv
import faulthandler
import itertools
import json
import math
import os
import random
import signal
import string
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, TextIO

REPO = Path(__file__).resolve().parent
# The states table is read by the same (standard-library) code as the Spark job's.
sys.path.insert(0, str(REPO / "jobs"))
from iotstream.states import StatesFileError, load_baselines  # noqa: E402

DEFAULT_STATES_FILE = REPO / "conf" / "states.csv"
DEFAULT_SENSORS = 500
DEFAULT_START_TIME = "2026-01-01T00:00:00Z"
DEFAULT_EVENT_INTERVAL_S = 0.01
MICROSECONDS_PER_SECOND = 1_000_000
ONE_MICROSECOND = timedelta(microseconds=1)
PAYLOAD_FORMAT = "urn:example:sensor:temp"
GUID_PREFIX, DESTINATION_PREFIX = "0-ZZZ", "0-AAA"
ID_DIGITS, GUID_SUFFIX_DIGITS = 8, 2

# Temperature walk, in °F. Each reading: offset = (offset + U(-STEP, +STEP)) * (1 - PULL).
# Bound: if |o| <= 9 then |o ± 1| <= 10 and |(o ± 1) * 0.9| <= 9; the start offset is
# within ±5 <= 9, so by induction |offset| <= 9 forever (9 = STEP * (1 - PULL) / PULL).
START_SPREAD_F = 5.0
WALK_STEP_F = 1.0
RECALIBRATION_PULL = 0.1
WALK_BOUND_F = 9.0
TEMPERATURE_DECIMALS = 1
ROUNDING_SLACK_F = 0.05  # rounding to 1 decimal moves a value by at most half a tenth
# No non-anomalous reading is ever farther than this from its state's baseline.
NORMAL_MAX_DEVIATION = WALK_BOUND_F + ROUNDING_SLACK_F

# A spike is far outside a ±15 °F band yet physically possible; an impossible reading
# is beyond any air temperature ever measured on Earth.
SPIKE_MIN_F, SPIKE_MAX_F = 30.0, 50.0
IMPOSSIBLE_MIN_F, IMPOSSIBLE_MAX_F = 200.0, 999.0
ANOMALY_KINDS = ("spike", "impossible")
# Incidents: a sensor stuck on its last value, drifting out of its band, or going silent.
INCIDENT_KINDS = ("stuck", "drift", "silent")
STUCK_READINGS = (15, 30)  # repeats of the last value (the job's default stuck detector: 10)
DRIFT_READINGS = (20, 40)
DRIFT_MIN_F, DRIFT_MAX_F = 20.0, 30.0  # beyond the ±15 °F band, unlike the walk (±9 °F)
# A shift moves a sensor's baseline for good (say, a re-sited sensor), by more than the walk's
# ±9 °F; the new level may well lie inside the ±15 °F band.
SHIFT_MIN_F, SHIFT_MAX_F = 10.0, 30.0
SILENT_SECONDS = (180.0, 600.0)  # of event time; the job's default silent detector: 120 s
LABEL_COLUMNS = ("guid", "eventTime", "kind", "temperature")
LABEL_KINDS = (*ANOMALY_KINDS, *INCIDENT_KINDS, "shift")

OUTPUT_BATCH_LINES = 4096  # join lines before writing: far fewer write calls
PACE_TICK_S = 0.005  # with --rate on stdout: write (and flush) what is due this often
KAFKA_BOOTSTRAP_TIMEOUT_MS = 10_000  # give up well within 15 s when no broker answers
KAFKA_MAX_BLOCK_MS = 10_000
KAFKA_REQUEST_TIMEOUT_MS = 10_000
KAFKA_DELIVERY_TIMEOUT_MS = 30_000  # bounds how long the final flush can wait
KAFKA_CLOSE_TIMEOUT_S = 10.0
KAFKA_HINT = "is the broker running? (./scripts/kafka-start.sh)"
KAFKA_SETUP_HINT = "run ./scripts/setup.sh and use .venv/bin/python ./iotsimulator.py"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class KafkaUnavailable(RuntimeError):
    """Kafka mode cannot start (no broker, no kafka-python); the message is one line."""


@dataclass
class Sensor:
    """One device: identity and state are fixed; baseline_f is its state's average until a
    shift moves it (for good); offset_f is its walk position around baseline_f."""

    guid: str
    destination: str
    state: str
    baseline_f: float
    offset_f: float
    last: tuple[datetime, float] | None = None  # (event time, reading) last emitted
    incident: str | None = None  # "stuck" or "drift" while one lasts
    remaining: int = 0  # readings left in the incident
    incident_f: float = 0.0  # the stuck value, or the drift offset
    silent_until: datetime | None = None


class AnomalyLabel(NamedTuple):
    """Ground truth for one injected anomaly, exactly as emitted."""

    guid: str
    event_time: str
    kind: str
    temperature: float


def _unique_id(make_id: Callable[[], str], taken: set[str]) -> str:
    """Call make_id() until it returns a value not in taken; record and return it."""
    while (new_id := make_id()) in taken:
        pass
    taken.add(new_id)
    return new_id


def make_sensors(states: dict[str, float], n: int, rng: random.Random) -> list[Sensor]:
    """n sensors with unique guids and destinations; once n >= len(states) every state has one."""
    codes = sorted(states)  # sorted first so the shuffle depends only on the seed
    rng.shuffle(codes)
    guids: set[str] = set()
    destinations: set[str] = set()

    def digits(width: int) -> str:
        return f"{rng.randrange(10**width):0{width}d}"

    def new_guid() -> str:
        suffix = digits(GUID_SUFFIX_DIGITS) + rng.choice(string.ascii_uppercase)
        return f"{GUID_PREFIX}{digits(ID_DIGITS)}-{suffix}"

    sensors = []
    for i in range(n):
        # Round-robin over the shuffled states covers them all, then random choices.
        state = codes[i] if i < len(codes) else rng.choice(codes)
        guid = _unique_id(new_guid, guids)
        destination = _unique_id(lambda: DESTINATION_PREFIX + digits(ID_DIGITS), destinations)
        offset = rng.uniform(-START_SPREAD_F, START_SPREAD_F)
        sensors.append(Sensor(guid, destination, state, states[state], offset))
    return sensors


def wall_clock() -> Iterator[datetime]:
    """Yield true UTC now on each request, strictly increasing (a tie is bumped by 1 µs)."""
    last = datetime.min.replace(tzinfo=UTC)
    while True:
        now = datetime.now(UTC)
        last = now if now > last else last + ONE_MICROSECOND
        yield last


def simulated_clock(start: datetime, interval_s: float) -> Iterator[datetime]:
    """Yield start, start + interval, ... in exact integer microseconds (no float drift)."""
    step = timedelta(microseconds=round(interval_s * MICROSECONDS_PER_SECOND))
    return (start + i * step for i in itertools.count())


def format_utc(moment: datetime) -> str:
    """An aware UTC datetime as ISO-8601 with exactly 6 fractional digits and a trailing Z."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def round_temperature(value: float) -> float:
    """Round to the emitted precision; never returns -0.0."""
    return round(value, TEMPERATURE_DECIMALS) + 0.0


def advance_walk(sensor: Sensor, rng: random.Random) -> float:
    """Move the sensor one step on its bounded walk and return the new reading."""
    step = rng.uniform(-WALK_STEP_F, WALK_STEP_F)
    sensor.offset_f = (sensor.offset_f + step) * (1.0 - RECALIBRATION_PULL)
    return round_temperature(sensor.baseline_f + sensor.offset_f)


def draw_anomaly(baseline_f: float, rng: random.Random) -> tuple[str, float]:
    """Return (kind, reading) for an anomaly, 50/50 spike or impossible, random sign."""
    kind = rng.choice(ANOMALY_KINDS)
    sign = rng.choice((-1.0, 1.0))
    if kind == "spike":
        return kind, round_temperature(baseline_f + sign * rng.uniform(SPIKE_MIN_F, SPIKE_MAX_F))
    return kind, round_temperature(sign * rng.uniform(IMPOSSIBLE_MIN_F, IMPOSSIBLE_MAX_F))


def events(sensors: list[Sensor], rng: random.Random, clock: Iterator[datetime],
           count: int | None = None, anomaly_rate: float = 0.0,
           incident_rates: dict[str, float] | None = None,
           ) -> Iterator[tuple[dict[str, Any], list[AnomalyLabel]]]:
    """Yield count (None: endless) (event, labels) pairs, one random sensor each.

    Point anomalies (spike, impossible) replace one reading; incidents (stuck, drift, silent;
    probability per event in incident_rates) start on the chosen sensor and last several of its
    readings (silent: a span of event time, in which the sensor is never chosen); a shift (its
    rate in incident_rates too) moves the sensor's baseline for good. An event's labels are its
    own (point anomaly, stuck, drift or shift reading) or a silence it starts."""
    rates = {k: v for k, v in (incident_rates or {}).items() if v > 0}
    for _ in range(count) if count is not None else itertools.count():
        moment = next(clock)
        sensor = rng.choice(sensors)
        tries = 0
        while sensor.silent_until is not None:  # draws only once some sensor went silent
            tries += 1
            if moment >= sensor.silent_until or tries > 10 * len(sensors):  # (all silent)
                sensor.silent_until = None
                break
            sensor = rng.choice(sensors)
        kind, temperature = _reading(sensor, rng, anomaly_rate, rates)
        event_time = format_utc(moment)
        event = {"guid": sensor.guid, "destination": sensor.destination, "state": sensor.state,
                 "eventTime": event_time,
                 "payload": {"format": PAYLOAD_FORMAT, "data": {"temperature": temperature}}}
        labels = [AnomalyLabel(sensor.guid, event_time, kind, temperature)] if kind else []
        sensor.last = (moment, temperature)
        # Silence starts after this reading (drawn only when silences are on).
        if "silent" in rates and sensor.incident is None and rng.random() < rates["silent"]:
            sensor.silent_until = moment + timedelta(seconds=rng.uniform(*SILENT_SECONDS))
            labels.append(AnomalyLabel(sensor.guid, event_time, "silent", temperature))
        yield event, labels


def _reading(sensor: Sensor, rng: random.Random, anomaly_rate: float,
             rates: dict[str, float]) -> tuple[str | None, float]:
    """(label kind or None, reading) of the sensor's next event."""
    if sensor.incident is None and sensor.last is not None:
        for kind in ("stuck", "drift"):  # fixed order: the same seed gives the same output
            if kind in rates and rng.random() < rates[kind]:
                low, high = STUCK_READINGS if kind == "stuck" else DRIFT_READINGS
                sensor.incident, sensor.remaining = kind, rng.randint(low, high)
                sensor.incident_f = (sensor.last[1] if kind == "stuck" else
                                     rng.choice((-1.0, 1.0)) * rng.uniform(DRIFT_MIN_F, DRIFT_MAX_F))
                break
        # Drawn after the incidents, and only when shifts are on: rate-0 output is unchanged.
        if sensor.incident is None and "shift" in rates and rng.random() < rates["shift"]:
            sensor.baseline_f += rng.choice((-1.0, 1.0)) * rng.uniform(SHIFT_MIN_F, SHIFT_MAX_F)
            return "shift", advance_walk(sensor, rng)  # the walk goes on around the new level
    if sensor.incident is not None:
        kind = sensor.incident
        sensor.remaining -= 1
        if sensor.remaining <= 0:
            sensor.incident = None
        if kind == "stuck":  # the walk waits: the sensor reads on from where it stuck
            return kind, sensor.incident_f
        return kind, round_temperature(sensor.baseline_f + sensor.incident_f + _walk(sensor, rng))
    # Draw only when anomalies are on, so rate-0 output is unaffected by the feature.
    # An anomaly replaces the reading and leaves the sensor's walk untouched.
    if anomaly_rate > 0.0 and rng.random() < anomaly_rate:
        return draw_anomaly(sensor.baseline_f, rng)
    return None, advance_walk(sensor, rng)


def _walk(sensor: Sensor, rng: random.Random) -> float:
    """One step of the sensor's walk; its new offset."""
    advance_walk(sensor, rng)
    return sensor.offset_f


def format_event(event: dict[str, Any]) -> str:
    """The event as one JSON line (no newline), keys in insertion order."""
    return json.dumps(event)


def event_lines(pairs: Iterable[tuple[dict[str, Any], list[AnomalyLabel]]],
                label_writer: Any = None) -> Iterator[str]:
    """Format each event; its labels go to the csv label_writer as it is made."""
    for event, labels in pairs:
        if label_writer is not None:
            for label in labels:
                label_writer.writerow(label)
        yield format_event(event)


def write_stdout(lines: Iterable[str], out: TextIO) -> int:
    """Write each line plus newline to out in large batches, flush; return lines written."""
    lines, written = iter(lines), 0
    while batch := list(itertools.islice(lines, OUTPUT_BATCH_LINES)):
        out.write("\n".join(batch) + "\n")
        written += len(batch)
    out.flush()
    return written


def write_paced(lines: Iterable[str], out: TextIO, rate: float, duration_s: float | None = None,
                stop: threading.Event | None = None) -> int:
    """Write lines at rate/s (0: flat out) until they run out, duration_s passes or stop is set;
    return lines written. Line i is due at start + i / rate on the monotonic clock (no drift);
    what is due is written and flushed every PACE_TICK_S, so a pipe reader gets it at once."""
    if rate == 0 and duration_s is None and stop is None:
        return write_stdout(lines, out)
    lines, stop, written = iter(lines), stop or threading.Event(), 0
    start = time.monotonic()
    deadline = start + duration_s if duration_s is not None else math.inf
    while not stop.is_set():
        now = time.monotonic()
        last = now >= deadline
        if last and rate == 0:
            break
        due = int((now - start) * rate) if rate > 0 else written + OUTPUT_BATCH_LINES
        if rate > 0 and duration_s is not None:
            due = min(due, int(duration_s * rate))  # exactly rate x duration in the end
        wanted = max(0, due - written)
        batch = list(itertools.islice(lines, wanted))
        if batch:
            out.write("\n".join(batch) + "\n")
            out.flush()
            written += len(batch)
        if last or len(batch) < wanted:  # the time is up, or the lines ran out
            break
        if rate > 0:
            stop.wait(PACE_TICK_S)
    out.flush()
    return written


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


def _checked(convert: Callable[[str], Any], valid: Callable[[Any], bool], rule: str) -> Any:
    """An argparse type: convert, then reject values failing valid() as 'must be <rule>'."""
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"{text!r}: must be {rule}")
        return value
    return parse


def parse_utc(text: str) -> datetime:
    """ISO-8601 instant ('Z' allowed, naive means UTC) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


EXAMPLES = """examples:
  ./iotsimulator.py 10000 > testdata.txt
  ./iotsimulator.py 100000 --seed 7 --anomaly-rate 0.05 --labels labels.csv > data.txt
  ./iotsimulator.py 5 --start-time 2026-06-01T12:00:00Z --event-interval 60 --sensors 2
  .venv/bin/python iotsimulator.py --bootstrap-server localhost:9092 --topic iotmsgs \\
      --rate 200 --duration 60
  .venv/bin/python iotsimulator.py --bootstrap-server localhost:9092 --topic iotmsgs \\
      --rate 0 --count 1000000
  ./iotsimulator.py --rate 10000 --duration 60 | \\
      ./scripts/kafka-console-producer.sh --bootstrap-server localhost:9092 --topic iotmsgs

With --seed or --start-time, eventTime comes from a simulated clock and the same
arguments give byte-identical output; otherwise it is the real UTC clock."""


def build_parser() -> argparse.ArgumentParser:
    """The CLI; rules spanning several options are checked by _resolve_count()."""
    parser = argparse.ArgumentParser(prog="iotsimulator.py", description=__doc__, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    count = _checked(int, lambda v: v >= 0, ">= 0")
    add = parser.add_argument
    add("count", nargs="?", type=count, help="number of events (required on stdout)")
    add("--count", dest="count_option", type=count, metavar="N", help="alias of COUNT")
    add("--sensors", type=_checked(int, lambda v: v >= 1, ">= 1"), default=DEFAULT_SENSORS,
        help=f"distinct sensors (default {DEFAULT_SENSORS}); >= 51 covers every state")
    add("--seed", type=int, help="seed the RNG; implies the simulated clock")
    add("--sensor-seed", type=int, metavar="SEED",
        help="seed only the fleet (guids, states, starting offsets): the same sensors in every "
             "run, on the real clock unless --seed or --start-time is given")
    add("--start-time", type=_checked(parse_utc, lambda v: True, ""), metavar="ISO",
        help=f"simulated clock start (default {DEFAULT_START_TIME})")
    add("--event-interval", type=_checked(float, lambda v: v * MICROSECONDS_PER_SECOND >= 1,
                                          ">= 1 microsecond"),
        default=DEFAULT_EVENT_INTERVAL_S, metavar="SECONDS",
        help=f"simulated seconds between events (default {DEFAULT_EVENT_INTERVAL_S})")
    add("--anomaly-rate", type=_checked(float, lambda v: 0.0 <= v <= 1.0, "in [0, 1]"),
        default=0.0, metavar="P", help="probability a reading is an injected anomaly (default 0)")
    rate = _checked(float, lambda v: 0.0 <= v <= 1.0, "in [0, 1]")
    add("--stuck-rate", type=rate, default=0.0, metavar="P",
        help=f"probability per event that its sensor gets stuck on its last value for "
             f"{STUCK_READINGS[0]}-{STUCK_READINGS[1]} readings (default 0)")
    add("--drift-rate", type=rate, default=0.0, metavar="P",
        help=f"... drifts {DRIFT_MIN_F:g}-{DRIFT_MAX_F:g} °F off its baseline for "
             f"{DRIFT_READINGS[0]}-{DRIFT_READINGS[1]} readings (default 0)")
    add("--silent-rate", type=rate, default=0.0, metavar="P",
        help=f"... goes silent for {SILENT_SECONDS[0]:g}-{SILENT_SECONDS[1]:g} s (default 0)")
    add("--shift-rate", type=rate, default=0.0, metavar="P",
        help=f"... changes its level for good by {SHIFT_MIN_F:g}-{SHIFT_MAX_F:g} °F (default 0)")
    add("--labels", type=Path, metavar="FILE",
        help="write the injected anomalies as CSV: " + ",".join(LABEL_COLUMNS) + " (kind: "
             + ", ".join(LABEL_KINDS) + "; a silent row is the sensor's last reading before its "
             "silence, a shift row its first at the new level)")
    add("--states-file", type=Path, default=DEFAULT_STATES_FILE, metavar="FILE",
        help="state,name,avg_temp_f table (default: conf/states.csv beside this script)")
    add("--rate", type=_checked(float, lambda v: v >= 0, ">= 0"),
        help="events per second, 0 = as fast as possible (required in Kafka mode); on stdout, "
             "due lines are flushed every few ms, to pipe into kafka-console-producer")
    add("--duration", type=_checked(float, lambda v: v > 0, "> 0"), metavar="SECONDS",
        help="stop after this many seconds")
    kafka = parser.add_argument_group(
        "Kafka mode (needs kafka-python, e.g. run with .venv/bin/python)",
        "Stops after --count events, after --duration, or on SIGINT/SIGTERM (with neither\n"
        "option it runs until interrupted), then flushes and reports the acknowledged events.")
    kafka.add_argument("--bootstrap-server", metavar="HOST:PORT", help="produce to this broker")
    kafka.add_argument("--topic", help="topic to produce to (required in Kafka mode)")
    return parser


def _resolve_count(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int | None:
    """Enforce the mode-dependent rules (argparse error, exit 2); return the event count."""
    if None not in (args.count, args.count_option) and args.count != args.count_option:
        parser.error("COUNT and --count disagree")
    count = args.count if args.count is not None else args.count_option
    if args.bootstrap_server:
        if args.topic is None or args.rate is None:
            parser.error("--topic and --rate are required with --bootstrap-server")
        return count
    if args.topic is not None:
        parser.error("--topic only valid with --bootstrap-server")
    if count is None and args.rate is None:
        parser.error("COUNT (or --rate, to run until --duration or Ctrl-C) is required when "
                     "writing to stdout")
    return count


def _run_kafka(lines: Iterator[str], args: argparse.Namespace) -> int:
    """Connect, produce until a stop condition, report on stderr; return the exit code."""
    try:
        producer = connect_producer(args.bootstrap_server)
    except KafkaUnavailable as exc:
        print(f"iotsimulator: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:  # Ctrl-C while still connecting: nothing was sent
        return EXIT_INTERRUPTED
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda _signum, _frame: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        report = produce_to_kafka(lines, producer, args.topic, args.rate, args.duration, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(report.summary(), file=sys.stderr)
    if report.failed:
        print(f"iotsimulator: {report.failed} events not acknowledged: {report.first_error}",
              file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _run_paced(lines: Iterator[str], args: argparse.Namespace) -> None:
    """stdout at --rate for --duration; SIGINT/SIGTERM end it after a clean last line."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda _signum, _frame: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        write_paced(lines, sys.stdout, args.rate or 0.0, args.duration, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code (argparse itself exits 2 on bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    count = _resolve_count(parser, args)
    try:
        states = load_baselines(args.states_file)
    except StatesFileError as exc:
        print(f"iotsimulator: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    simulated = args.seed is not None or args.start_time is not None
    rng = random.Random(args.seed) if args.seed is not None else random.Random()
    start = args.start_time or parse_utc(DEFAULT_START_TIME)
    clock = simulated_clock(start, args.event_interval) if simulated else wall_clock()
    try:
        labels_file = args.labels.open("w", newline="", encoding="utf-8") if args.labels else None
    except OSError as exc:
        print(f"iotsimulator: error: cannot write labels file: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        label_writer = csv.writer(labels_file, lineterminator="\n") if labels_file else None
        if label_writer:
            label_writer.writerow(LABEL_COLUMNS)
        incidents = {"stuck": args.stuck_rate, "drift": args.drift_rate, "silent": args.silent_rate,
                     "shift": args.shift_rate}
        fleet_rng = random.Random(args.sensor_seed) if args.sensor_seed is not None else rng
        pairs = events(make_sensors(states, args.sensors, fleet_rng), rng, clock, count,
                       args.anomaly_rate, incidents)
        lines = event_lines(pairs, label_writer)
        if args.bootstrap_server:
            faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1: where it waits
            return _run_kafka(lines, args)
        try:
            if args.rate is None and args.duration is None:
                write_stdout(lines, sys.stdout)
            else:
                _run_paced(lines, args)
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly, and point stdout at
            # /dev/null so the interpreter's final flush does not complain either.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    finally:
        if labels_file:
            labels_file.close()


if __name__ == "__main__":
    sys.exit(main())
