"""The per-sensor step's contract, declared once in `step_contract.json` (beside this file, packed
into the engine jar too, where `iot.engine.Contract` reads the same file): what the step takes,
what it adds to every row, the kinds of its rows, its settings and how the clock reaches it.
Every per-sensor rule's findings come out of it as data (the `findings` column); a rule may add
columns of its own, declared by its Java class (zscore's band, which the readings table shows).

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
# differs), and a row the rules made: a reading they judged later, or another reading of the
# sensor (a silence after its last, a level shift's first), with its findings. The first three
# are the records read.
READING, QUARANTINED, DUPLICATE, JUDGED = (
    _KINDS[k] for k in ("reading", "quarantined", "duplicate", "judged"))
RESEND, CONFLICT = CONTRACT["duplicate_kinds"]["same"], CONTRACT["duplicate_kinds"]["differs"]
IMPOSSIBLE = CONTRACT["impossible_reason"]
CLOCK_PROPERTY = CONTRACT["clock"]["property"]
JUDGED_UNTIL_PROPERTY = CONTRACT["clock"]["judged_until_property"]
JUDGED_BEFORE_PROPERTY = CONTRACT["clock"]["judged_before_property"]
END_PROPERTY = CONTRACT["clock"]["end_property"]
WATERMARK_FUNCTION = CONTRACT["clock"]["function"]
MODEL_PROPERTY = CONTRACT["model"]["property"]
