#!/usr/bin/env python3
"""The simulator's entry point: IoT temperature telemetry as JSON lines, to stdout or straight
into Kafka (`./iotsimulator.py -h` for its options). The simulator is the package simulator/;
its command line is simulator/cli.py."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent
# The states table is read by the same (standard-library) code as the Spark job's.
sys.path.insert(0, str(REPO / "jobs"))
from simulator.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
