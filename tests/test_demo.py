"""The quickstart's first command, as a user runs it: ./scripts/demo.sh, watch blocks, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request

import pyarrow.dataset as ds
import pytest

from conftest import SCRIPTS, free_port
from iotstream.cli import _check_reachable
from iotstream.config import ConfigError

pytestmark = pytest.mark.e2e
FIRST_BLOCKS_TIMEOUT = 900  # JVM start-up on a slow, shared machine


def test_demo_shows_blocks_and_ctrl_c_stops_what_it_started(tmp_path):
    port = free_port()
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
        demo.wait(timeout=300)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
    reader.join(timeout=10)
    text = "".join(lines)

    assert "Traceback" not in text
    assert "sent " in text and " events to iotmsgs" in text  # the simulator reported and stopped
    assert "kafka: stopped" in text and "demo: stopped" in text
    with pytest.raises(ConfigError):  # the broker the demo started is gone
        _check_reachable(f"localhost:{port}")
    totals = ds.dataset(tmp_path / "out" / "batch_totals", partitioning="hive").to_table()
    assert totals.num_rows >= 3 and sum(totals.column("messages").to_pylist()) > 0
    # The broker; the simulator, the job and the dashboard.
    for trace in (str(tmp_path), f"localhost:{port}"):
        leftover = subprocess.run(["pgrep", "-af", trace], capture_output=True, text=True)
        assert leftover.stdout == "", leftover.stdout
