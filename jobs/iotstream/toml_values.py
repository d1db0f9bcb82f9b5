"""Reading a TOML config file (merged over the base file it names, if any) and typed values out
of it, with errors worded for the user."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration problem, worded for the user (what is wrong and how to fix it)."""


REQUIRED = object()
# A file's top-level `base = "job.toml"` (relative to that file): it holds only what it changes.
BASE_KEY = "base"


class Table(dict[str, Any]):
    """A table read by `read_config_file`: a dict that also knows which file set each of its keys."""

    def __init__(self, values: dict[str, Any], files: dict[str, Path]) -> None:
        super().__init__(values)
        self.files = files


def where(table: dict[str, Any], key: str, path: Path) -> Path:
    """The file that set table[key] (its base's, for a key an overlay left alone); else `path`."""
    return table.files.get(key, path) if isinstance(table, Table) else path


def read_config_file(path: Path) -> Table:
    """The TOML file at `path`. One with a top-level `base` is merged over that file (read the same
    way): a table of its merges into the base's table key by key, any other value replaces the
    base's."""
    return _read_layers(path, [])


def _read_layers(path: Path, overlays: list[Path]) -> Table:
    raw = _read_toml(path, overlays[-1] if overlays else None)
    if BASE_KEY not in raw:
        return _tagged(raw, path)
    name = raw.pop(BASE_KEY)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}: base must be the name of a config file (relative to this one), "
                          f"not {name!r}")
    base = path.parent / name
    chain = [*overlays, path]
    if any(base.resolve() == p.resolve() for p in chain):
        raise ConfigError(f"{path}: base {name!r} makes a cycle: "
                          f"{' -> '.join(str(p) for p in (*chain, base))}")
    return _merged(_read_layers(base, chain), _tagged(raw, path))


def _read_toml(path: Path, overlay: Path | None) -> dict[str, Any]:
    what = f"config file {path}" if overlay is None else f"base file {path} of {overlay}"
    fix = "; pass --config FILE" if overlay is None else ""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{what} not found{fix}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {what}: {e}{fix}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{what} is not valid TOML: {e}") from None


def _tagged(raw: dict[str, Any], path: Path) -> Table:
    """`raw` with every table of it (itself included) a Table whose keys are `path`'s."""
    return Table({k: _tagged(v, path) if isinstance(v, dict) else v for k, v in raw.items()},
                 dict.fromkeys(raw, path))


def _merged(base: Table, overlay: Table) -> Table:
    values, files = dict(base), dict(base.files)
    for key, value in overlay.items():
        old = values.get(key)
        both = isinstance(value, Table) and isinstance(old, Table)
        values[key] = _merged(old, value) if both else value
        files[key] = overlay.files[key]
    return Table(values, files)


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
        raise ConfigError(f"{where(raw, name, path)}: [{name}] must be a table")
    return value


def get(table: dict[str, Any], key: str, kind: type, path: Path, default: Any = REQUIRED) -> Any:
    """table[key], which must be of `kind` (a float setting takes any number); `default` when
    it is missing, an error if there is none."""
    if key not in table:
        if default is not REQUIRED:
            return default
        raise ConfigError(f"{path}: missing setting {key!r}")
    value, path = table[key], where(table, key, path)
    if kind is float:
        return number(value, key, path)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{path}: {key} must be a {kind.__name__}, not {value!r}")
    return value


def number(value: Any, key: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: {key} must be a number, not {value!r}")
    return float(value)
