"""Command lines as users type them: usage, bad input and unreachable brokers get one clear message,
fast, with no Java stack trace (every check here runs before any JVM starts, except those
using the real broker)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from conftest import ROOT, SCRIPTS, configured, free_port, run_script

JOB = ROOT / "jobs" / "iot_aggregator.py"


def _clear_failure(done: subprocess.CompletedProcess, code: int, *phrases: str) -> None:
    text = done.stdout + done.stderr
    assert done.returncode == code, text
    assert "Traceback" not in text and "Exception" not in text, text
    for phrase in phrases:
        assert phrase in text, text


# The kafka-topics / console wrappers pass -h on to Kafka's own tools (tested below).
OWN_SCRIPTS = sorted(p.name for p in SCRIPTS.glob("*.sh") if p.name != "common.sh"
                     and not p.name.startswith(("kafka-topics", "kafka-console")))


@pytest.mark.parametrize("script", OWN_SCRIPTS)
def test_every_script_has_usage(script):
    done = run_script(script, "-h")
    assert "usage" in done.stdout.lower(), done.stdout


def test_kafka_tool_wrappers_run_the_real_tools():
    done = run_script("kafka-topics.sh", "--version")
    assert done.stdout.strip()[0].isdigit(), done.stdout  # e.g. "4.1.1"


@pytest.mark.parametrize("args, phrase", [
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--trigger-seconds", "soon"], "invalid float value"),
    (["--trigger-seconds", "0"], "trigger seconds must be > 0"),
    (["--starting-offsets", "yesterday"], "starting offsets must be earliest, latest or a JSON"),
    (["--config", "conf"], "cannot read config file conf"),
    (["a", "b", "c"], "unrecognized arguments: c"),
    (["localhost"], "bad Kafka address 'localhost': expected host:port"),
    (["--max-past-seconds", "-1"], "[event_time] max_past_seconds must be >= 0 (0 = no limit)"),
    (["--idle-timeout-seconds", "0"], "windows idle_timeout_seconds must be > 0"),
    (["--restate-horizon-seconds", "-5"], "windows restate_horizon_seconds must be >= 0"),
    (["--event-time-policy", "drop"], "argument --event-time-policy: invalid choice: 'drop'"),
    (["--metrics-port", "9464", "--metrics-address", "no host"],
     "[metrics] address must be empty (every interface), an IP address or a host name, not 'no host'"),
])
def test_submit_rejects_bad_usage_before_starting_spark(args, phrase):
    started = time.monotonic()
    done = run_script("submit.sh", *args, check=False)
    _clear_failure(done, 2, phrase)
    assert "incubator modules" not in done.stderr  # what every Spark JVM prints first
    assert time.monotonic() - started < 120  # generous: no JVM starts at all


def test_submit_reports_an_unreachable_broker(tmp_path):
    port = free_port()
    done = run_script("submit.sh", f"localhost:{port}", "t", "--output-dir", str(tmp_path), check=False)
    _clear_failure(done, 2, f"cannot reach Kafka at localhost:{port}", "kafka-start.sh")


def test_submit_reports_an_unwritable_output_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = run_script("submit.sh", "--output-dir", str(blocker / "out"), check=False)
    _clear_failure(done, 2, "cannot write to", "--output-dir")


def test_submit_reports_missing_jars_and_says_how_to_get_them(tmp_path):
    done = run_script("submit.sh", env={"JARS_DIR": str(tmp_path)}, check=False)
    _clear_failure(done, 1, "jars missing", "./scripts/setup.sh")


def test_submit_refuses_a_new_checkpoint_on_output_of_another(tmp_path):
    (tmp_path / "out" / "batch_totals").mkdir(parents=True)  # written under another checkpoint
    done = run_script("submit.sh", "--output-dir", str(tmp_path / "out"), "--checkpoint-dir",
                      str(tmp_path / "new-checkpoint"), check=False)
    _clear_failure(done, 2, "holds the output of another checkpoint", "--output-dir")


def test_submit_refuses_a_checkpoint_of_the_earlier_engine(tmp_path):
    (tmp_path / "out" / "_checkpoint" / "offsets").mkdir(parents=True)
    (tmp_path / "out" / "_checkpoint" / "iot-sensor-models").mkdir()  # kept by the old engine
    done = run_script("submit.sh", "--output-dir", str(tmp_path / "out"), check=False)
    _clear_failure(done, 2, "written by an earlier version of the job", "--checkpoint-dir")


def test_submit_reports_a_missing_engine_jar(tmp_path):
    for part in ("spark", "kafka"):  # everything else of the setup is there
        (tmp_path / part).symlink_to(ROOT / ".jars" / part)
    done = run_script("submit.sh", env={"JARS_DIR": str(tmp_path)}, check=False)
    _clear_failure(done, 1, "engine jar is missing", "./scripts/setup.sh")


def test_submit_reports_a_broken_config(tmp_path):
    bad = tmp_path / "job.toml"
    bad.write_text("[kafka\n")
    done = run_script("submit.sh", "--config", str(bad), check=False)
    _clear_failure(done, 2, "is not valid TOML")


def test_job_help_lists_the_named_options():
    done = subprocess.run([sys.executable, str(JOB), "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for option in ("--output-dir", "--checkpoint-dir", "--trigger-seconds", "--starting-offsets",
                   "--available-now", "--max-offsets-per-trigger", "--config", "brokers", "topic",
                   "--max-past-seconds", "--max-future-seconds", "--event-time-policy",
                   "--idle-timeout-seconds", "--restate-horizon-seconds"):
        assert option in done.stdout


def test_query_without_output_says_what_to_do(tmp_path):
    done = run_script("query.sh", "--output-dir", str(tmp_path), check=False)
    _clear_failure(done, 1, "no tables in", "run the job first")


@pytest.mark.broker
def test_check_passes_against_the_real_broker(broker, tmp_path):
    done = run_script("submit.sh", broker.bootstrap, "t", "--output-dir", str(tmp_path / "o"),
                      "--check")
    assert done.stdout.startswith(f"ok: topic t at {broker.bootstrap}"), done.stdout
    c = configured()  # conf/job.toml: the settings the check reports
    assert (f"windows {c.window_seconds:g} s, watermark {c.watermark_seconds:g} s behind the "
            f"slowest partition (idle after {c.idle_timeout_seconds:g} s), late readings restate "
            f"windows for {c.restate_horizon_seconds:g} s" in done.stdout)
    # History of any age is accepted by default: no past limit.
    assert c.max_past_seconds == 0
    assert (f"event time any time before and at most {c.max_future_seconds:g} s after its Kafka "
            "timestamp, else quarantined" in done.stdout)
    adjusted = run_script("submit.sh", broker.bootstrap, "t", "--output-dir", str(tmp_path / "o"),
                          "--check", "--max-past-seconds", "604800", "--event-time-policy", "adjust")
    assert (f"event time at most 604800 s before and at most {c.max_future_seconds:g} s after its "
            "Kafka timestamp, else adjusted" in adjusted.stdout)


@pytest.mark.broker
def test_a_metrics_port_in_use_is_reported_before_spark_starts(broker, tmp_path):
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_script("submit.sh", broker.bootstrap, "t", "--output-dir", str(tmp_path / "o"),
                          "--metrics-port", str(port), check=False)
    _clear_failure(done, 2, f"cannot serve metrics on port {port}", "--metrics-port N")


def test_a_metrics_address_that_cannot_be_bound_is_one_clear_line():
    from iotstream.cli import _check_port_free
    from iotstream.config import ConfigError

    _check_port_free("127.0.0.1", free_port())  # free: no error
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError) as in_use:
            _check_port_free("127.0.0.1", port)
    # 192.0.2.1 is kept for documentation (RFC 5737): never an address of this machine.
    with pytest.raises(ConfigError) as not_here:
        _check_port_free("192.0.2.1", port)
    for error, why in ((in_use, "Address already in use"), (not_here, "Cannot assign requested")):
        text = str(error.value)
        assert text.startswith(f"cannot serve metrics on port {port} of ") and why in text, text
        assert text.endswith("pick a free one with --metrics-port N or another --metrics-address "
                             "HOST") and "\n" not in text, text


@pytest.mark.broker
def test_the_job_runs_away_from_the_checkout_on_the_zip_s_defaults(broker, tmp_path):
    # As spark-submit --deploy-mode cluster starts the driver: the entry script alone in a
    # folder, the library (and conf/job.toml, states.csv) in the --py-files zip.
    zip_path = subprocess.run(["bash", "-c", f"source {SCRIPTS}/common.sh && build_job_zip"],
                              capture_output=True, text=True, check=True).stdout.strip()
    shutil.copy(JOB, tmp_path / "iot_aggregator.py")
    env = {**os.environ, "PYTHONPATH": zip_path}
    done = subprocess.run([sys.executable, "iot_aggregator.py", broker.bootstrap, "--output-dir",
                           "out", "--check"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"ok: topic iotmsgs at {broker.bootstrap}"), done.stdout
    assert "detectors band, zscore, stuck, level_shift, silent," in done.stdout  # conf/job.toml's order
    shown = subprocess.run([sys.executable, "iot_aggregator.py", "--help"], cwd=tmp_path, env=env,
                           capture_output=True, text=True).stdout
    assert f"{zip_path}/iotstream/conf/job.toml" in "".join(shown.split())  # help text wraps
