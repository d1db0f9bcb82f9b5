"""The learned detector's features, per sensor, from its readings in event-time order: the
reference definition, in plain Python. engine/…/LearnedRule.java computes the same numbers in
the stream (tests/test_learned_stream.py holds them equal); the training (training.py) computes
them over the `readings` table.

A sensor's state: how many readings it has seen, exponentially weighted means and variances of
its values over a fast and a slow span (in readings), and its last value. A reading is scored
once the sensor has `warmup` readings before it; its features, before the reading updates the
state (no future data):

- z_fast: its distance from the fast mean, in the fast spread (max(sd, min_sigma));
- step_fast: its change from the sensor's last reading, in the fast spread;
- z_slow: its distance from the slow mean, in the slow spread;
- spread_ratio: log(fast spread / slow spread): the sensor's recent noise against its usual.

Only possible temperatures (within [anomalies] physical_min..physical_max) are scored or update
the state; late readings and re-sends never reach it (the step keeps them out of every rule).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

NAMES = ("z_fast", "step_fast", "z_slow", "spread_ratio")


@dataclass(frozen=True)
class FeatureSpec:
    """How the features are made: carried by the artifact, so a model is scored by the features
    it was trained on."""

    fast_span: int
    slow_span: int
    warmup: int
    min_sigma: float

    @classmethod
    def of(cls, table: Mapping[str, Any]) -> FeatureSpec:
        """From [detectors.learned] (its values checked by the engine, LearnedRule.java)."""
        return cls(fast_span=int(table["fast_span"]), slow_span=int(table["slow_span"]),
                   warmup=int(table["warmup"]), min_sigma=float(table["min_sigma"]))


class SensorFeatures:
    """One sensor's state; `take` scores-then-learns one reading."""

    __slots__ = ("spec", "fast", "slow", "n", "mean", "var", "slow_mean", "slow_var", "last")

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self.fast = 2.0 / (spec.fast_span + 1)
        self.slow = 2.0 / (spec.slow_span + 1)
        self.n = 0
        self.mean = self.var = self.slow_mean = self.slow_var = self.last = 0.0

    def take(self, value: float) -> tuple[float, float, float, float] | None:
        """The reading's features (None while warming up), then the reading joins the state."""
        found = None
        if self.n >= self.spec.warmup:
            spread = max(math.sqrt(self.var), self.spec.min_sigma)
            slow_spread = max(math.sqrt(self.slow_var), self.spec.min_sigma)
            found = ((value - self.mean) / spread, (value - self.last) / spread,
                     (value - self.slow_mean) / slow_spread, math.log(spread / slow_spread))
        if self.n == 0:
            self.mean = self.slow_mean = value
        else:
            d = value - self.mean
            step = self.fast * d
            self.mean += step
            self.var = (1 - self.fast) * (self.var + d * step)
            d = value - self.slow_mean
            step = self.slow * d
            self.slow_mean += step
            self.slow_var = (1 - self.slow) * (self.slow_var + d * step)
        self.last = value
        self.n += 1
        return found


def sensor_features(values: Iterable[float], spec: FeatureSpec
                    ) -> Iterator[tuple[float, float, float, float] | None]:
    """Each reading's features (None while warming up) for one sensor's values in event order."""
    state = SensorFeatures(spec)
    for v in values:
        yield state.take(v)
