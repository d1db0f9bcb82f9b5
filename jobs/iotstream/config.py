"""Job configuration: `conf/job.toml` + `conf/states.csv`, overridden by the command line.

Everything tunable lives in one frozen `JobConfig`; the rest of the job reads only that.
"""
# Over 300 lines: every setting of job.toml is declared and checked here, once.

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlparse

from iotstream.detectors.settings import Detectors, read_detectors
from iotstream.states import StatesFileError, load_baselines
from iotstream.toml_values import ConfigError, get, number, optional_section, read_config_file, section, where

__all__ = ["Bands", "ConfigError", "Detectors", "JobConfig", "load_config"]

STARTING_OFFSETS_WORDS = ("earliest", "latest")
# IOT_KAFKA_SASL_JAAS_CONFIG=... in the environment → kafka.sasl.jaas.config (Kafka's settings
# have dots where the variable has underscores).
ENV_OPTION_PREFIX = "IOT_KAFKA_"
# Options the job sets itself from its own settings.
RESERVED_OPTIONS = ("kafka.bootstrap.servers",)
# Settings whose values are printed; every other kafka.* value is shown as *** (it may be, or
# hold, a credential).
SHOWN_OPTIONS = frozenset(f"kafka.{name}" for name in (
    "security.protocol", "sasl.mechanism", "ssl.endpoint.identification.algorithm",
    "ssl.truststore.type", "ssl.keystore.type", "client.id", "group.id", "isolation.level",
))
DEFAULT_MAX_RECORD_BYTES = 65536
# What the job does with a reading whose clock is off ([event_time] policy).
TIME_POLICIES = ("quarantine", "adjust")
# Spark's memory sizes: a number and a unit (k, m, g, t, p, optionally with b; MiB if none).
MEMORY_SIZE = re.compile(r"[1-9][0-9]*([kmgtp]b?)?", re.IGNORECASE)
# A host name: dot-separated labels of letters, digits and inner hyphens (RFC 1123).
HOST_NAME = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?", re.IGNORECASE)
# [metrics] address "": every IPv4 interface, as the job has always bound its metrics port.
ALL_INTERFACES = "0.0.0.0"


@dataclass(frozen=True)
class Bands:
    """Per-state acceptable temperature bands and the physically possible range, in °F."""

    baselines: Mapping[str, float]
    tolerance: float
    tolerance_by_state: Mapping[str, float]
    physical_min: float
    physical_max: float

    def band(self, state: str) -> tuple[float, float]:
        """The (low, high) band of a known state."""
        tol = self.tolerance_by_state.get(state, self.tolerance)
        base = self.baselines[state]
        return base - tol, base + tol


