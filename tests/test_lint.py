"""House style that a machine can check: ruff on all Python, bash syntax of every script."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, SCRIPTS


def test_python_is_ruff_clean():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("script", sorted(SCRIPTS.glob("*.sh")) + [ROOT / ".ci" / "run"],
                         ids=lambda p: p.name)
def test_scripts_parse_and_are_strict(script):
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    if script.name != "common.sh":  # sourced by the others, which set the options
        assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
