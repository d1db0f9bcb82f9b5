"""What a detector of the job's own is (its modules import this, not the package: the package
imports them). The per-sensor detectors are the engine's rules (engine/…/*Rule.java): they declare
and check their settings, and hand their findings on as data (the step's `findings` column), so
nothing here knows them. What the job judges itself is a window rule: a reading against its
state's event-time window so far (the window's readings, this batch's included), whose mean and
standard deviation the driver keeps (windows.py).

A window rule says: its settings (a frozen dataclass filled from its `[detectors.<name>]` table
of conf/job.toml: every table has `enabled`; checked here, once), how many readings a window needs
before it judges by it, and how many standard deviations from the window's mean make a finding
(reason high or low, score |z|).

No Spark here: the config reader imports it without a JVM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Settings:
    """A window rule's table; a rule's own settings subclass it with their fields."""

    enabled: bool = True

    def problems(self) -> list[str]:
        """What is wrong with the values, worded for the user (empty: nothing)."""
        return []

    def table(self) -> dict[str, Any]:
        """The settings as conf/job.toml's table has them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class WindowRule:
    name: str
    settings: type[Settings]
    min_readings: Callable[[Any], int]  # its settings → the readings a window needs
    k: Callable[[Any], float]  # its settings → |z| above it is a finding