@dataclass(frozen=True)
class JobConfig:
    """Everything the job needs to run; built by `load_config`, never mutated."""

    bootstrap_servers: str
    topic: str
    starting_offsets: str
    max_offsets_per_trigger: int
    fail_on_data_loss: bool
    max_record_bytes: int
    trigger_seconds: float
    available_now: bool
    output_dir: str
    checkpoint_dir: str
    shuffle_partitions: int
    max_anomaly_rows: int
    bands: Bands
    window_seconds: float = 60.0
    watermark_seconds: float = 30.0
    # A Kafka partition that delivered no reading for this long (the batches' time) stops holding
    # the event-time clock back (windows.md: the clock); it joins again with its next reading.
    idle_timeout_seconds: float = 60.0
    # A late reading whose window ended less than this before the clock restates the window.
    restate_horizon_seconds: float = 3600.0
    # A reading whose eventTime is more than this ahead of / behind its Kafka record's timestamp
    # is quarantined or adjusted (to the Kafka timestamp) by the policy; 0 = no limit.
    max_future_seconds: float = 300.0
    max_past_seconds: float = 0.0
    time_policy: str = "quarantine"
    # Prometheus metrics on this HTTP port of the driver (metrics.py); 0 = none.
    metrics_port: int = 0
    # The address it binds, an IP or a host name of the driver; "" = every one (ALL_INTERFACES).
    metrics_address: str = ""
    detectors: Detectors = field(default_factory=Detectors)
    alerts_topic: str = "iot-alerts"  # "" = no alerts to Kafka
    # Every N batches, each table's files of the batches before not merged yet are merged into one
    # per day, beside the stream (compaction.py; 0: never).
    compact_every_batches: int = 100
    write_readings: bool = True
    # Kafka source option minPartitions: at least this many Spark tasks read a batch (0: one per
    # Kafka partition).
    min_partitions: int = 0
    # What the job asks the cluster manager for ([cluster]); 0 / "" leave it to spark-submit.
    executors: int = 0
    executor_cores: int = 0
    executor_memory: str = ""
    # Passed to the Kafka source unchanged (TLS, SASL, ...): never printed as they are.
    kafka_options: Mapping[str, str] = field(default_factory=dict, repr=False)
    source: str = field(default="", compare=False)  # the config file it came from

    def with_overrides(self, **overrides: Any) -> JobConfig:
        """A copy with the given (non-None) fields replaced, then validated."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return _validated(replace(self, **given))


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> JobConfig:
    """Reads and validates a job config file (merged over its `base` file, if it names one) and
    the states file it names; `kafka.*` options come from its [kafka.options] table and from
    IOT_KAFKA_* variables of `environ`."""
    raw = read_config_file(path)
    sections = {name: section(raw, name, path) for name in ("kafka", "stream", "console", "anomalies")}
    windows = optional_section(raw, "windows", path)
    event_time = optional_section(raw, "event_time", path)
    metrics = optional_section(raw, "metrics", path)
    alerts = optional_section(raw, "alerts", path)
    cluster = optional_section(raw, "cluster", path)
    kafka, stream, console, anomalies = (sections[n] for n in ("kafka", "stream", "console", "anomalies"))
    # Relative to the file that sets it (a base file's, when an overlay leaves it alone).
    states_from = where(anomalies, "states_file", path)
    states_file = states_from.parent / get(anomalies, "states_file", str, path)
    overrides = anomalies.get("tolerance_by_state", {})
    if not isinstance(overrides, dict):
        raise ConfigError(f"{where(anomalies, 'tolerance_by_state', path)}: "
                          "[anomalies.tolerance_by_state] must be a table of STATE = number")
    try:
        baselines = load_baselines(states_file)
    except StatesFileError as e:
        raise ConfigError(f"{e} (set [anomalies] states_file in {states_from})") from None
    bands = Bands(
        baselines=MappingProxyType(baselines),
        tolerance=get(anomalies, "tolerance", float, path),
        tolerance_by_state=MappingProxyType(
            {str(k).upper(): number(v, f"tolerance_by_state.{k}", where(overrides, k, path))
             for k, v in overrides.items()}
        ),
        physical_min=get(anomalies, "physical_min", float, path),
        physical_max=get(anomalies, "physical_max", float, path),
    )
    config = JobConfig(
        bootstrap_servers=get(kafka, "bootstrap_servers", str, path),
        topic=get(kafka, "topic", str, path),
        starting_offsets=get(kafka, "starting_offsets", str, path),
        max_offsets_per_trigger=get(kafka, "max_offsets_per_trigger", int, path),
        fail_on_data_loss=get(kafka, "fail_on_data_loss", bool, path),
        max_record_bytes=get(kafka, "max_record_bytes", int, path)
        if "max_record_bytes" in kafka else DEFAULT_MAX_RECORD_BYTES,
        min_partitions=get(kafka, "min_partitions", int, path, 0),
        trigger_seconds=get(stream, "trigger_seconds", float, path),
        available_now=False,
        output_dir=get(stream, "output_dir", str, path),
        checkpoint_dir=get(stream, "checkpoint_dir", str, path),
        shuffle_partitions=get(stream, "shuffle_partitions", int, path),
        compact_every_batches=get(stream, "compact_every_batches", int, path, 100),
        write_readings=get(stream, "write_readings", bool, path, True),
        max_anomaly_rows=get(console, "max_anomaly_rows", int, path),
        executors=get(cluster, "executors", int, path, 0),
        executor_cores=get(cluster, "executor_cores", int, path, 0),
        executor_memory=get(cluster, "executor_memory", str, path, ""),
        bands=bands,
        window_seconds=get(windows, "length_seconds", float, path, 60.0),
        watermark_seconds=get(windows, "watermark_seconds", float, path, 30.0),
        idle_timeout_seconds=get(windows, "idle_timeout_seconds", float, path, 60.0),
        restate_horizon_seconds=get(windows, "restate_horizon_seconds", float, path, 3600.0),
        max_future_seconds=get(event_time, "max_future_seconds", float, path, 300.0),
        max_past_seconds=get(event_time, "max_past_seconds", float, path, 0.0),
        time_policy=get(event_time, "policy", str, path, "quarantine"),
        metrics_port=get(metrics, "port", int, path, 0),
        metrics_address=get(metrics, "address", str, path, ""),
        detectors=read_detectors(optional_section(raw, "detectors", path), path),
        alerts_topic=(get(alerts, "topic", str, path, "iot-alerts")
                      if get(alerts, "enabled", bool, path, True) else ""),
        kafka_options=MappingProxyType(_kafka_options(kafka, path, environ or {})),
        source=str(path),
    )
    return _validated(config)


def redacted(options: Mapping[str, str]) -> dict[str, str]:
    """The options with every value hidden but those of SHOWN_OPTIONS."""
    return {k: v if k in SHOWN_OPTIONS else "***" for k, v in options.items()}


def _kafka_options(kafka: dict[str, Any], path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    table = kafka.get("options", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{where(kafka, 'options', path)}: [kafka.options] must be a table of "
                          "\"kafka.…\" = \"value\"")
    options = {str(k).lower(): v for k, v in table.items()}  # Spark's options ignore case
    files = {str(k).lower(): where(table, k, path) for k in table}  # the file that set each
    for name, value in environ.items():
        if name.startswith(ENV_OPTION_PREFIX) and len(name) > len(ENV_OPTION_PREFIX):
            options["kafka." + name[len(ENV_OPTION_PREFIX):].lower().replace("_", ".")] = value
    for key, value in options.items():
        if not key.startswith("kafka.") or key in RESERVED_OPTIONS:
            raise ConfigError(f"{files.get(key, path)}: [kafka.options] takes kafka.* settings other than "
                              f"{', '.join(RESERVED_OPTIONS)}, not {key!r}")
        if not isinstance(value, (str, int, float, bool)):
            raise ConfigError(f"{files.get(key, path)}: [kafka.options] {key} must be a string or number")
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.items()}


def local_path(location: str) -> Path | None:
    """The local path of a plain path or file:// URI; None for hdfs://, s3a:// and the like."""
    url = urlparse(location)
    if url.scheme not in ("", "file"):
        return None
    return Path(url.path if url.scheme else location)


