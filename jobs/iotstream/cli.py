"""Command line of the streaming job: arguments + config → checks → the running query."""

from __future__ import annotations

import argparse
import faulthandler
import importlib.resources
import os
import signal
import socket
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from iotstream.config import (
    ALL_INTERFACES,
    ConfigError,
    JobConfig,
    checkpoint_location,
    load_config,
    local_path,
)
from iotstream.console import describe

EXAMPLES = """\
examples:
  spark-submit --jars <connector jars> --py-files .build/iotstream.zip \\
      jobs/iot_aggregator.py localhost:9092 iotmsgs
  ./scripts/submit.sh localhost:9092 iotmsgs --output-dir /data/iot --trigger-seconds 5
  ./scripts/submit.sh --available-now          # drain the topic, then exit (backfills)
  ./scripts/submit.sh --check                  # validate config and broker, then exit
"""
CONNECT_TIMEOUT_SECONDS = 5.0


def parse_args(argv: list[str] | None, default_config: Path) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="iot_aggregator.py",
        description="Per-state temperature statistics and out-of-band anomalies from a Kafka "
        "topic of IoT events, every micro-batch, to the console and to Parquet.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("brokers", nargs="?", help="Kafka bootstrap servers, host:port[,host:port] "
                   "(default: [kafka] bootstrap_servers of the config)")
    p.add_argument("topic", nargs="?", help="topic to read (default: [kafka] topic)")
    p.add_argument("--config", type=Path, default=default_config,
                   help=f"job config file; under --deploy-mode cluster, ship it (and its "
                   f"states.csv) with spark-submit --files and pass its name (default: "
                   f"{default_config})")
    p.add_argument("--output-dir", help="where the Parquet tables go (default: ./output)")
    p.add_argument("--checkpoint-dir", help="streaming checkpoint (default: OUTPUT_DIR/_checkpoint)")
    p.add_argument("--trigger-seconds", type=float, help="micro-batch interval (default: 3)")
    p.add_argument("--starting-offsets",
                   help="earliest | latest | JSON; used only when there is no checkpoint yet")
    p.add_argument("--max-offsets-per-trigger", type=int, metavar="N",
                   help="at most N records per micro-batch (0 = no limit)")
    p.add_argument("--min-partitions", type=int, metavar="N",
                   help="at least N Spark tasks read each batch (0 = one per Kafka partition)")
    p.add_argument("--shuffle-partitions", type=int, metavar="N",
                   help="spark.sql.shuffle.partitions of the job (default: 2)")
    p.add_argument("--idle-timeout-seconds", type=float, metavar="S",
                   help="a Kafka partition with no reading for S seconds stops holding the "
                   "event-time clock back (default: 60)")
    p.add_argument("--restate-horizon-seconds", type=float, metavar="S",
                   help="a late reading restates its window if the window ended less than S "
                   "before the clock (default: 3600)")
    p.add_argument("--max-past-seconds", type=float, metavar="S",
                   help="eventTime more than S before its Kafka timestamp: the [event_time] "
                   "policy applies (default: 0 = no limit: history of any age is accepted)")
    p.add_argument("--max-future-seconds", type=float, metavar="S",
                   help="eventTime more than S after its Kafka timestamp: the [event_time] policy "
                   "applies (default: 300; 0 = no limit)")
    p.add_argument("--event-time-policy", choices=("quarantine", "adjust"),
                   help="for such readings (default: quarantine)")
    p.add_argument("--model-dir", metavar="DIR",
                   help="the learned detector scores with the newest model trained into DIR "
                   "(./scripts/train.sh), checked before every batch (default: models)")
    p.add_argument("--metrics-port", type=int, metavar="N",
                   help="serve Prometheus metrics on http://<driver>:N/metrics (default: off)")
    p.add_argument("--metrics-address", metavar="HOST",
                   help="the address of the driver the metrics port is bound to, an IP or a host "
                   "name (default: every interface)")
    p.add_argument("--available-now", action="store_true",
                   help="process everything in the topic now (in micro-batches), then exit")
    p.add_argument("--check", action="store_true",
                   help="validate the config, output dir and broker, print the settings, exit")
    return p.parse_args(argv)


