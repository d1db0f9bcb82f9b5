"""Anomalies published to Kafka as JSON (the alerts topic), for downstream systems to react."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa
from pyspark.sql import SparkSession

from iotstream import step
from iotstream.config import JobConfig
from iotstream.io.arrow import naive

FIELDS = ("detector", "reason", "score", "guid", "state", "event_time", "temperature", "band_low",
          "band_high", "batch_id", "batch_time")


def _time(t: datetime) -> str:
    """UTC, as eventTime: 2026-01-01T00:00:01.000000Z (naive datetimes are UTC)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alert_id(row: Mapping[str, Any]) -> str:
    """The same for the same finding, also when a replayed batch publishes it again."""
    return f"{row['detector']}:{row['guid']}:{_time(row['event_time'])}"


def as_value(row: Mapping[str, Any]) -> str:
    """One anomaly row (the anomalies table's columns) → the alert's JSON (no null fields)."""
    value: dict[str, Any] = {"alert_id": alert_id(row)}
    for name in FIELDS:
        v = row[name]
        if v is not None:
            value[name] = _time(v) if isinstance(v, datetime) else v
    return json.dumps(value, separators=(",", ":"))


class AlertPublisher:
    """Writes anomaly rows to the alerts topic with the job's brokers and kafka.* options, from
    the driver, with Kafka's producer (iot.engine.Alerts): at least once, keyed by guid."""

    def __init__(self, config: JobConfig) -> None:
        self.topic = config.alerts_topic
        self.settings = {"bootstrap.servers": config.bootstrap_servers,
                         **{k.removeprefix("kafka."): v for k, v in config.kafka_options.items()}}

    def __call__(self, spark: SparkSession, anomalies: pa.Table) -> int:
        rows = naive(anomalies).to_pylist()
        if not rows:
            return 0
        records = json.dumps([[r["guid"] or "", as_value(r)] for r in rows])
        return step.engine(spark).Alerts.send(self.settings, self.topic, records)
