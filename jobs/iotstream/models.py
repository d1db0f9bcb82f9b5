"""The driver's side of the learned detector: which artifact the batch scores with. Before
every batch it lists [detectors.learned] model_dir (any URI the job's Hadoop configuration reads:
a local folder, hdfs://, s3a:// ...), checks a new artifact (format, features, the job's feature
settings), ships it with the job (SparkContext.addFile: every executor fetches its own copy) and
hands its name to the batch's tasks (step.set_model); LearnedRule.java scores with that copy, so
no executor ever reads the driver's folder. It says in one line what it scores with when that
changes: at start, when a newer model is taken, when a model cannot be used (the one before is
kept).

No Spark here: the folder is read and the artifact shipped through the functions it is given
(ModelFiles; the job's are Hadoop's FileSystem and addFile, io.fs and step.ship_file).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from iotstream.learned import artifact
from iotstream.learned.features import FeatureSpec


@dataclass(frozen=True)
class ModelFiles:
    """How the driver reaches the model folder: `names(folder)`, its file names (None: no such
    folder); `read(location)`, a file's text; `ship(location)`, the file shipped with the job,
    returning the name the executors find it by."""

    names: Callable[[str], list[str] | None]
    read: Callable[[str], str]
    ship: Callable[[str], str]


class ModelWatch:
    def __init__(self, settings: Mapping[str, Any], out: TextIO = sys.stdout) -> None:
        """`settings`: [detectors.learned], as the engine resolved it (step.resolve)."""
        self.enabled = settings["enabled"]
        self.spec = FeatureSpec.of(settings)
        self.out = out
        self.folder = settings["model_dir"].rstrip("/") or "/"
        self.current: str | None = None  # the artifact in use (its file's name)
        self.shipped: str | None = None  # the name the executors find it by
        self.refused: set[str] = set()  # artifacts found unusable (said once each)
        self.said_none = False

    def _say(self, line: str) -> None:
        print(f"iot-aggregator: learned: {line}", file=self.out, flush=True)

    def location(self, files: ModelFiles) -> str:
        """The name (shipped with the job) of the artifact the next batch scores with; empty:
        none."""
        if not self.enabled:
            return ""
        found = artifact.newest_name(files.names(self.folder) or [])
        if found is not None and found != self.current and found not in self.refused:
            where = f"{self.folder}/{found}"
            try:
                doc = artifact.parse(files.read(where), where)
                if artifact.spec(doc) != self.spec:
                    raise artifact.ArtifactError(
                        f"model {where} was trained with features {artifact.spec(doc)}, the job's "
                        f"[detectors.learned] has {self.spec}: train it again with "
                        "this config (./scripts/train.sh --config)")
                shipped = files.ship(where)
            except Exception as e:  # noqa: BLE001 - refused and said, whatever went wrong
                # (the artifact, or the file system's error: gone since it was listed, unreadable)
                self.refused.add(found)
                keeping = f"; still scoring with {self.current}" if self.current else ""
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                self._say(f"cannot use it: {reason}{keeping}")
            else:
                verb = "now scoring with" if self.current else "scoring with"
                self.current, self.shipped = found, shipped
                self._say(f"{verb} {artifact.describe(found, doc)}")
        if self.current is None:
            if not self.said_none:
                self.said_none = True
                self._say(f"off: no model in {self.folder} (./scripts/train.sh makes one from the "
                          "readings table; the job takes it before its next batch)")
            return ""
        return self.shipped or ""
