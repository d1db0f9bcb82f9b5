"""The anomaly detectors, one module each, behind one registry that the config, the batch step
and quality.py iterate.

A detector says: its `[detectors.<name>]` settings (key → field of config.Detectors), the
simulator's fault kinds it is meant to catch (quality.py measures its recall on those), which of
the batch's rows carry its findings (`wanted`: SQL over the rows of engine.plan, run in the
batch's one pass over its rows) and what it found in such a row (`findings`: (reason, score)
pairs). Where a finding comes from is the detector's own business: a rule column of the parse
(band), the window figures (three_sigma), or the per-sensor step in the engine (zscore, stuck,
silent, level_shift). Adding a detector: a module here, its entry in REGISTRY, its table in conf/job.toml
(its fields in config.Detectors), and its test.

No Spark here: quality.py imports the registry with pyarrow alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any]
Finding = tuple[str, float]  # (reason, score)


@dataclass(frozen=True)
class Detector:
    name: str
    # [detectors.<name>] key → (config.Detectors field, type); `enabled` is every table's.
    settings: Mapping[str, tuple[str, type]]
    meant_for: tuple[str, ...]  # the simulator's fault kinds (quality.py's recall)
    wanted: str  # SQL: the batch rows that carry a finding of this detector
    findings: Callable[[Row, Any], Iterable[Finding]]  # (row, config.Detectors) → findings
    # Whether `wanted` needs the side pass's own columns (three_sigma's z): if not, the batch's
    # figures count its rows, and a batch where no detector has any skips the side pass.
    side_only: bool = False


def _registry() -> dict[str, Detector]:
    from iotstream.detectors import band, level_shift, silent, stuck, three_sigma, zscore

    return {d.name: d for d in (band.DETECTOR, three_sigma.DETECTOR, zscore.DETECTOR,
                                stuck.DETECTOR, silent.DETECTOR, level_shift.DETECTOR)}


REGISTRY: Mapping[str, Detector] = _registry()
NAMES = tuple(REGISTRY)
