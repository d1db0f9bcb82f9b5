"""Job config: defaults from conf/, command-line overrides, and clear errors."""

from __future__ import annotations

import csv
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import ROOT
from iotstream.config import ConfigError, checkpoint_location, load_config, redacted

CONF = ROOT / "conf" / "job.toml"


def test_defaults_match_the_documented_ones():
    c = load_config(CONF)
    assert (c.bootstrap_servers, c.topic, c.trigger_seconds, c.output_dir) == (
        "localhost:9092", "iotmsgs", 3.0, "output")
    assert checkpoint_location(c) == "output/_checkpoint"
    with (ROOT / "conf" / "states.csv").open() as f:
        states = {r["state"]: float(r["avg_temp_f"]) for r in csv.DictReader(f)}
    assert len(states) == 51 and "DC" in states
    assert dict(c.bands.baselines) == states
    low, high = c.bands.band("CA")
    assert (low, high) == (states["CA"] - c.bands.tolerance, states["CA"] + c.bands.tolerance)


def test_overrides_replace_only_what_is_given():
    c = load_config(CONF).with_overrides(topic="other", output_dir="/tmp/x", trigger_seconds=None)
    assert (c.topic, c.output_dir, c.trigger_seconds) == ("other", "/tmp/x", 3.0)
    assert checkpoint_location(c) == "/tmp/x/_checkpoint"


@pytest.mark.parametrize("override, message", [
    ({"trigger_seconds": 0.0}, "trigger seconds must be > 0"),
    ({"starting_offsets": "yesterday"}, "starting offsets must be earliest, latest or a JSON"),
    ({"starting_offsets": '{"t": {"0": 4'}, "starting offsets must be earliest, latest or a JSON"),
    ({"max_offsets_per_trigger": -1}, "max offsets per trigger must be >= 0"),
    ({"topic": " "}, "topic is empty"),
])
def test_bad_overrides_are_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(CONF).with_overrides(**override)


def _conf_copy(tmp_path: Path, old: str, new: str) -> Path:
    shutil.copy(ROOT / "conf" / "states.csv", tmp_path / "states.csv")
    text = CONF.read_text()
    assert old in text
    path = tmp_path / "job.toml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize("old, new, message", [
    ("tolerance = 15.0", "tolerance = 'wide'", "tolerance must be a number"),
    ("[console]", "[consol]", r"missing section \[console\]"),
    ("[anomalies.tolerance_by_state]", "[anomalies.tolerance_by_state]\nZZ = 3.0",
     "tolerance_by_state names unknown states: ZZ"),
    ("physical_min = -130.0", "physical_min = 500.0", "physical_min must be below physical_max"),
    ('topic = "iotmsgs"', "topic = ", "not valid TOML"),
    ("fail_on_data_loss = true", "fail_on_data_loss = 1", "fail_on_data_loss must be a bool"),
    ('states_file = "states.csv"', 'states_file = "nope.csv"', "cannot read states file .*nope.csv"),
])
def test_bad_config_files_say_what_is_wrong(tmp_path, old, new, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_conf_copy(tmp_path, old, new))


def test_missing_config_file_names_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="not found; pass --config FILE"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="cannot read config file .*; pass --config FILE"):
        load_config(tmp_path)  # a folder


def test_json_starting_offsets_are_accepted():
    offsets = '{"iotmsgs": {"0": 42, "1": -2}}'
    assert load_config(CONF).with_overrides(starting_offsets=offsets).starting_offsets == offsets


def test_duplicate_state_in_states_file_is_refused(tmp_path):
    path = _conf_copy(tmp_path, "[console]", "[console]")
    with (tmp_path / "states.csv").open("a") as f:
        f.write("CA,California again,70.0\n")
    with pytest.raises(ConfigError, match="bad or duplicate row"):
        load_config(path)


def test_kafka_options_come_from_the_file_and_the_environment(tmp_path):
    path = _conf_copy(tmp_path, "[kafka.options]", '[kafka.options]\n"kafka.sasl.mechanism" = "PLAIN"'
                      '\n"kafka.max.poll.records" = 500')
    env = {"IOT_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "IOT_KAFKA_SASL_JAAS_CONFIG": "s3cr3t",
           "OTHER": "x"}
    c = load_config(path, env)
    assert dict(c.kafka_options) == {
        "kafka.sasl.mechanism": "PLAIN", "kafka.max.poll.records": "500",
        "kafka.security.protocol": "SASL_SSL", "kafka.sasl.jaas.config": "s3cr3t",
    }
    shown = redacted(c.kafka_options)
    assert shown == {"kafka.sasl.mechanism": "PLAIN", "kafka.max.poll.records": "***",
                     "kafka.security.protocol": "SASL_SSL", "kafka.sasl.jaas.config": "***"}
    assert "s3cr3t" not in repr(c)


