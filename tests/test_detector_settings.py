"""The per-sensor rules' settings at the seam: the engine declares, defaults and checks them
(iot.engine.Settings, one place), and the job takes them back resolved (step.resolve), on the
session's JVM, without a query."""

from __future__ import annotations

import tomllib
from dataclasses import replace

import pytest

from conftest import ROOT, configured
from iotstream import step
from iotstream.config import ConfigError


def _toml_tables() -> dict:
    with (ROOT / "conf" / "job.toml").open("rb") as f:
        return {n: t for n, t in tomllib.load(f)["detectors"].items() if isinstance(t, dict)}


def test_conf_job_toml_writes_every_setting_of_every_rule_out(spark):
    config = configured()
    resolved = step.resolve(spark, config).detectors
    tables = _toml_tables()
    engine = {n: dict(resolved[n]) for n in resolved.engine_tables()}
    # Every rule of the engine has its table, every setting written out, as the engine reads it;
    # the job's own window rule (three_sigma) is no rule of the engine.
    assert set(engine) == set(tables) - {"three_sigma"}
    for name, table in engine.items():
        assert table == tables[name], name
    assert resolved["three_sigma"] == config.detectors["three_sigma"]


def test_a_rule_s_defaults_are_conf_job_toml_s_values(spark):
    # No table at all: the rules take their defaults, the values conf/job.toml writes out.
    config = configured()
    bare = replace(config, detectors=replace(config.detectors, by_name={
        "three_sigma": config.detectors["three_sigma"]}))
    assert step.resolve(spark, bare).detectors == step.resolve(spark, config).detectors


@pytest.mark.parametrize("change, message", [
    (("stuck", {"repeats": 1}), r"^\[detectors.stuck\] repeats must be >= 2, not 1 \(config: "),
    (("zscore", {"history": 5}), r"^\[detectors.zscore\] history must be >= 10, not 5"),
    (("silent", {"after_seconds": 7200}), r"after_seconds must be > 0 and below \[detectors\] "
                                          r"sensor_ttl_seconds \(3600.0\), not 7200"),
    (("stuck", {"repeat": 3}), r"\[detectors.stuck\] repeat is no setting \(it has enabled, "),
    (("stuk", {"enabled": True}), r"\[detectors.stuk\] is no detector of the engine \(it has band"),
])
def test_a_wrong_setting_is_a_config_error_naming_its_key(spark, change, message):
    name, values = change
    config = replace(configured(), detectors=configured().detectors.changed(name, **values))
    with pytest.raises(ConfigError, match=message):
        step.resolve(spark, config)
