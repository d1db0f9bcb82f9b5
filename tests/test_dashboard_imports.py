"""The dashboard runs without Spark: importing it loads no pyspark (io.layout holds what it needs
of the job's output, as plain Python)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

CHECK = """
import sys
sys.path[:0] = [{root!r}, {jobs!r}]
import dashboard.app, dashboard.data
loaded = sorted(m for m in sys.modules if m == "pyspark" or m.startswith("pyspark."))
assert not loaded, loaded
assert "iotstream.io.layout" in sys.modules  # the check sees the job's modules it means to
"""


def test_the_dashboard_imports_no_pyspark():
    # A fresh interpreter: this one has pyspark loaded already (conftest's SparkSession).
    code = CHECK.format(root=str(ROOT), jobs=str(ROOT / "jobs"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
