"""The simulator's command line (iotsimulator.py is its entry point): options and the rules
between them, then the fleet's events to stdout (optionally paced) or into Kafka, with the
labels of the injected faults written as CSV. Exit codes: 0 done, 1 failure (no broker, labels
file not writable, events not acknowledged), 2 bad usage or states file, 130 Ctrl-C."""
from __future__ import annotations

import argparse
import csv
import faulthandler
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from iotstream.states import StatesFileError, load_baselines
from simulator.clock import (
    DEFAULT_EVENT_INTERVAL_S,
    DEFAULT_START_TIME,
    MICROSECONDS_PER_SECOND,
    parse_utc,
    simulated_clock,
    wall_clock,
)
from simulator.faults import (
    DRIFT_MAX_F,
    DRIFT_MIN_F,
    DRIFT_READINGS,
    LABEL_COLUMNS,
    LABEL_KINDS,
    SHIFT_MAX_F,
    SHIFT_MIN_F,
    SILENT_SECONDS,
    STUCK_READINGS,
    events,
)
from simulator.fleet import DEFAULT_SENSORS, DEFAULT_STATES_FILE, make_sensors
from simulator.output import event_lines, write_paced, write_stdout
from simulator.producer import KafkaUnavailable, connect_producer, produce_to_kafka

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

DESCRIPTION = """Simulate IoT temperature telemetry as JSON lines, to stdout or straight into Kafka.

Each sensor belongs to one US state for life and reports a temperature that wanders
around the state's average (conf/states.csv) on a bounded, mean-reverting walk.
Optionally some readings are replaced by labelled anomalies (ground truth for tests):
point anomalies (spike, impossible), incidents (a sensor stuck, drifting or silent for a while)
and level shifts (a sensor whose level moves for good, labelled at its first new reading).
"""

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


def build_parser() -> argparse.ArgumentParser:
    """The CLI; rules spanning several options are checked by _resolve_count()."""
    parser = argparse.ArgumentParser(prog="iotsimulator.py", description=DESCRIPTION,
                                     epilog=EXAMPLES,
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
