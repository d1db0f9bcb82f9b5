"""Per-batch figures over flagged records (parse.parse_records + anomalies.flag_anomalies)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from iotstream.anomalies import plausible
from iotstream.parse import is_usable
from iotstream.windows import LATE

STATE_FIGURES = (
    "avg_temperature", "min_temperature", "max_temperature", "messages", "sensors", "readings"
)
BATCH_FIGURES = ("consumed", "accepted", "quarantined", "late", "messages", "sensors", "states",
                 "anomalies", "batch_time", "max_event_time")
IS_TOTAL = "is_total"


def batch_figures(flagged: DataFrame) -> DataFrame:
    """Per-state figures and the whole batch's, in one aggregation (one Spark job per batch).

    Rows with `is_total` = 0 are per state (avg/min/max temperature, messages, distinct sensors,
    readings). avg/min/max cover the plausible `readings` only: an impossible value (a sensor
    fault, listed in the anomalies) would make an average meaningless, so it counts as a message
    but not as a temperature.
    the one row with `is_total` = 1 covers the batch: records consumed, accepted (= messages),
    quarantined and late (windows.with_windows), distinct sensors and states, band anomalies,
    the batch's time and its latest event time. Only usable records
    count, except in `consumed` and `quarantined`; a state that had only quarantined records has
    messages = 0."""
    ok = is_usable()
    temperature = F.when(ok & plausible(), F.col("temperature"))

    def usable(name: str) -> Column:
        return F.when(ok, F.col(name))

    return flagged.rollup("state").agg(
        F.avg(temperature).alias("avg_temperature"),
        F.min(temperature).alias("min_temperature"),
        F.max(temperature).alias("max_temperature"),
        F.count_if(ok).alias("messages"),
        F.countDistinct(usable("guid")).alias("sensors"),
        F.count(temperature).alias("readings"),
        F.countDistinct(usable("state")).alias("states"),
        F.count_if(ok & F.col("reason").isNotNull()).alias("anomalies"),
        F.count(F.lit(1)).alias("consumed"),
        F.count_if(ok).alias("accepted"),
        F.count_if(~ok).alias("quarantined"),
        F.count_if(ok & F.col(LATE)).alias("late"),
        F.max("batch_time").alias("batch_time"),
        F.max(usable("event_time")).alias("max_event_time"),
        F.grouping("state").alias(IS_TOTAL),
    )


def split_figures(
    rows: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Collected `batch_figures` rows → (batch totals, per-state rows hottest first).

    An empty batch aggregates to no rows at all (not even a total): its totals are zeros (and
    its batch_time None)."""
    total = next((r for r in rows if r[IS_TOTAL]), None)
    totals = {name: total[name] if total else 0 for name in BATCH_FIGURES}
    if total is None:
        totals["batch_time"] = totals["max_event_time"] = None
    states = [
        {"state": r["state"], **{name: r[name] for name in STATE_FIGURES}}
        for r in rows
        if not r[IS_TOTAL] and r["messages"]
    ]
    # Hottest first; a state whose readings were all impossible has no average: last.
    states.sort(key=lambda s: (s["avg_temperature"] is None, -(s["avg_temperature"] or 0), s["state"]))
    return totals, states
