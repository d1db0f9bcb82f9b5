"""Kafka records → typed events, each usable or marked with the reason it cannot be used.

Every record ends up in exactly one place: usable events feed the figures; the others go to the
`quarantine` table with a reason, so the per-batch ledger consumed = accepted + quarantined holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from iotstream.config import JobConfig
from iotstream.schema import EVENT_SCHEMA

# Columns of the Kafka source that the job reads.
KAFKA_COLUMNS = ("value", "partition", "offset", "timestamp")
# Added to them in the streaming query: Spark's own time for the micro-batch, the same when a
# batch is replayed after a crash (stream.read_kafka).
BATCH_TIME = "batch_time"
REJECT_REASON = "reject_reason"
CORRUPT = "_corrupt_record"
# (reason suffix, path in the event, parsed column) of every required field.
REQUIRED = (
    ("guid", "$.guid", "guid"),
    ("state", "$.state", "state"),
    ("eventTime", "$.eventTime", "event_time_text"),
    ("temperature", "$.payload.data.temperature", "temperature"),
)
_LENIENT_SCHEMA = T.StructType(EVENT_SCHEMA.fields + [T.StructField(CORRUPT, T.StringType())])
# A reading's clock: "future" or "past" when its eventTime is off its Kafka timestamp by more
# than the policy allows (null otherwise, and for records rejected for another reason), and by
# how much (eventTime - Kafka timestamp, seconds).
CLOCK, CLOCK_SKEW = "clock", "clock_skew"
CLOCK_REASONS = {"future": "bad_value:eventTime_future", "past": "bad_value:eventTime_past"}
# Kafka timestamps before this are "none" (-1 in old message formats): no clock to judge by.
_KAFKA_TIME_KNOWN = "1970-01-02"
_KAFKA_TIME_KNOWN_MS = (datetime.fromisoformat(_KAFKA_TIME_KNOWN) - datetime(1970, 1, 1)) \
    // timedelta(milliseconds=1)


@dataclass(frozen=True)
class TimePolicy:
    """The event-time policy ([event_time]): limits in seconds (0 = none) and what happens to a
    reading beyond them: "quarantine" (rejected, reason bad_value:eventTime_future / _past) or
    "adjust" (its event time becomes its Kafka timestamp)."""

    max_future_seconds: float = 0.0
    max_past_seconds: float = 0.0
    action: str = "quarantine"

    @classmethod
    def of(cls, config: JobConfig) -> TimePolicy:
        """The policy of the job's [event_time] settings."""
        return cls(config.max_future_seconds, config.max_past_seconds, config.time_policy)


# The ISO 8601 times both Spark's to_timestamp and Python's fromisoformat read alike.
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d{1,6})?)?)?(Z|[+-]\d\d:\d\d)?")


def record_time(value: bytes, kafka_ms: int, policy: TimePolicy) -> datetime | None:
    """The event time (naive UTC) the job would give one record, as far as its eventTime and the
    policy tell: None when there is none to trust (not JSON, no ISO 8601 time, or beyond the
    policy's limits under "quarantine"). For the last record of a partition in a batch, which
    tells how far the partition has been read (pipeline.py): it may say None where the job
    would accept the record (the clock then waits for the batch's figures), never a time the
    job would not give it."""
    try:
        text = json.loads(value).get("eventTime")
        parsed = datetime.fromisoformat(text) if _ISO_TIME.fullmatch(text) else None
    except (ValueError, TypeError, AttributeError, RecursionError):
        return None
    if parsed is None:
        return None
    when = parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    if kafka_ms < _KAFKA_TIME_KNOWN_MS:  # no clock to judge by
        return when
    kafka = datetime(1970, 1, 1) + timedelta(milliseconds=kafka_ms)
    skew = (when - kafka).total_seconds()
    beyond = ((policy.max_future_seconds and skew > policy.max_future_seconds)
              or (policy.max_past_seconds and skew < -policy.max_past_seconds))
    if not beyond:
        return when
    return kafka if policy.action == "adjust" else None


def _skew_micros() -> Column:
    """eventTime less the Kafka record's timestamp, in microseconds."""
    return F.unix_micros("event_time") - F.unix_micros("kafka_timestamp")


def _clock(policy: TimePolicy) -> Column:
    """"future", "past" or null: the reading's eventTime against its Kafka record's timestamp."""
    skew = _skew_micros()
    known = F.col("kafka_timestamp") >= F.lit(_KAFKA_TIME_KNOWN).cast("timestamp")
    clock = F.when(F.lit(False), F.lit(None).cast("string"))
    if policy.max_future_seconds:
        clock = clock.when(known & (skew > round(policy.max_future_seconds * 1e6)), F.lit("future"))
    if policy.max_past_seconds:
        clock = clock.when(known & (skew < -round(policy.max_past_seconds * 1e6)), F.lit("past"))
    return clock


def _finite(name: str) -> Column:
    return ~F.isnan(name) & (F.abs(F.col(name)) != F.lit(float("inf")))


def _field_problems(suffix: str, path: str, parsed: str) -> list[tuple[Column, Column]]:
    """(condition, reason) pairs for a required field that did not parse: missing, or of a bad
    type. Only evaluated for suspect records, where `json` holds the record as a VARIANT."""
    raw = F.try_variant_get(F.col("json"), path, "variant")
    missing = F.col(parsed).isNull() & (raw.isNull() | F.is_variant_null(raw))
    wrong = F.col(parsed).isNull()
    if suffix != "temperature":  # text fields: an object or array is no guid (a number is read
        kind = F.schema_of_variant(raw)  # as its text, as in records that are otherwise good)
        wrong = wrong | kind.startswith("OBJECT") | kind.startswith("ARRAY")
    suspect = F.col("suspect")
    return [
        (suspect & missing, F.lit(f"missing_field:{suffix}")),
        (suspect & F.col("json").isNotNull() & wrong, F.lit(f"bad_type:{suffix}")),
    ]


