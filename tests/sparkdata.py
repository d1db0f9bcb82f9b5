"""Builders of small test DataFrames shaped like the Kafka source's records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import MappingProxyType

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from iotstream.config import Bands

KAFKA_RECORD_SCHEMA = T.StructType([
    T.StructField("value", T.BinaryType()),
    T.StructField("partition", T.IntegerType()),
    T.StructField("offset", T.LongType()),
    T.StructField("timestamp", T.TimestampType()),
    T.StructField("batch_time", T.TimestampType()),  # added by the streaming query
])
PRODUCED_AT = datetime(2026, 1, 1, tzinfo=UTC)
BATCH_TIME = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
MAX_RECORD_BYTES = 65536

# Two states are enough to exercise every rule; AK has a per-state tolerance.
BANDS = Bands(
    baselines=MappingProxyType({"CA": 60.0, "AK": 26.0}),
    tolerance=15.0,
    tolerance_by_state=MappingProxyType({"AK": 25.0}),
    physical_min=-130.0,
    physical_max=140.0,
)


def event(guid: str, state: str, temperature: object, event_time: str = "2026-01-01T00:00:01.000000Z",
          ) -> str:
    """One JSON line in the simulator's format."""
    return json.dumps({
        "guid": guid, "destination": "0-AAA00000001", "state": state, "eventTime": event_time,
        "payload": {"format": "urn:example:sensor:temp", "data": {"temperature": temperature}},
    })


def kafka_records(spark: SparkSession, lines: list[str | bytes | None], partition: int = 0,
                  first_offset: int = 0, batch_time: datetime = BATCH_TIME,
                  produced_at: datetime | None = None) -> DataFrame:
    """A batch DataFrame like the one the streaming query hands to foreachBatch. Each record's
    Kafka timestamp is `produced_at`, or by default its own eventTime (a sensor with a good
    clock), or PRODUCED_AT for a record without one."""
    rows = [
        (None if v is None else (v if isinstance(v, bytes) else v.encode()), partition,
         first_offset + i, produced_at or _sent_at(v), batch_time)
        for i, v in enumerate(lines)
    ]
    return spark.createDataFrame(rows, KAFKA_RECORD_SCHEMA)


def _sent_at(line: str | bytes | None) -> datetime:
    try:
        sent = datetime.fromisoformat(json.loads(line)["eventTime"].replace("Z", "+00:00"))
    except (TypeError, ValueError, KeyError, AttributeError):
        return PRODUCED_AT
    return sent if sent.tzinfo else sent.replace(tzinfo=UTC)