@pytest.mark.parametrize("line", ['"sasl.mechanism" = "PLAIN"', '"kafka.bootstrap.servers" = "x:1"',
                                  '"kafka.Bootstrap.Servers" = "x:1"'])
def test_kafka_options_must_be_kafka_settings_the_job_does_not_own(tmp_path, line):
    path = _conf_copy(tmp_path, "[kafka.options]", f"[kafka.options]\n{line}")
    with pytest.raises(ConfigError, match=r"\[kafka.options\] takes kafka.\* settings"):
        load_config(path)


def test_windows_detectors_and_alerts_come_from_the_config(tmp_path):
    c = load_config(CONF)
    assert (c.window_seconds, c.watermark_seconds, c.alerts_topic) == (60.0, 30.0, "iot-alerts")
    d = c.detectors
    # Every detector of conf/job.toml is on but three_sigma (off: it cannot keep to the alert
    # budget on a normal fleet).
    assert {"band", "three_sigma", "zscore", "stuck", "silent", "level_shift"} <= set(d)
    assert d.enabled() == [n for n in d if n != "three_sigma"]
    assert (d["three_sigma"].k, d["zscore"]["history"], d["zscore"]["threshold"],
            d["stuck"]["repeats"], d["silent"]["after_seconds"], d.sensor_ttl_seconds) == (
        3.0, 30, 7.0, 10, 120.0, 3600.0)
    assert "three_sigma" not in d.engine_tables()  # the job's own: the engine is not handed it
    path = _conf_copy(tmp_path, "enabled = true\nhistory = 30", "enabled = false\nhistory = 50")
    path.write_text(path.read_text().replace("enabled = true\ntopic", "enabled = false\ntopic"))
    c = load_config(path)
    assert (c.detectors["zscore"]["enabled"], c.detectors["zscore"]["history"], c.alerts_topic) == (
        False, 50, "")
    assert c.detectors.enabled() == [n for n in d if n not in ("three_sigma", "zscore")]


def test_a_config_without_the_new_sections_takes_the_defaults(tmp_path):
    text = CONF.read_text()
    path = _conf_copy(tmp_path, "", "")
    path.write_text(text[: text.index("[windows]")])
    c = load_config(path)
    # The per-sensor rules' defaults are the engine's (test_detector_settings.py: the same as
    # conf/job.toml's values); the job's own window rule takes its dataclass's.
    assert (c.window_seconds, c.detectors.engine_tables(), c.alerts_topic) == (60.0, {}, "iot-alerts")
    assert c.detectors["three_sigma"] == load_config(CONF).detectors["three_sigma"]


# The per-sensor rules' settings are the engine's to check: test_detector_settings.py.
@pytest.mark.parametrize("old, new, message", [
    ("k = 3.0", "k = 0", "three_sigma\\] needs k > 0"),
    ("length_seconds = 60", "length_seconds = 0", "windows length_seconds must be >= 1"),
    ("min_readings = 20", "min_reading = 20", "has no setting 'min_reading'"),
    ("sensor_ttl_seconds = 3600", "sensor_ttl_seconds = 3600\nstuk = 3", "not stuk = 3"),
    # A per-sensor rule's table goes to the engine as JSON: numbers, text, true/false only.
    ("repeats = 10", "repeats = 1979-05-27", r"\[detectors.stuck\] repeats must be a number, "),
    ("repeats = 10", "repeats = nan", r"\[detectors.stuck\] repeats must be a number, "),
])
def test_bad_detector_settings_are_refused(tmp_path, old, new, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_conf_copy(tmp_path, old, new))


def test_scaling_knobs_come_from_the_config(tmp_path):
    c = load_config(CONF)
    assert (c.min_partitions, c.executors, c.executor_cores, c.executor_memory) == (0, 0, 0, "")
    path = _conf_copy(tmp_path, "min_partitions = 0", "min_partitions = 12")
    path.write_text(path.read_text().replace("executors = 0", "executors = 4")
                    .replace('executor_memory = ""', 'executor_memory = "2g"'))
    c = load_config(path)
    assert (c.min_partitions, c.executors, c.executor_cores, c.executor_memory) == (12, 4, 0, "2g")


@pytest.mark.parametrize("old, new, message", [
    ("min_partitions = 0", "min_partitions = -1", "min partitions must be >= 0"),
    ("executors = 0", "executors = -2", "executors and executor_cores must be >= 0"),
    ('executor_memory = ""', 'executor_memory = "lots"', "executor_memory must be a size like 2g"),
    ('executor_memory = ""', "executor_memory = 2", "executor_memory must be a str"),
])
def test_bad_scaling_knobs_are_refused(tmp_path, old, new, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_conf_copy(tmp_path, old, new))


