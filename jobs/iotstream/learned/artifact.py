"""The learned detector's artifact: one JSON file that holds the model (the forest as data, its
threshold) and everything needed to trust it (the features and how they are made, what it was
trained on, the libraries, the training figures). Written by iotstream/train.py into a model
folder as learned-<UTC time of training>.json, so the newest sorts last; never changed after
(a new model is a new file, written to a temporary name and renamed into place).

No Spark: the job's driver lists the model folder and reads the newest file through Hadoop's
FileSystem (any URI: models.ModelWatch), and checks it here (`newest_name`, `parse`); the engine
reads the forest on the executors, from the copy shipped with the job.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from iotstream.learned.features import NAMES, FeatureSpec

FORMAT = 1
METHOD = "isolation_forest"
PATTERN = re.compile(r"^learned-\d{8}T\d{6}\d*Z\.json$")


class ArtifactError(ValueError):
    """An artifact that cannot be used, said in one line."""


def file_name(trained_at: str) -> str:
    """learned-20261202T201500123456Z.json for 2026-12-02T20:15:00.123456Z."""
    return "learned-" + re.sub(r"[^0-9TZ]", "", trained_at) + ".json"


def write(model_dir: Path, doc: dict[str, Any]) -> Path:
    """Writes the artifact into `model_dir` (made if missing), atomically; returns its path."""
    model_dir.mkdir(parents=True, exist_ok=True)
    target = model_dir / file_name(doc["trained_at"])
    fd, tmp = tempfile.mkstemp(dir=model_dir, prefix=".learned-", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    os.replace(tmp, target)
    return target


def newest_name(names: Iterable[str]) -> str | None:
    """The newest artifact's name among a folder's file names (None: no artifact)."""
    found = sorted(n for n in names if PATTERN.match(n))
    return found[-1] if found else None


def newest(model_dir: str | Path) -> Path | None:
    """The newest artifact in a local folder (None: no folder, or no artifact in it)."""
    try:
        name = newest_name(os.listdir(model_dir))
    except (FileNotFoundError, NotADirectoryError):
        return None
    return Path(model_dir, name) if name else None


def read(path: Path) -> dict[str, Any]:
    """The artifact of a local file, checked (`parse`)."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ArtifactError(f"cannot read model {path}: {e}") from None
    return parse(text, str(path))


def parse(text: str, path: str) -> dict[str, Any]:
    """The artifact's text (from `path`), checked: its format, method, features and forest
    (ArtifactError if not)."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ArtifactError(f"cannot read model {path}: {e}") from None
    if doc.get("format") != FORMAT or doc.get("method") != METHOD:
        raise ArtifactError(f"model {path} is not an artifact of this job's version (format "
                            f"{doc.get('format')!r}, method {doc.get('method')!r}; this job reads "
                            f"format {FORMAT}, {METHOD}): train a new one with ./scripts/train.sh")
    features = doc.get("features", {})
    if tuple(features.get("names", ())) != NAMES:
        raise ArtifactError(f"model {path} scores features {features.get('names')}, this job "
                            f"computes {list(NAMES)}: train a new one with ./scripts/train.sh")
    try:
        spec(doc)
    except (KeyError, TypeError, ValueError) as e:
        raise ArtifactError(f"model {path} is damaged: its features' settings ({e})") from None
    if not doc.get("forest", {}).get("trees"):
        raise ArtifactError(f"model {path} is damaged: no trees")
    return doc


def features_table(spec: FeatureSpec) -> dict[str, Any]:
    """The artifact's "features": the names and the settings they were made with (`spec` reads it)."""
    return {"names": list(NAMES), **dataclasses.asdict(spec)}


def spec(doc: dict[str, Any]) -> FeatureSpec:
    """The settings the artifact's features were made with (the job scores with it only when
    they are its own: models.ModelWatch)."""
    return FeatureSpec.of(doc["features"])


def describe(name: str, doc: dict[str, Any]) -> str:
    """One line: which model (its file's name), trained on what."""
    t = doc["training"]
    return (f"{name} ({doc['method']}, {t['rows']:,} readings of {t['sensors']:,} sensors "
            f"from {t['first_event_time']} to {t['last_event_time']}, threshold "
            f"{doc['threshold']:.4f})")
