"""The driver's side of the learned detector: which artifact the batch scores with. Before
every batch it looks for the newest artifact in [detectors.learned] model_dir (a listing of one
folder), checks a new one (format, features, the job's feature settings) and hands its location
to the batch's tasks (step.set_model); LearnedRule.java reads it there. It says in one line what
it scores with when that changes: at start, when a newer model is taken, when a model cannot be
used (the one before is kept).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from iotstream.detectors.learned import LearnedSettings
from iotstream.learned import artifact


class ModelWatch:
    def __init__(self, settings: LearnedSettings, out: TextIO = sys.stdout) -> None:
        self.settings = settings
        self.out = out
        self.folder = Path(settings.model_dir)
        self.current: Path | None = None  # the artifact in use
        self.refused: set[Path] = set()  # artifacts found unusable (said once each)
        self.said_none = False

    def _say(self, line: str) -> None:
        print(f"iot-aggregator: learned: {line}", file=self.out, flush=True)

    def location(self) -> str:
        """The URI of the artifact the next batch scores with; empty: none."""
        if not self.settings.enabled:
            return ""
        found = artifact.newest(self.folder)
        if found is not None and found != self.current and found not in self.refused:
            try:
                doc = artifact.read(found)
                if artifact.spec(doc) != self.settings.spec():
                    raise artifact.ArtifactError(
                        f"model {found} was trained with features {artifact.spec(doc)}, the job's "
                        f"[detectors.learned] has {self.settings.spec()}: train it again with "
                        "this config (./scripts/train.sh --config)")
            except artifact.ArtifactError as e:
                self.refused.add(found)
                keeping = f"; still scoring with {self.current.name}" if self.current else ""
                self._say(f"cannot use it: {e}{keeping}")
            else:
                verb = "now scoring with" if self.current else "scoring with"
                self.current = found
                self._say(f"{verb} {artifact.describe(found, doc)}")
        if self.current is None:
            if not self.said_none:
                self.said_none = True
                self._say(f"off: no model in {self.folder.resolve()} (./scripts/train.sh makes "
                          "one from the readings table; the job takes it before its next batch)")
            return ""
        return self.current.resolve().as_uri()
