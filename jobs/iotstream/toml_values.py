"""Reading typed values out of a parsed TOML config, with errors worded for the user."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration problem, worded for the user (what is wrong and how to fix it)."""


REQUIRED = object()


def section(raw: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    """A section the file must have."""
    value = raw.get(name)
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: missing section [{name}]")
    return value


def optional_section(raw: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    """A section that may be left out (its settings then take their defaults)."""
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{name}] must be a table")
    return value


def get(table: dict[str, Any], key: str, kind: type, path: Path, default: Any = REQUIRED) -> Any:
    """table[key], which must be of `kind` (a float setting takes any number); `default` when
    it is missing, an error if there is none."""
    if key not in table:
        if default is not REQUIRED:
            return default
        raise ConfigError(f"{path}: missing setting {key!r}")
    value = table[key]
    if kind is float:
        return number(value, key, path)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{path}: {key} must be a {kind.__name__}, not {value!r}")
    return value


def number(value: Any, key: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: {key} must be a number, not {value!r}")
    return float(value)
