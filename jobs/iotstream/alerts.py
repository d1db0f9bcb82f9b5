"""Anomalies published to Kafka as JSON (the alerts topic), for downstream systems to react."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from iotstream.config import JobConfig

TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"  # UTC (the session's time zone), as eventTime
FIELDS = ("detector", "reason", "score", "guid", "state", "event_time", "temperature", "band_low",
          "band_high", "batch_id", "batch_time")


def alert_id() -> Column:
    """The same for the same finding, also when a replayed batch publishes it again."""
    return F.concat_ws(":", "detector", "guid", F.date_format("event_time", TIME_FORMAT))


def as_records(anomalies: DataFrame) -> DataFrame:
    """Anomaly rows (the anomalies table's columns) → Kafka records: key guid, value JSON."""
    value = F.to_json(F.struct(alert_id().alias("alert_id"), *FIELDS), {"timestampFormat": TIME_FORMAT})
    return anomalies.select(F.col("guid").alias("key"), value.alias("value"))


class AlertPublisher:
    """Writes anomaly rows to the alerts topic with the job's brokers and kafka.* options."""

    def __init__(self, config: JobConfig) -> None:
        self.topic = config.alerts_topic
        self.options = {"kafka.bootstrap.servers": config.bootstrap_servers, **config.kafka_options}

    def __call__(self, anomalies: DataFrame) -> None:
        (as_records(anomalies).write.format("kafka").options(**self.options)
         .option("topic", self.topic).save())
