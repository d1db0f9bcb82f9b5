"""The [detectors] section: `sensor_ttl_seconds` and each detector's table. A window rule's table
is read into its settings dataclass and checked here (base.py); every other table is a
per-sensor rule's, handed to the engine as the config has it: the rule declares, defaults and
checks its settings there (iot.engine.Settings), and the job takes them back, defaults included,
once its JVM is up (step.resolve). Until then `Detectors` knows the rules the config names:
`enabled()` and `only()` are about those (conf/job.toml names every rule, with every setting)."""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from iotstream.detectors import WINDOW_RULES
from iotstream.detectors.base import Settings
from iotstream.toml_values import ConfigError, get

DEFAULT_TTL_SECONDS = 3600.0
Table = Settings | Mapping[str, Any]


def _defaults() -> Mapping[str, Table]:
    return MappingProxyType({name: r.settings() for name, r in WINDOW_RULES.items()})


def _enabled(table: Table) -> bool:
    if isinstance(table, Settings):
        return table.enabled
    return table.get("enabled", True) is not False  # the rules' default: on


@dataclass(frozen=True)
class Detectors:
    """Every detector's settings, by name: a window rule's dataclass, or a per-sensor rule's
    table (a mapping, as configured; once the engine has resolved it, every setting of it) and
    how long a sensor's state outlives its last reading (event time) in the engine."""

    by_name: Mapping[str, Table] = field(default_factory=_defaults)
    sensor_ttl_seconds: float = DEFAULT_TTL_SECONDS

    def __getitem__(self, name: str) -> Any:
        return self.by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_name)

    def enabled(self) -> list[str]:
        return [name for name, t in self.by_name.items() if _enabled(t)]

    def changed(self, name: str, **values: Any) -> Detectors:
        """A copy with some of one detector's settings changed."""
        by_name = dict(self.by_name)
        t = by_name.get(name, MappingProxyType({}))
        by_name[name] = (dataclasses.replace(t, **values) if isinstance(t, Settings)
                         else MappingProxyType({**t, **values}))
        return dataclasses.replace(self, by_name=MappingProxyType(by_name))

    def disabled(self, *names: str) -> Detectors:
        """A copy with the named detectors disabled."""
        copy = self
        for name in names:
            copy = copy.changed(name, enabled=False)
        return copy

    def only(self, *names: str) -> Detectors:
        """A copy with the named detectors enabled and every other configured one disabled (a
        test of some detectors stays the same when more are added)."""
        copy = self.disabled(*(n for n in self.by_name if n not in names))
        for name in names:
            copy = copy.changed(name, enabled=True)
        return copy

    def engine_tables(self) -> dict[str, dict[str, Any]]:
        """The per-sensor rules' tables, as configured: what the engine is handed."""
        return {name: dict(t) for name, t in self.by_name.items() if name not in WINDOW_RULES}

    def resolved(self, tables: Mapping[str, Mapping[str, Any]]) -> Detectors:
        """A copy with the per-sensor rules' tables as the engine resolved them (every rule's,
        every setting, defaults included)."""
        by_name = {n: t for n, t in self.by_name.items() if n in WINDOW_RULES}
        by_name.update({n: MappingProxyType(dict(t)) for n, t in tables.items()})
        return dataclasses.replace(self, by_name=MappingProxyType(by_name))

    def problems(self) -> list[str]:
        return [p for n, s in self.by_name.items() if n in WINDOW_RULES for p in s.problems()]


def read_detectors(section: dict[str, Any], path: Path) -> Detectors:
    """The [detectors] section of the config file at `path`."""
    by_name = dict(_defaults())
    ttl = DEFAULT_TTL_SECONDS
    for name, table in section.items():
        if name == "sensor_ttl_seconds":
            ttl = get(section, name, float, path)
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [detectors] has sensor_ttl_seconds and a table per "
                              f"detector, not {name} = {table!r}")
        if name in WINDOW_RULES:
            by_name[name] = _read_table(WINDOW_RULES[name].settings, name, table, path)
        else:  # a per-sensor rule's: the engine checks it (and that there is such a rule)
            for key, value in table.items():  # only what the engine can be handed
                if not (isinstance(value, bool | int | str)
                        or (isinstance(value, float) and math.isfinite(value))):
                    raise ConfigError(f"{path}: [detectors.{name}] {key} must be a number, text "
                                      f"or true/false, not {value!r}")
            by_name[name] = MappingProxyType(dict(table))
    return Detectors(MappingProxyType(by_name), ttl)


def _read_table(kind: type[Settings], name: str, table: dict[str, Any], path: Path) -> Settings:
    types = typing.get_type_hints(kind)
    known = [f.name for f in dataclasses.fields(kind)]
    for key in table:
        if key not in known:
            raise ConfigError(f"{path}: [detectors.{name}] has no setting {key!r} (it has "
                              f"{', '.join(known)})")
    return kind(**{key: get(table, key, types[key], path) for key in known if key in table})