def resolve_config(args: argparse.Namespace) -> JobConfig:
    """The config file's settings overridden by the command line."""
    config = load_config(args.config, os.environ)
    if args.model_dir is not None:
        config = replace(config, detectors=config.detectors.changed("learned", model_dir=args.model_dir))
    return config.with_overrides(
        bootstrap_servers=args.brokers,
        topic=args.topic,
        output_dir=args.output_dir,
        checkpoint_dir=args.checkpoint_dir,
        trigger_seconds=args.trigger_seconds,
        starting_offsets=args.starting_offsets,
        max_offsets_per_trigger=args.max_offsets_per_trigger,
        min_partitions=args.min_partitions,
        shuffle_partitions=args.shuffle_partitions,
        idle_timeout_seconds=args.idle_timeout_seconds,
        restate_horizon_seconds=args.restate_horizon_seconds,
        max_past_seconds=args.max_past_seconds,
        max_future_seconds=args.max_future_seconds,
        time_policy=args.event_time_policy,
        metrics_port=args.metrics_port,
        metrics_address=args.metrics_address,
        available_now=args.available_now or None,
    )


def check_environment(config: JobConfig) -> None:
    """Fails fast, with the fix, on what would otherwise fail slowly inside Spark."""
    for path in (config.output_dir, checkpoint_location(config)):
        _check_writable(path)
    _check_output_matches_checkpoint(config)
    _check_reachable(config.bootstrap_servers)
    if config.metrics_port:
        _check_port_free(config.metrics_address, config.metrics_port)


def _check_port_free(address: str, port: int) -> None:
    """Binds the port as the metrics server will (metrics.serve), and lets it go."""
    try:
        family, _, _, _, where = socket.getaddrinfo(address or ALL_INTERFACES, port,
                                                    type=socket.SOCK_STREAM,
                                                    flags=socket.AI_PASSIVE)[0]
        with socket.socket(family) as s:
            s.bind(where)
    except OSError as e:
        at, fix = (f" of {address}", " or another --metrics-address HOST") if address else ("", "")
        raise ConfigError(f"cannot serve metrics on port {port}{at} ({e.strerror or e}); pick a "
                          f"free one with --metrics-port N{fix}") from None


def packaged_config() -> Path:
    """conf/job.toml (and states.csv) as packaged in the job's zip: the defaults of a driver that
    runs away from the source checkout (spark-submit --deploy-mode cluster)."""
    return importlib.resources.files("iotstream") / "conf" / "job.toml"  # type: ignore[return-value]


def main(argv: list[str] | None = None, default_config: Path | None = None) -> int:
    args = parse_args(argv, default_config or packaged_config())
    try:
        config = resolve_config(args)
        check_environment(config)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.check:
        print(f"ok: {describe(config)}")
        return 0
    # `kill -USR1 <driver pid>` prints where every Python thread is (a stop that takes long).
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    from iotstream.runner import run  # imports Spark only when the job really runs

    try:
        return run(config)
    except KeyboardInterrupt:  # Ctrl-C while Spark was still starting
        print("iot-aggregator: interrupted", file=sys.stderr)
        return 130


def _check_writable(location: str) -> None:
    path = local_path(location)
    if path is None:
        return  # hdfs://, s3a://, ...: Spark reports problems there itself
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise ConfigError(f"cannot write to {path}: {e.strerror}; choose another "
                          "--output-dir / --checkpoint-dir or fix its permissions") from None


# What the job kept in its checkpoint before the engine moved the sensor models to Spark's state.
OLD_ENGINE_STATE = ("iot-sensor-models", "iot-known-sensors")


def _check_output_matches_checkpoint(config: JobConfig) -> None:
    """Batch ids start again at 0 with a new checkpoint: on an output folder that another
    checkpoint wrote, its batches would replace the earlier ones."""
    output, checkpoint = (local_path(p) for p in (config.output_dir, checkpoint_location(config)))
    if output is None or checkpoint is None:
        return  # remote stores: not checked here
    if (output / "batch_totals").is_dir() and not (checkpoint / "offsets").is_dir():
        raise ConfigError(
            f"{config.output_dir} holds the output of another checkpoint than {checkpoint}; a new "
            "checkpoint would overwrite its batches. Use the checkpoint that wrote it "
            "(--checkpoint-dir), or a new --output-dir"
        )
    if any((checkpoint / old).is_dir() for old in OLD_ENGINE_STATE):
        raise ConfigError(
            f"{checkpoint} was written by an earlier version of the job, which kept the sensors' "
            "models in files of its own; this version keeps them in Spark's state store and "
            "cannot go on from it. Start with a new --checkpoint-dir and --output-dir"
        )


def _check_reachable(bootstrap_servers: str) -> None:
    problems = []
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"bad Kafka address {server!r}: expected host:port")
        try:
            with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_SECONDS):
                return  # one reachable bootstrap server is enough
        except OSError as e:
            problems.append(f"{server} ({e.strerror or e})")
    raise ConfigError(f"cannot reach Kafka at {', '.join(problems)} — is the broker running? "
                      "(locally: ./scripts/kafka-start.sh)")

