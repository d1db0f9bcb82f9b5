"""An Isolation Forest as plain data, and its score, in plain Python (the engine's LearnedRule
walks the same data). `export` takes a fitted scikit-learn IsolationForest (only its fitted
attributes are read; scikit-learn is not imported here).

The score is Liu, Ting and Zhou's (2008): s = 2^(-E[h(x)] / c(ψ)), where h(x) is the path
length of x in a tree (the edges to its leaf, plus c(n) for the n training samples left in the
leaf), E over the trees, ψ the samples each tree was grown on and c(n) the average path length
of an unsuccessful search in a binary search tree of n nodes. s is in (0, 1]; near 1 is an
outlier. It equals -IsolationForest.score_samples(x). Trees split single-precision values, as
scikit-learn's do: a feature is rounded to float32 before it is compared.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

EULER_GAMMA = 0.5772156649015329


def average_path_length(n: int) -> float:
    """c(n)."""
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return 2.0 * (math.log(n - 1.0) + EULER_GAMMA) - 2.0 * (n - 1.0) / n


def export(model: Any, n_features: int) -> dict[str, Any]:
    """The fitted forest as data: per tree, per node, the feature it splits on (-1: a leaf), the
    threshold, its children and (leaves) its path length."""
    trees = []
    for estimator, used in zip(model.estimators_, model.estimators_features_, strict=True):
        t = estimator.tree_
        feature = [int(used[f]) if left != -1 else -1
                   for f, left in zip(t.feature, t.children_left, strict=True)]
        depth = [0] * t.node_count
        for node in range(t.node_count):  # a parent's index is below its children's
            for child in (t.children_left[node], t.children_right[node]):
                if child != -1:
                    depth[child] = depth[node] + 1
        path = [depth[i] + average_path_length(int(t.n_node_samples[i])) if feature[i] == -1
                else 0.0 for i in range(t.node_count)]
        trees.append({"feature": feature, "threshold": [float(x) for x in t.threshold],
                      "left": [int(x) for x in t.children_left],
                      "right": [int(x) for x in t.children_right], "path": path})
    if any(f >= n_features for tree in trees for f in tree["feature"]):
        raise ValueError("the forest splits on a feature it was not given")
    return {"trees": trees, "normaliser": average_path_length(int(model.max_samples_))}


def _float32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


def score(forest: dict[str, Any], features: Sequence[float]) -> float:
    """s(x) for one reading's features."""
    rounded = [_float32(x) for x in features]
    total = 0.0
    for tree in forest["trees"]:
        feature, threshold = tree["feature"], tree["threshold"]
        node = 0
        while feature[node] != -1:
            node = (tree["left"][node] if rounded[feature[node]] <= threshold[node]
                    else tree["right"][node])
        total += tree["path"][node]
    return 2.0 ** (-total / (len(forest["trees"]) * forest["normaliser"]))
