"""Trains the learned detector's model from the job's own `readings` table and writes it as an
artifact (jobs/iotstream/learned/artifact.py) into the model folder, where the running job picks
it up before its next batch. Run by scripts/train.sh (python -m iotstream.train). Local folders
are read and written with pyarrow alone; any other URI the job's Hadoop configuration reads
(hdfs://, s3a:// ...) through a local Spark session's Hadoop FileSystem, configured as
spark-submit configures the job (spark-defaults.conf in SPARK_CONF_DIR, HADOOP_CONF_DIR).

The features are learned/features.py's, per sensor in event-time order, over the readings that
reached the detectors (not late, possible temperatures); the model is scikit-learn's Isolation
Forest; the threshold is set by a budget of findings: the lowest threshold above which the
training readings give at most `--findings-per-sensor-day` findings per sensor-day (a sensor's
run of readings above it is one finding, as the stream reports them). Those steps, without Spark
and without the job's config, are learned/training.py's; here: the command line, the config, the
reading of the table and the writing of the artifact.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from iotstream.config import ConfigError, load_config, local_path
from iotstream.io.reading import read_committed
from iotstream.learned import artifact
from iotstream.learned.features import FeatureSpec
from iotstream.learned.training import (
    MIN_READINGS,
    TrainError,
    budget_threshold,
    features_of,
    fit,
    run_findings,
    sensor_days,
)

ROOT = Path(__file__).resolve().parents[2]  # the checkout (this is jobs/iotstream/train.py)
# Findings per sensor-day the threshold allows on the training readings: a fifth of the alert
# budget of all detectors together (0.1 false findings per sensor-day, docs/detection.md).
BUDGET = 0.02


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="./scripts/train.sh", description=__doc__.split("\n\n")[0])
    p.add_argument("--output-dir", default="output",
                   help="the job's output: a folder or any URI the job's Hadoop configuration "
                   "reads (default: output)")
    p.add_argument("--model-dir", default="models",
                   help="where the artifact goes: a folder or a URI, as --output-dir "
                   "(default: models)")
    p.add_argument("--since", help="only readings with event time at or after this (ISO 8601)")
    p.add_argument("--config", default=str(ROOT / "conf" / "job.toml"),
                   help="the job's config: its physical range (default: conf/job.toml)")
    p.add_argument("--findings-per-sensor-day", type=float, default=BUDGET, metavar="RATE",
                   help="the threshold's budget: findings per sensor-day it would have raised on "
                   f"the training readings (default: {BUDGET})")
    p.add_argument("--trees", type=int, default=100, help="trees in the forest (default: 100)")
    p.add_argument("--max-samples", type=int, default=256, help="readings per tree (default: 256)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--figures", type=Path, metavar="FILE",
                   help="a JSON file of figures measured for models made this way (e.g. "
                   "quality.sh --json, realdata.sh --json), kept in the artifact")
    args = p.parse_args(argv)
    if not args.findings_per_sensor_day > 0:
        p.error("--findings-per-sensor-day must be more than 0")
    if args.trees < 1 or args.max_samples < 2:
        p.error("--trees must be >= 1 and --max-samples >= 2")
    return args


READ_COLUMNS = ["guid", "event_time", "temperature", "late", "kafka_partition", "kafka_offset"]


def read_readings(output_dir: str, since: datetime | None, low: float, high: float,
                  spark: Any = None) -> pa.Table:
    """The readings the detectors saw, by sensor and in the order the step takes them: with
    pyarrow from a local folder, or with `spark` from any URI."""
    missing = TrainError(f"no readings table in {output_dir} (run the job with write_readings = "
                         "true first, or pass --output-dir)")
    local = local_path(output_dir)
    if local is not None:  # the job's reader rule (iotstream.io.layout), with pyarrow
        table = read_committed(local, "readings", READ_COLUMNS)
        if table is None:
            raise missing
    else:  # the same rule, with Spark
        from iotstream.views import find_tables, read_table

        if "readings" not in find_tables(output_dir):
            raise missing
        table = read_table(spark, output_dir, "readings").select(*READ_COLUMNS).toArrow()
    table = table.set_column(table.schema.get_field_index("event_time"), "event_time",
                             table["event_time"].cast(pa.timestamp("us", "UTC")))
    keep = pc.and_(pc.invert(table["late"]), pc.and_(pc.greater_equal(table["temperature"], low),
                                                     pc.less_equal(table["temperature"], high)))
    if since is not None:
        start = pa.scalar(since, pa.timestamp("us", "UTC"))
        keep = pc.and_(keep, pc.greater_equal(table["event_time"], start))
    order = ("guid", "event_time", "kafka_partition", "kafka_offset")
    return table.filter(keep).sort_by([(c, "ascending") for c in order])


def train(args: argparse.Namespace) -> tuple[str, dict]:
    """Trains a model as `args` say; returns where its artifact was written, and the artifact."""
    config = load_config(Path(args.config))
    measured = None
    if args.figures is not None:
        try:
            measured = json.loads(args.figures.read_text())
        except (OSError, ValueError) as e:
            raise TrainError(f"cannot read --figures {args.figures}: {e}") from None
    since = datetime.fromisoformat(args.since.replace("Z", "+00:00")) if args.since else None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    try:  # the job's: the stream computes these (LearnedRule.java checks them when it starts)
        spec = FeatureSpec.of(config.detectors["learned"])
    except KeyError as e:
        raise TrainError(f"{args.config} has no [detectors.learned] {e.args[0]} (conf/job.toml "
                         "writes every setting out)") from None
    remote = local_path(args.output_dir) is None or local_path(args.model_dir) is None
    spark = hadoop_session() if remote else None
    table = read_readings(args.output_dir, since, config.bands.physical_min,
                          config.bands.physical_max, spark)
    X, starts = features_of(table, spec)
    if len(X) < MIN_READINGS:
        raise TrainError(f"{len(X):,} readings to learn from in {args.output_dir}"
                         f"{' since ' + args.since if args.since else ''}; at least "
                         f"{MIN_READINGS} are needed (each sensor's first {spec.warmup} only warm "
                         "its features up): let the job run longer, or pass another --since")
    started = time.monotonic()
    print(f"train: fitting {args.trees} trees on {len(X):,} readings", file=sys.stderr)
    data, scores, max_samples = fit(X, args.trees, args.max_samples, args.seed)
    days = sensor_days(table)
    threshold = budget_threshold(scores, starts, args.findings_per_sensor_day * days)
    times = table["event_time"]
    trained_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    doc = {
        "format": artifact.FORMAT, "method": artifact.METHOD, "trained_at": trained_at,
        "features": artifact.features_table(spec),
        "threshold": threshold,
        "budget": {"findings_per_sensor_day": args.findings_per_sensor_day, "sensor_days": days},
        "parameters": {"trees": args.trees, "max_samples": max_samples, "seed": args.seed},
        "training": {"output_dir": _shown(args.output_dir), "since": args.since,
                     "first_event_time": pc.min(times).as_py().isoformat(),
                     "last_event_time": pc.max(times).as_py().isoformat(),
                     "readings": table.num_rows, "rows": len(X),
                     "sensors": len(starts), "seconds": round(time.monotonic() - started, 3)},
        "figures": {"training": {"above_threshold": int((scores > threshold).sum()),
                                 "findings": run_findings(scores, starts, threshold),
                                 "score_median": float(np.median(scores)),
                                 "score_max": float(scores.max())},
                    **({"measured": measured} if measured is not None else {})},
        "libraries": {"python": platform.python_version(), "numpy": version("numpy"),
                      "scikit-learn": version("scikit-learn"), "pyarrow": version("pyarrow")},
        "forest": data,
    }
    models = local_path(args.model_dir)
    if models is not None:
        return str(artifact.write(models, doc)), doc
    from iotstream.io.fs import put_file

    location = f"{args.model_dir.rstrip('/')}/{artifact.file_name(trained_at)}"
    put_file(spark, location, json.dumps(doc, separators=(",", ":")).encode())
    return location, doc


def _shown(location: str) -> str:
    local = local_path(location)
    return str(local.resolve()) if local is not None else location


def hadoop_session() -> Any:
    """A local Spark session for its Hadoop FileSystem (the job's configuration: spark-defaults
    and HADOOP_CONF_DIR, as spark-submit reads them)."""
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master("local[1]").appName("iot-train")
            .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
            .getOrCreate())


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        path, doc = train(args)
    except (TrainError, ConfigError) as e:
        print(f"train: error: {e}", file=sys.stderr)
        return 1
    name = path.rstrip("/").rsplit("/", 1)[-1]
    print(f"train: wrote {path}: {artifact.describe(name, doc)}; "
          f"{doc['figures']['training']['findings']:,} findings on the training readings")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
