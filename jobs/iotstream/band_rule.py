"""The band rule: a reading outside its state's band or any real air temperature, as named Column
expressions over `temperature` and the bands (the `band` detector reports its runs)."""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from iotstream.config import Bands
from iotstream.contract import IMPOSSIBLE

BELOW_BAND = "below_band"
ABOVE_BAND = "above_band"


def _state_map(values: dict[str, float]) -> Column:
    return F.create_map(*[F.lit(x) for state, v in sorted(values.items()) for x in (state, v)])


def with_bands(bands: Bands) -> Callable[[DataFrame], DataFrame]:
    """Transform: adds `band_low` / `band_high`, the event's state band (null for unknown states)."""
    limits = {state: bands.band(state) for state in bands.baselines}
    lows = _state_map({s: lo for s, (lo, _) in limits.items()})
    highs = _state_map({s: hi for s, (_, hi) in limits.items()})

    def transform(events: DataFrame) -> DataFrame:
        return events.withColumn("band_low", F.try_element_at(lows, F.col("state"))).withColumn(
            "band_high", F.try_element_at(highs, F.col("state"))
        )

    return transform


def physically_impossible(bands: Bands) -> Column:
    """Outside any real air temperature, whatever the state."""
    t = F.col("temperature")
    return (t < bands.physical_min) | (t > bands.physical_max)


def below_band() -> Column:
    return F.col("temperature") < F.col("band_low")


def above_band() -> Column:
    return F.col("temperature") > F.col("band_high")


def out_of_band_reason(bands: Bands) -> Column:
    """The reason an event (with bands) is anomalous, or null. Impossible values win over bands."""
    return (
        F.when(physically_impossible(bands), F.lit(IMPOSSIBLE))
        .when(below_band(), F.lit(BELOW_BAND))
        .when(above_band(), F.lit(ABOVE_BAND))
    )


def flag_out_of_band(bands: Bands) -> Callable[[DataFrame], DataFrame]:
    """Transform: adds `band_low`, `band_high` and `reason` (null when the reading is normal)."""
    reason = out_of_band_reason(bands)

    def transform(events: DataFrame) -> DataFrame:
        return events.transform(with_bands(bands)).withColumn("reason", reason)

    return transform
