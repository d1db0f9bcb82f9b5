"""The detectors the job judges itself: window rules (what one is: base.py), behind one registry
that the config and the batch's side pass iterate.

Every per-sensor detector (band's runs, zscore, stuck, silent, level_shift, rate_of_change,
learned, ...) is a rule of the engine's step (engine/src/main/java/iot/engine/*Rule.java, a line
each in RuleRegistry.java): it declares and checks its settings, and its findings come out of the
step as data, which the tables take without naming it. Adding one: its Java class, its JUnit
test, its line in RuleRegistry.java, its table in conf/job.toml. Nothing here changes.

No Spark here: the config reader imports the registry without a JVM.
"""

from __future__ import annotations

from collections.abc import Mapping

from iotstream.detectors import three_sigma
from iotstream.detectors.base import WindowRule

# The registry: a line per window rule.
WINDOW_RULES: Mapping[str, WindowRule] = {r.name: r for r in (three_sigma.RULE,)}
