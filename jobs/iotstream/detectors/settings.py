"""The [detectors] section: `sensor_ttl_seconds` and each detector's own table, read into the
detector's settings dataclass (detectors/base.py)."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from iotstream.detectors import NAMES, REGISTRY
from iotstream.detectors.base import Settings
from iotstream.toml_values import ConfigError, get

DEFAULT_TTL_SECONDS = 3600.0


def _defaults() -> Mapping[str, Settings]:
    return MappingProxyType({name: d.settings() for name, d in REGISTRY.items()})


@dataclass(frozen=True)
class Detectors:
    """Every detector's settings, by name (all of the registry's), and how long a sensor's
    state outlives its last reading (event time) in the engine."""

    by_name: Mapping[str, Settings] = field(default_factory=_defaults)
    sensor_ttl_seconds: float = DEFAULT_TTL_SECONDS

    def __getitem__(self, name: str) -> Any:
        return self.by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_name)

    def enabled(self) -> list[str]:
        return [name for name in NAMES if self.by_name[name].enabled]

    def changed(self, name: str, **values: Any) -> Detectors:
        """A copy with some of one detector's settings changed."""
        by_name = dict(self.by_name)
        by_name[name] = dataclasses.replace(by_name[name], **values)
        return dataclasses.replace(self, by_name=MappingProxyType(by_name))

    def disabled(self, *names: str) -> Detectors:
        """A copy with the named detectors disabled."""
        copy = self
        for name in names:
            copy = copy.changed(name, enabled=False)
        return copy

    def only(self, *names: str) -> Detectors:
        """A copy with the named detectors enabled and every other disabled (a test of some
        detectors stays the same when more are added)."""
        copy = self.disabled(*(n for n in NAMES if n not in names))
        for name in names:
            copy = copy.changed(name, enabled=True)
        return copy

    def tables(self) -> dict[str, dict[str, Any]]:
        """Each detector's table, as conf/job.toml has it."""
        return {name: s.table() for name, s in self.by_name.items()}

    def problems(self) -> list[str]:
        wrong = [p for s in self.by_name.values() for p in s.problems()]
        if not 0 < self["silent"].after_seconds < self.sensor_ttl_seconds:
            wrong.append("silent after_seconds must be > 0 and below [detectors] sensor_ttl_seconds")
        return wrong


def read_detectors(section: dict[str, Any], path: Path) -> Detectors:
    """The [detectors] section of the config file at `path`."""
    by_name = dict(_defaults())
    ttl = DEFAULT_TTL_SECONDS
    for name, table in section.items():
        if name == "sensor_ttl_seconds":
            ttl = get(section, name, float, path)
            continue
        if name not in REGISTRY or not isinstance(table, dict):
            raise ConfigError(f"{path}: [detectors] has sensor_ttl_seconds and tables "
                              f"{', '.join(NAMES)}, not {name!r}")
        by_name[name] = _read_table(REGISTRY[name].settings, name, table, path)
    return Detectors(MappingProxyType(by_name), ttl)


def _read_table(kind: type[Settings], name: str, table: dict[str, Any], path: Path) -> Settings:
    types = typing.get_type_hints(kind)
    known = [f.name for f in dataclasses.fields(kind)]
    for key in table:
        if key not in known:
            raise ConfigError(f"{path}: [detectors.{name}] has no setting {key!r} (it has "
                              f"{', '.join(known)})")
    return kind(**{key: get(table, key, types[key], path) for key in known if key in table})