def reject_reason(known_states: Iterable[str], max_record_bytes: int,
                  policy: TimePolicy = TimePolicy()) -> Column:
    """Why a record cannot be used, or null when it can. First failing rule wins; the clock's
    (the `clock` column) comes last, and only under the quarantine policy."""
    states = sorted(set(known_states))
    text = F.col("text")
    reason = (
        F.when(F.col("value").isNull(), F.lit("null_value"))
        .when(~F.is_valid_utf8(text), F.lit("not_utf8"))
        .when(F.octet_length("value") > max_record_bytes, F.lit("too_long"))
        .when(F.trim(text) == "", F.lit("empty"))
        .when(F.col("json").isNull() & F.col(CORRUPT).isNotNull(), F.lit("not_json"))
        .when(F.col("json").isNotNull() & ~F.schema_of_variant("json").startswith("OBJECT"),
              F.lit("not_object"))
    )
    for field in REQUIRED:
        for condition, why in _field_problems(*field):
            reason = reason.when(condition, why)
    reason = (
        reason.when(F.col("event_time").isNull(), F.lit("bad_value:eventTime"))
        .when(~F.col("state").isin(states), F.lit("unknown_state"))
        .when(~_finite("temperature"), F.lit("bad_value:temperature"))
    )
    if policy.action == "quarantine":
        for clock, why in CLOCK_REASONS.items():
            reason = reason.when(F.col(CLOCK) == clock, F.lit(why))
    return reason


def parse_records(
    known_states: Iterable[str], max_record_bytes: int, policy: TimePolicy = TimePolicy()
) -> Callable[[DataFrame], DataFrame]:
    """Transform: Kafka records → guid, destination, state, event_time, temperature, the record's
    Kafka coordinates and batch_time, `reject_reason` (null for a usable event), `raw` (the
    record as it came, for the quarantine; null for a usable event) and the clock's verdict
    (`clock`, `clock_skew`). Under the adjust policy, a reading whose clock is off takes its
    Kafka timestamp as event time."""
    reason = reject_reason(known_states, max_record_bytes, policy)

    def transform(records: DataFrame) -> DataFrame:
        text = F.col("value").cast("string")
        # A record over the limit is quarantined unread: never handed to a JSON parser.
        bounded = F.when(F.octet_length("value") <= max_record_bytes, text)
        event = F.from_json(bounded, _LENIENT_SCHEMA, {"columnNameOfCorruptRecord": CORRUPT})
        parsed = records.select(
            "value",
            text.alias("text"),
            event.alias("e"),
            F.col("partition").alias("kafka_partition"),
            F.col("offset").alias("kafka_offset"),
            F.col("timestamp").alias("kafka_timestamp"),
            BATCH_TIME,
        ).select(
            "*",
            F.col("e.guid").alias("guid"),
            F.col("e.destination").alias("destination"),
            F.col("e.state").alias("state"),
            F.col("e.eventTime").alias("event_time_text"),
            # try_: a malformed time becomes null (and is rejected) instead of failing the
            # whole batch under ANSI mode.
            F.try_to_timestamp(F.col("e.eventTime")).alias("event_time"),
            F.col("e.payload.data.temperature").alias("temperature"),
            F.col(f"e.{CORRUPT}").alias(CORRUPT),
        )
        suspect = F.col(CORRUPT).isNotNull()
        for _, _, name in REQUIRED:
            suspect = suspect | F.col(name).isNull()
        for name in ("guid", "state", "event_time_text"):
            # Spark's reader hands an object or array where text belongs over as its JSON text.
            suspect = suspect | F.col(name).startswith("{") | F.col(name).startswith("[")
        skew = _skew_micros() / 1e6
        mine = F.col(REJECT_REASON).isNull() | F.col(REJECT_REASON).isin(*CLOCK_REASONS.values())
        clocked = F.when(mine, F.col(CLOCK))
        adjusted = F.col(CLOCK).isNotNull() & F.col(REJECT_REASON).isNull()
        return (
            parsed.withColumn(CLOCK, _clock(policy))
            .withColumn("suspect", suspect)
            # Parsed a second time, strictly, only when the lenient parse left doubt: to tell
            # "not JSON" from "missing field" from "wrong type".
            .withColumn("json", F.when(F.col("suspect"), F.try_parse_json(bounded)))
            .withColumn(REJECT_REASON, reason)
            .withColumn("raw", _raw())
            .withColumn(CLOCK_SKEW, F.when(clocked.isNotNull(), skew))
            .withColumn("event_time", F.when(adjusted, F.col("kafka_timestamp"))
                        .otherwise(F.col("event_time")))
            .withColumn(CLOCK, clocked)
            .drop("e", "value", "text", "json", "suspect", "event_time_text", CORRUPT)
        )

    return transform


def _raw() -> Column:
    """The record as it came, for the quarantine: text, or base64 when it is not UTF-8."""
    valid = F.is_valid_utf8(F.col("text"))
    return F.when(F.col(REJECT_REASON).isNull(), F.lit(None).cast("string")).when(
        valid, F.col("text")
    ).otherwise(F.concat(F.lit("base64:"), F.base64("value")))


def is_usable() -> Column:
    """A parsed record that passed every rule."""
    return F.col(REJECT_REASON).isNull()
