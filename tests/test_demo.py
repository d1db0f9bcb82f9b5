"""The quickstart's first command, as a user runs it: ./scripts/demo.sh, watch blocks, Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import SCRIPTS, free_port
from iotstream.cli import _check_reachable
from iotstream.config import ConfigError
from tables import table_rows

pytestmark = pytest.mark.e2e
FIRST_BLOCKS_TIMEOUT = 900  # JVM start-up on a slow, shared machine
STOP_TIMEOUT = 300


def test_demo_shows_blocks_and_ctrl_c_stops_what_it_started(tmp_path):
    port = free_port()
    traces = (str(tmp_path), f"localhost:{port}")  # in the command lines of the demo's parts
    env = {**os.environ, "KAFKA_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(free_port()),
           "KAFKA_HOME_DIR": str(tmp_path / "kafka"), "DEMO_OUTPUT": str(tmp_path / "out"),
           "DEMO_DASHBOARD_PORT": str(free_port())}
    demo = subprocess.Popen([str(SCRIPTS / "demo.sh")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(demo.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + FIRST_BLOCKS_TIMEOUT
        while sum(line.startswith("== Batch") for line in list(lines)) < 3:
            assert demo.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(1)
        # The dashboard the demo started shows the job's batches.
        url = next(line.split()[3] for line in list(lines) if line.startswith("demo: dashboard on"))
        assert url == f"http://localhost:{env['DEMO_DASHBOARD_PORT']}/"
        with urllib.request.urlopen(url + "api/overview", timeout=30) as answer:
            assert json.load(answer)["batch_id"] >= 2
        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            demo.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the demo did not stop within {STOP_TIMEOUT} s of Ctrl-C\n"
                        + still_running(demo.pid, traces, lines))
    finally:
        if demo.poll() is None:  # the test failed: nothing of the demo may outlive it
            os.killpg(demo.pid, signal.SIGKILL)
            for trace in traces:  # the job runs in a session of its own
                subprocess.run(["pkill", "-KILL", "-f", trace])
    reader.join(timeout=10)
    text = "".join(lines)

    assert "Traceback" not in text
    # Each part stopped by itself (the demo kills what has not, and says so).
    assert not any(kill in text for kill in ("not stopped", "did not stop", "no clean stop")), text
    assert "sent " in text and " events to iotmsgs" in text  # the simulator reported and stopped
    assert "kafka: stopped" in text and "demo: stopped" in text
    with pytest.raises(ConfigError):  # the broker the demo started is gone
        _check_reachable(f"localhost:{port}")
    totals = table_rows(tmp_path / "out", "batch_totals")
    assert len(totals) >= 3 and sum(t["messages"] for t in totals) > 0
    # The broker; the simulator, the job and the dashboard.
    for trace in traces:
        leftover = subprocess.run(["pgrep", "-af", trace], capture_output=True, text=True)
        assert leftover.stdout == "", leftover.stdout


def still_running(session: int, traces: tuple[str, ...], lines: list[str]) -> str:
    """For a demo that does not stop: what still runs of it (its session, and the job's, found by
    its traces), where each Python part waits (they print their stacks on SIGUSR1) and the Java
    parts' threads (jstack)."""
    ps = subprocess.run(["ps", "-eo", "pid,ppid,sid,stat,etime,args"],
                        capture_output=True, text=True).stdout.splitlines()
    left = [line for line in ps[1:] if int(line.split()[2]) == session
            or any(trace in line for trace in traces)]
    report = ["still running:", *(re.sub(r"-cp \S+", "-cp …", line)[:400] for line in left)]
    for line in left:
        pid, program = int(line.split()[0]), os.path.basename(line.split(None, 5)[5].split()[0])
        if pid == os.getpid():
            continue
        if program.startswith("python"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)
        elif program == "java":
            try:
                dump = subprocess.run(["jstack", str(pid)], capture_output=True, text=True,
                                      timeout=60)
            except (subprocess.TimeoutExpired, FileNotFoundError) as e:
                report.append(f"jstack {pid}: {e}")
                continue
            threads = [t for t in dump.stdout.split("\n\n") if "iot" in t or '"main"' in t
                       or "stream execution" in t]
            report += [f"jstack {pid}:", *threads, dump.stderr]
    time.sleep(3)  # the Python stacks go to the demo's output
    return "\n".join(report) + "\n\ndemo output:\n" + "".join(lines)
