"""`learned`: a reading whose features score above a trained model's threshold (an Isolation
Forest made by ./scripts/train.sh from the job's own `readings` table; jobs/iotstream/learned/).
The engine's per-sensor step (engine/…/LearnedRule.java) computes the features and walks the
forest; a run of readings above the threshold is reported once, at its first, with the model's
score (0..1, near 1 an outlier). The job scores with the newest artifact in `model_dir`, checked
before every batch; with none there the detector finds nothing and the job says so once.
The features' settings are the model's too: an artifact trained with others is refused."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from iotstream.detectors.base import Detector, Finding, Row, Settings
from iotstream.learned.features import FeatureSpec


@dataclass(frozen=True)
class LearnedSettings(Settings):
    model_dir: str = "models"
    fast_span: int = 30
    slow_span: int = 300
    warmup: int = 10
    min_sigma: float = 0.5

    def spec(self) -> FeatureSpec:
        return FeatureSpec(fast_span=self.fast_span, slow_span=self.slow_span,
                           warmup=self.warmup, min_sigma=self.min_sigma)

    def problems(self) -> list[str]:
        return [f"learned: {p}" for p in self.spec().problems()]


def findings(row: Row, _settings: LearnedSettings) -> Iterable[Finding]:
    return [("outlier", row["learned_score"])]


DETECTOR = Detector(
    name="learned", settings=LearnedSettings, meant_for=("spike", "impossible", "drift", "shift"),
    wanted="learned_score IS NOT NULL", findings=findings, columns=("learned_score",))
