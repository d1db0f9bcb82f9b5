"""Kafka records → typed events, each usable or marked with the reason it cannot be used."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from iotstream.schema import EVENT_SCHEMA

# Columns of the Kafka source that the job reads.
KAFKA_COLUMNS = ("value",)
REJECT_REASON = "reject_reason"


def _missing(name: str) -> Column:
    return F.col(name).isNull()


def _finite(name: str) -> Column:
    return ~F.isnan(name) & (F.abs(F.col(name)) != F.lit(float("inf")))


def reject_reason(known_states: Iterable[str]) -> Column:
    """Why a parsed event cannot be used, or null when it can. First failing rule wins."""
    states = sorted(set(known_states))
    return (
        F.when(_missing("guid"), F.lit("missing_field:guid"))
        .when(_missing("state"), F.lit("missing_field:state"))
        .when(~F.col("state").isin(states), F.lit("unknown_state"))
        .when(_missing("event_time"), F.lit("bad_field:eventTime"))
        .when(_missing("temperature"), F.lit("missing_field:temperature"))
        .when(~_finite("temperature"), F.lit("bad_value:temperature"))
    )


def parse_records(known_states: Iterable[str]) -> Callable[[DataFrame], DataFrame]:
    """Transform: Kafka records (`value` bytes) → guid, destination, state, event_time, temperature,
    plus `reject_reason` (null for a usable event)."""
    reason = reject_reason(known_states)

    def transform(records: DataFrame) -> DataFrame:
        event = F.from_json(F.col("value").cast("string"), EVENT_SCHEMA)
        return (
            records.select(event.alias("e"))
            .select(
                F.col("e.guid").alias("guid"),
                F.col("e.destination").alias("destination"),
                F.col("e.state").alias("state"),
                # try_: a malformed time becomes null (and is rejected below) instead of failing
                # the whole batch under ANSI mode.
                F.try_to_timestamp(F.col("e.eventTime")).alias("event_time"),
                F.col("e.payload.data.temperature").alias("temperature"),
            )
            .withColumn(REJECT_REASON, reason)
        )

    return transform


def is_usable() -> Column:
    """A parsed record that passed every rule."""
    return F.col(REJECT_REASON).isNull()


def usable(parsed: DataFrame) -> DataFrame:
    """The parsed records that passed every rule (all columns kept)."""
    return parsed.where(is_usable())
