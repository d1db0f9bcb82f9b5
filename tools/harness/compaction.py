"""The compaction's harness: one merge of a table's batch files, timed the ways the sink can do it,
side by side on copies of the same files.

    ./scripts/harness.sh compaction --batch-file F [--batches 100] [--rounds 2]
                                               (python -m tools.harness.compaction)

`--batch-file` is one batch file of the job's output (e.g. `readings/date=…/part-b…-000.parquet`
of a run at 2,000 events/s); it is copied as `--batches` batch files of a table folder, then
merged by ParquetSink.compact:
- `jvm`: every byte through Hadoop's FileSystem and py4j (how the sink merged any output before,
  and still merges a remote one);
- `local`: pyarrow on the local files (how it merges a local output now).
Prints the seconds of each, per round, alternating.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from iotstream.io import tables
from iotstream.io.layout import batch_file_prefix


def prepare(source: Path, work: Path, table: str, batches: int) -> Path:
    out = work / "out"
    folder = out / table / "date=2026-01-01"
    folder.mkdir(parents=True)
    for b in range(batches):
        shutil.copyfile(source, folder / f"{batch_file_prefix(b)}000.parquet")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="./scripts/harness.sh compaction",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-file", type=Path, required=True)
    p.add_argument("--table", default="readings")
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
             .getOrCreate())
    local_path = tables.local_path
    try:
        for r in range(args.rounds):
            for way in ("jvm", "local"):
                with tempfile.TemporaryDirectory() as work:
                    out = prepare(args.batch_file, Path(work), args.table, args.batches)
                    # The Hadoop branch: as if the output were on a remote store.
                    tables.local_path = (lambda _: None) if way == "jvm" else local_path
                    started = time.monotonic()
                    merged = tables.ParquetSink(str(out)).compact(spark, args.batches - 1)
                    seconds = time.monotonic() - started
                    size = sum(f.stat().st_size for f in out.rglob("*.parquet")) / 2**20
                print(f"round {r} {way:5s}: {merged} files ({size:.1f} MB) merged in "
                      f"{seconds:.2f} s", flush=True)
    finally:
        tables.local_path = local_path
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
