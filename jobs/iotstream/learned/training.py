"""Training the learned detector's model, without Spark and without the job's config: the
features of every scored reading (features.py's, per sensor in event-time order), scikit-learn's
Isolation Forest fitted on them and exported as forest.py's plain data (checked to score as
scikit-learn does), and the threshold a budget of findings sets (a sensor's run of readings above
it is one finding, as the stream reports them). iotstream/train.py (./scripts/train.sh) reads the
readings, calls these and writes the artifact. The job itself never imports this module (nor
numpy, nor scikit-learn): it scores the exported forest in the engine.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iotstream.learned import forest
from iotstream.learned.features import NAMES, FeatureSpec, SensorFeatures

# Fewer scored readings than this cannot grow a forest of max_samples-sized trees worth having.
MIN_READINGS = 256


class TrainError(Exception):
    """Wrong input, said in one line."""


class Progress:
    """A progress bar on stderr (one line, redrawn) for the steps of a long training."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.shown = label, max(total, 1), -1
        self.drawn = sys.stderr.isatty()  # else (a log file) only 0% and 100%

    def update(self, done: int) -> None:
        percent = 100 * done // self.total
        if percent != self.shown and (self.drawn or percent in (0, 100)):
            self.shown = percent
            bar = "#" * (percent // 4)
            sys.stderr.write(f"\rtrain: {self.label} [{bar:<25}] {percent:3d}%")
            if done >= self.total or not self.drawn:
                sys.stderr.write("\n")
            sys.stderr.flush()


def features_of(table: pa.Table, spec: FeatureSpec) -> tuple[np.ndarray, list[int]]:
    """Every scored reading's features, and where each sensor's start in them."""
    guids = table["guid"].to_pylist()
    values = table["temperature"].to_pylist()
    rows: list[tuple[float, ...]] = []
    starts: list[int] = []
    progress = Progress("features", len(values))
    state = None
    for i, (guid, value) in enumerate(zip(guids, values, strict=True)):
        if i == 0 or guid != guids[i - 1]:
            state = SensorFeatures(spec)
            starts.append(len(rows))
        found = state.take(value)
        if found is not None:
            rows.append(found)
        if i % 10000 == 0:
            progress.update(i)
    progress.update(len(values))
    return np.array(rows, dtype=np.float64).reshape(-1, len(NAMES)), starts


def sensor_days(table: pa.Table) -> float:
    """The training readings' sensor-days: each sensor's span of event time, added up."""
    spans = table.group_by("guid").aggregate([("event_time", "min"), ("event_time", "max")])
    seconds = pc.subtract(spans["event_time_max"], spans["event_time_min"]).cast(pa.int64())
    return float(pc.sum(seconds).as_py() or 0) / 1e6 / 86_400


def budget_threshold(scores: np.ndarray, starts: list[int], allowed: float) -> float:
    """The lowest threshold above which the scores give at most `allowed` findings (run_findings)
    at that threshold and at every higher one. A reading starts a finding at threshold t when
    its score is above t and the one before it (of its sensor) is not: t in [before, score)."""
    before = np.empty_like(scores)
    before[1:] = scores[:-1]
    before[[s for s in starts if s < len(scores)]] = -np.inf  # a sensor with no scored row: none
    rising = before < scores  # only a reading above the one before it can start a finding
    points = np.unique(scores)  # findings change only at a score
    counts = (np.searchsorted(np.sort(before[rising]), points, side="right")
              - np.searchsorted(np.sort(scores[rising]), points, side="right"))
    over = np.nonzero(counts > allowed)[0]  # counts[k]: findings for t in [points[k], points[k+1])
    return float(points[over[-1] + 1] if len(over) else points[0])


def run_findings(scores: np.ndarray, starts: list[int], threshold: float) -> int:
    """Findings as the stream reports them: a sensor's run of readings above the threshold once."""
    above = scores > threshold
    first = above.copy()
    first[1:] &= ~above[:-1]
    starts = [s for s in starts if s < len(scores)]  # a sensor with no scored row starts none
    first[starts] = above[starts]
    return int(first.sum())


def fit(X: np.ndarray, trees: int, max_samples: int, seed: int) -> tuple[dict[str, Any], np.ndarray, int]:
    """scikit-learn's Isolation Forest fitted on the rows of X, exported as forest.py's data,
    with every row's score and the readings per tree; the export checked to score as
    scikit-learn does."""
    from sklearn.ensemble import IsolationForest  # only training needs scikit-learn

    model = IsolationForest(n_estimators=trees, max_samples=min(max_samples, len(X)),
                            random_state=seed).fit(X)
    data = forest.export(model, len(NAMES))
    scores = -model.score_samples(X)  # vectorised; the same numbers as the artifact's own walk:
    every = max(1, len(X) // 1000)
    walked = np.array([forest.score(data, row) for row in X[::every]])
    if not np.allclose(walked, scores[::every], rtol=0, atol=1e-9):
        raise TrainError("the exported forest does not score as scikit-learn's does (a library "
                         f"version forest.py does not know: scikit-learn {version('scikit-learn')})")
    return data, scores, int(model.max_samples_)
