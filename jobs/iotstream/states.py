"""The states table (conf/states.csv): USPS code → average annual temperature (°F).

Standard library only: the simulator (iotsimulator.py) reads the table with this same code.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

COLUMNS = ("state", "name", "avg_temp_f")
STATE_CODE = re.compile(r"[A-Z]{2}")


class StatesFileError(ValueError):
    """The states table is missing or malformed; the message is one line."""


def load_baselines(path: Path) -> dict[str, float]:
    """Reads `state,name,avg_temp_f` rows; every code unique and every baseline finite."""
    states: dict[str, float] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise StatesFileError(f"{path}: missing column(s): {', '.join(missing)}")
            for line_no, row in enumerate(reader, start=2):
                code = (row["state"] or "").strip()
                try:
                    baseline = float(row["avg_temp_f"])
                except (TypeError, ValueError):
                    baseline = math.nan
                if not STATE_CODE.fullmatch(code) or code in states or not math.isfinite(baseline):
                    raise StatesFileError(f"{path}:{line_no}: bad or duplicate row {row}")
                states[code] = baseline
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise StatesFileError(f"cannot read states file {path}: {exc}") from None
    if not states:
        raise StatesFileError(f"{path}: no states listed")
    return states