def test_the_metrics_address_comes_from_the_config_and_the_command_line(tmp_path):
    c = load_config(CONF)
    assert (c.metrics_port, c.metrics_address) == (0, "")  # off; every interface once on
    path = _conf_copy(tmp_path, 'address = ""', 'address = "127.0.0.1"')
    assert load_config(path).metrics_address == "127.0.0.1"
    for address in ("::1", "driver-1.example.com", "localhost"):
        assert c.with_overrides(metrics_address=address).metrics_address == address


@pytest.mark.parametrize("old, new, message", [
    ('address = ""', 'address = "driver host"',
     r"\[metrics\] address must be empty \(every interface\), an IP address or a host name, "
     "not 'driver host'"),
    ('address = ""', 'address = "256.0.0.1"', r"\[metrics\] address must be .*not '256.0.0.1'"),
    ('address = ""', 'address = "driver:9464"', r"\[metrics\] address must be"),
    ('address = ""', "address = 127", "address must be a str"),
])
def test_bad_metrics_addresses_are_refused_naming_the_key(tmp_path, old, new, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_conf_copy(tmp_path, old, new))
    with pytest.raises(ConfigError, match=r"\[metrics\] address must be"):
        load_config(CONF).with_overrides(metrics_address="-bad-")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_an_overlay_merges_its_tables_into_its_base_key_by_key(tmp_path):
    base = _conf_copy(tmp_path, "", "")
    over = _write(tmp_path / "over.toml", 'base = "job.toml"\n[kafka]\ntopic = "other"\n'
                  '[kafka.options]\n"kafka.client.id" = "me"\n[stream]\noutput_dir = "elsewhere"\n'
                  "[anomalies.tolerance_by_state]\nAK = 25.0\n[detectors.zscore]\nhistory = 50\n")
    # An overlay of the overlay: a base may have a base.
    top = _write(tmp_path / "top.toml", 'base = "over.toml"\n[detectors.zscore]\nthreshold = 8.0\n')
    job = load_config(base)
    want = replace(job, topic="other", output_dir="elsewhere", kafka_options={"kafka.client.id": "me"},
                   bands=replace(job.bands, tolerance_by_state={"AK": 25.0}),
                   detectors=job.detectors.changed("zscore", history=50))
    assert load_config(over) == want
    # Kept from the base: the broker, zscore's other settings.
    assert want.bootstrap_servers == "localhost:9092" and want.detectors["zscore"]["threshold"] == 7.0
    assert load_config(top) == replace(want, detectors=want.detectors.changed("zscore", threshold=8.0))


def test_a_base_cycle_and_a_missing_base_are_refused_naming_the_files(tmp_path):
    a = _write(tmp_path / "a.toml", 'base = "b.toml"\n')
    b = _write(tmp_path / "b.toml", 'base = "a.toml"\n')
    with pytest.raises(ConfigError) as e:
        load_config(a)
    assert str(e.value) == f"{b}: base 'a.toml' makes a cycle: {a} -> {b} -> {a}"
    _write(a, 'base = "a.toml"\n')
    with pytest.raises(ConfigError, match="base 'a.toml' makes a cycle"):
        load_config(a)
    _write(a, 'base = "nope.toml"\n')
    with pytest.raises(ConfigError) as e:
        load_config(a)
    assert str(e.value) == f"base file {tmp_path / 'nope.toml'} of {a} not found"
    _write(a, "base = 3\n")
    with pytest.raises(ConfigError, match="a.toml: base must be the name of a config file"):
        load_config(a)


def test_states_file_is_relative_to_the_file_that_sets_it(tmp_path):
    (tmp_path / "base").mkdir()
    base = _conf_copy(tmp_path / "base", "", "")
    with (base.parent / "states.csv").open("a") as f:
        f.write("ZZ,Nowhere,50.0\n")
    over = _write(tmp_path / "over" / "job.toml", 'base = "../base/job.toml"\n[kafka]\ntopic = "t"\n')
    assert load_config(over).bands.baselines["ZZ"] == 50.0  # no states.csv beside the overlay
    _write(over.parent / "mine.csv", "state,name,avg_temp_f\nYY,Somewhere,40.0\n")
    over.write_text(over.read_text() + '[anomalies]\nstates_file = "mine.csv"\n')
    assert dict(load_config(over).bands.baselines) == {"YY": 40.0}


def test_an_error_names_the_file_that_set_the_value(tmp_path):
    base = _conf_copy(tmp_path, "tolerance = 15.0", "tolerance = 'wide'")
    over = _write(tmp_path / "over.toml", 'base = "job.toml"\n[kafka]\ntopic = "t"\n')
    with pytest.raises(ConfigError, match=f"^{re.escape(str(base))}: tolerance must be a number"):
        load_config(over)
    _write(over, 'base = "job.toml"\n[anomalies]\ntolerance = 10.0\n[detectors.three_sigma]\n'
           'min_readings = "x"\n')
    with pytest.raises(ConfigError, match=f"^{re.escape(str(over))}: min_readings must be a int"):
        load_config(over)
