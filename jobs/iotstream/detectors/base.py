"""What a detector is (its modules import this, not the package: the package imports them).

A detector says: its settings (a frozen dataclass filled from its own `[detectors.<name>]` table
of conf/job.toml: every table has `enabled`, and its fields with their defaults), the simulator's
fault kinds it is meant to catch (quality.py measures its recall on those), which of the batch's
rows carry its findings (`wanted`: SQL over the rows of plan.plan, run in the batch's one pass
over its rows; `:<name>` in it is whether it is enabled, and `parameters` gives any other SQL
parameter it uses), the step's columns its findings read (`columns`: checked against the step's
output at plan time) and what it found in such a row (`findings`: (reason, score) pairs).

No Spark here: quality.py and config.py import the registry without a JVM.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

Row = Mapping[str, Any]
Finding = tuple[str, float]  # (reason, score)


@dataclass(frozen=True)
class Settings:
    """A detector's table; a detector's own settings subclass it with their fields."""

    enabled: bool = True

    def problems(self) -> list[str]:
        """What is wrong with the values, worded for the user (empty: nothing)."""
        return []

    def table(self) -> dict[str, Any]:
        """The settings as conf/job.toml's table has them (what the engine is handed)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _no_parameters(_settings: Any) -> Mapping[str, Any]:
    return {}


@dataclass(frozen=True)
class Detector:
    name: str
    settings: type[Settings]
    meant_for: tuple[str, ...]  # the simulator's fault kinds (quality.py's recall)
    wanted: str  # SQL: the batch rows that carry a finding of this detector
    findings: Callable[[Row, Any], Iterable[Finding]]  # (row, its settings) → findings
    columns: tuple[str, ...] = ()  # the step's columns `findings` reads, beyond the record's
    # Its SQL parameters beyond `:<name>` (enabled), from its settings.
    parameters: Callable[[Any], Mapping[str, Any]] = _no_parameters
    # quality.py's goals: fault kind → the precision and the recall on that kind alone it must
    # reach (a kind among meant_for).
    goals: Mapping[str, float] = field(default_factory=dict)
    # Whether `wanted` needs the side pass's own columns (three_sigma's z): if not, the batch's
    # figures count its rows, and a batch where no detector has any skips the side pass.
    side_only: bool = False
