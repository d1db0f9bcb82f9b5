"""The benchmark's measuring side (scripts/bench.sh runs it: python -m tools.bench). Throughput,
latency and memory come from outside the measured program (only the per-phase profile is the
job's own timing):

- a query's batches from its checkpoint: `offsets/N` holds when batch N started (Spark's
  batchTimestampMs) and the Kafka offsets it ends at, `commits/N` is written once the batch's
  output is committed (its mtime is the commit time);
- Kafka's end offsets, record timestamps and the broker's figures from Kafka itself;
- memory from /proc (peak resident size of the spark-submit process tree).

    python -m tools.bench monitor --bootstrap B --topic T --pid P --out FILE [--checkpoint DIR ...]
    python -m tools.bench report --work DIR [--json FILE]   (reads what bench.sh left in DIR)

Its parts: sources.py (checkpoints, /proc, Kafka; the monitor), figures.py (the figures of a
work folder), report.py (the targets' verdicts, the markdown).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools.bench.figures import figures
from tools.bench.report import markdown, verdicts
from tools.bench.sources import monitor


def report(args: argparse.Namespace) -> int:
    """Prints the markdown report of a work folder; with --json, writes every figure there too."""
    result = figures(Path(args.work))
    result["targets"] = verdicts(result)
    text = json.dumps(result, indent=2, default=str)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(markdown(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("monitor")
    m.add_argument("--bootstrap", required=True)
    m.add_argument("--topic", required=True)
    m.add_argument("--pid", type=int, required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--checkpoint", action="append", default=[])
    m.add_argument("--interval", type=float, default=1.0)
    r = sub.add_parser("report")
    r.add_argument("--work", required=True)
    r.add_argument("--json")
    args = parser.parse_args(argv)
    return monitor(args) if args.command == "monitor" else report(args)


if __name__ == "__main__":
    sys.exit(main())
