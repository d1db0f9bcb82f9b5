"""The per-sensor step's contract, declared once in `step_contract.json` (beside this file, packed
into the engine jar too, where `iot.engine.Contract` reads the same file): what the step takes,
what it adds to every row, the kinds of its rows, its settings and how the clock reaches it.
Each detector rule of the step adds columns of its own, declared by its Java class: the plan
checks at plan time that the columns the Python detectors read are there (step.require_columns).

No Spark here: quality.py and the dashboard's helpers may import it.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

CONTRACT: dict[str, Any] = json.loads(
    resources.files("iotstream").joinpath("step_contract.json").read_text(encoding="utf-8"))
INPUT: tuple[str, ...] = tuple(c["name"] for c in CONTRACT["input"])
OUTPUT: tuple[str, ...] = tuple(c["name"] for c in CONTRACT["output"])
_KINDS = CONTRACT["kinds"]
# Row kinds after the step: an accepted reading, a record that could not be used (quarantined),
# a re-send of an accepted reading (`duplicate_kind`: resend, or conflict when its value
# differs), a silence found, a level shift found, a reading the rules judged with what they
# found (its rule columns). The first three are the records read.
READING, QUARANTINED, DUPLICATE, SILENT, SHIFT, JUDGED = (
    _KINDS[k] for k in ("reading", "quarantined", "duplicate", "silent", "shift", "judged"))
RESEND, CONFLICT = CONTRACT["duplicate_kinds"]["same"], CONTRACT["duplicate_kinds"]["differs"]
IMPOSSIBLE = CONTRACT["impossible_reason"]
CLOCK_PROPERTY = CONTRACT["clock"]["property"]
JUDGED_UNTIL_PROPERTY = CONTRACT["clock"]["judged_until_property"]
JUDGED_BEFORE_PROPERTY = CONTRACT["clock"]["judged_before_property"]
END_PROPERTY = CONTRACT["clock"]["end_property"]
WATERMARK_FUNCTION = CONTRACT["clock"]["function"]
MODEL_PROPERTY = CONTRACT["model"]["property"]
