"""The anomaly detectors, one module each (what a detector is: base.py), behind one registry that
the config, the batch step and quality.py iterate.

Where a finding comes from is the detector's own business: a rule column of the parse (band),
the window figures (three_sigma), or a rule of the engine's per-sensor step (zscore, stuck,
silent, level_shift, rate_of_change: engine/src/main/java/iot/engine/*Rule.java). Adding a detector: a module
here and its line in _MODULES below, its table in conf/job.toml, its test; a rule of the step
adds its Java class, its line in RuleRegistry.java and a JUnit test.

No Spark here: quality.py imports the registry with pyarrow alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from iotstream.detectors.base import Detector

# The registry: a line per detector (its module here), in the order of the reports.
_MODULES = (
    "band",
    "three_sigma",
    "zscore",
    "stuck",
    "silent",
    "level_shift",
    "rate_of_change",
    "learned",
)
REGISTRY: Mapping[str, Detector] = {
    d.name: d for d in (importlib.import_module(f"{__name__}.{m}").DETECTOR for m in _MODULES)}
NAMES = tuple(REGISTRY)