def checkpoint_location(config: JobConfig) -> str:
    """The checkpoint directory: configured, or `<output_dir>/_checkpoint`."""
    return config.checkpoint_dir or f"{config.output_dir.rstrip('/')}/_checkpoint"


def _validated(c: JobConfig) -> JobConfig:
    where = f" (config: {c.source})" if c.source else ""
    problems = []
    if not c.bootstrap_servers.strip():
        problems.append("bootstrap servers are empty")
    if not c.topic.strip():
        problems.append("topic is empty")
    if c.starting_offsets not in STARTING_OFFSETS_WORDS and not _is_json_object(c.starting_offsets):
        problems.append("starting offsets must be earliest, latest or a JSON object like "
                        f'{{"topic":{{"0":42}}}}, not {c.starting_offsets!r}')
    if not (math.isfinite(c.trigger_seconds) and c.trigger_seconds > 0):
        problems.append(f"trigger seconds must be > 0, not {c.trigger_seconds}")
    if c.max_offsets_per_trigger < 0:
        problems.append("max offsets per trigger must be >= 0 (0 = no limit)")
    if c.max_record_bytes < 1:
        problems.append("max_record_bytes must be >= 1")
    if c.shuffle_partitions < 1:
        problems.append("shuffle partitions must be >= 1")
    if c.min_partitions < 0:
        problems.append("min partitions must be >= 0 (0 = one Spark task per Kafka partition)")
    if c.executors < 0 or c.executor_cores < 0:
        problems.append("[cluster] executors and executor_cores must be >= 0 (0 = spark-submit's)")
    if c.executor_memory and not MEMORY_SIZE.fullmatch(c.executor_memory):
        problems.append(f"[cluster] executor_memory must be a size like 2g or 512m, not "
                        f"{c.executor_memory!r}")
    if c.compact_every_batches < 0:
        problems.append("compact_every_batches must be >= 0 (0 = never)")
    if c.max_anomaly_rows < 0:
        problems.append("max anomaly rows must be >= 0")
    if not c.output_dir.strip():
        problems.append("output dir is empty")
    b = c.bands
    if b.tolerance < 0 or any(t < 0 for t in b.tolerance_by_state.values()):
        problems.append("tolerances must be >= 0")
    if b.physical_min >= b.physical_max:
        problems.append("physical_min must be below physical_max")
    unknown = sorted(set(b.tolerance_by_state) - set(b.baselines))
    if unknown:
        problems.append(f"tolerance_by_state names unknown states: {', '.join(unknown)}")
    for name, value in (("windows length_seconds", c.window_seconds),
                        ("windows watermark_seconds", c.watermark_seconds),
                        ("windows idle_timeout_seconds", c.idle_timeout_seconds),
                        ("windows restate_horizon_seconds", c.restate_horizon_seconds)):
        if not (math.isfinite(value) and value >= (1 if "length" in name else 0)):
            problems.append(f"{name} must be {'>= 1' if 'length' in name else '>= 0'}, not {value}")
    if c.idle_timeout_seconds <= 0:
        problems.append("windows idle_timeout_seconds must be > 0")
    for name, value in (("max_future_seconds", c.max_future_seconds),
                        ("max_past_seconds", c.max_past_seconds)):
        if not (math.isfinite(value) and value >= 0):
            problems.append(f"[event_time] {name} must be >= 0 (0 = no limit), not {value}")
    if c.time_policy not in TIME_POLICIES:
        problems.append(f"[event_time] policy must be {' or '.join(TIME_POLICIES)}, not "
                        f"{c.time_policy!r}")
    if not 0 <= c.metrics_port <= 65535:
        problems.append(f"metrics port must be 0 (none) or a port number, not {c.metrics_port}")
    if c.metrics_address and not _is_host(c.metrics_address):
        problems.append(f"[metrics] address must be empty (every interface), an IP address or a "
                        f"host name, not {c.metrics_address!r}")
    problems += c.detectors.problems()
    if problems:
        raise ConfigError("; ".join(problems) + where)
    return c


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _is_host(text: str) -> bool:
    """An IP address (v4 or v6), or a host name that is not all digits (a bad IPv4 address)."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return HOST_NAME.fullmatch(text) is not None and not text.replace(".", "").isdigit()
