"""Per-batch aggregates over flagged events (see anomalies.flag_anomalies)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from iotstream.parse import REJECT_REASON


def state_stats(events: DataFrame) -> DataFrame:
    """Per state: avg/min/max temperature, messages and distinct sensors; hottest state first."""
    return (
        events.groupBy("state")
        .agg(
            F.avg("temperature").alias("avg_temperature"),
            F.min("temperature").alias("min_temperature"),
            F.max("temperature").alias("max_temperature"),
            F.count(F.lit(1)).alias("messages"),
            F.countDistinct("guid").alias("sensors"),
        )
        .orderBy(F.desc("avg_temperature"), "state")
    )


def batch_summary(parsed_flagged: DataFrame) -> DataFrame:
    """One row for a whole batch of parsed records (usable ones carry a flag `reason`):
    consumed, messages (usable), rejected, distinct sensors and states, anomalies."""
    ok = F.col(REJECT_REASON).isNull()
    return parsed_flagged.agg(
        F.count(F.lit(1)).alias("consumed"),
        F.count_if(ok).alias("messages"),
        F.count_if(~ok).alias("rejected"),
        F.countDistinct(F.when(ok, F.col("guid"))).alias("sensors"),
        F.countDistinct(F.when(ok, F.col("state"))).alias("states"),
        F.count_if(ok & F.col("reason").isNotNull()).alias("anomalies"),
    )
