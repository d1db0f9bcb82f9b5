"""The engine's profiling harness: the job's real streaming query, in this process, on prepared
micro-batches of a realistic size, with the time of every batch, of each of its phases (the job's
own batch header) and of each Spark job it ran.

The input (inputs.py) is the job's Kafka columns (value, partition, offset, timestamp)
stored as one Parquet file per micro-batch and read by Spark's file source (one file per trigger,
availableNow), so no broker is needed and every run sees the same batches. Alerts are off unless
--bootstrap names a broker. Everything else (parse, windows, detectors, state, every Parquet
table) is the job's.

    ./scripts/harness.sh [--batches 8] [--records 30000] [--sensors 1000] [--json F]
        [--shuffle-partitions N] [--conf KEY=VALUE ...] [--floor] [--bootstrap BROKER]
        [--model-dir DIR]                                  (python -m tools.harness)

Prints one line per batch and a summary (median of the batches after --warmup).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from tools.harness import floor as floor_queries
from tools.harness.inputs import prepare_input, read_batches

ROOT = Path(__file__).resolve().parents[2]  # the checkout (this is tools/harness/__main__.py)
os.environ["TZ"] = "UTC"
time.tzset()
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

HEADER = re.compile(r"^== Batch (\d+) .*?· ([\d.]+) s \((.*)\) =*$", re.M)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="./scripts/harness.sh", description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", type=int, default=8, help="micro-batches to run (default 8)")
    p.add_argument("--records", type=int, default=30_000, help="records per batch (default 30000)")
    p.add_argument("--sensors", type=int, default=1_000, help="distinct sensors (default 1000)")
    p.add_argument("--warmup", type=int, default=2, help="batches left out of the medians")
    p.add_argument("--rate", type=float, default=10_000.0,
                   help="events per second of event time (default 10000: a batch is 3 s of it)")
    p.add_argument("--anomaly-rate", type=float, default=0.001)
    p.add_argument("--bootstrap", default="", help="a broker for the alerts (default: alerts off)")
    p.add_argument("--shuffle-partitions", type=int, help="instead of the config's")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                   help="a Spark setting to try (repeatable)")
    p.add_argument("--config", type=Path, default=ROOT / "conf" / "job.toml")
    p.add_argument("--work", type=Path, help="work folder (default: a new temporary one)")
    p.add_argument("--json", type=Path, help="also write every figure to this file")
    p.add_argument("--model-dir", type=Path,
                   help="the learned detector scores with the newest model here (default: off)")
    p.add_argument("--floor", action="store_true",
                   help="first time the reference queries under the job (tools/harness/floor.py)")
    return p.parse_args(argv)


def jars(kafka: bool) -> list[Path]:
    """The engine's jar (and the Kafka connector's, for the alerts' producer)."""
    found = [ROOT / ".jars" / "engine" / "iot-engine.jar"]
    if kafka:
        found += sorted((ROOT / ".jars" / "spark").glob("*.jar"))
    missing = [j for j in found if not j.exists()]
    if missing:
        sys.exit(f"harness: {missing[0]} is missing: run ./scripts/setup.sh")
    return found


def spark_jobs(spark) -> list[dict]:
    """Every Spark job of the application: id, submission and completion (epoch s), stages."""
    store = spark.sparkContext._jsc.sc().statusStore()
    jobs = store.jobsList(None)
    out = []
    for i in range(jobs.size()):
        j = jobs.apply(i)
        sub, end = j.submissionTime(), j.completionTime()
        out.append({
            "id": j.jobId(),
            "submitted": sub.get().getTime() / 1000 if sub.isDefined() else None,
            "completed": end.get().getTime() / 1000 if end.isDefined() else None,
            "stages": j.stageIds().size(),
            "tasks": j.numTasks(),
            "name": j.name()[:60],
        })
    stages = {}
    listed = store.stageList(None, False, False, getattr(store, "stageList$default$4")(), None)
    for i in range(listed.size()):
        st = listed.apply(i)
        sub, end = st.submissionTime(), st.completionTime()
        if sub.isDefined() and end.isDefined():
            stages[st.stageId()] = {"tasks": st.numTasks(), "name": st.name()[:40],
                                    "s": round((end.get().getTime() - sub.get().getTime()) / 1000, 3),
                                    "run_s": round(st.executorRunTime() / 1000, 3)}
    for j in out:
        ids = jobs.apply([x["id"] for x in out].index(j["id"])).stageIds()
        j["stage_s"] = [stages[ids.apply(k)] for k in range(ids.size()) if ids.apply(k) in stages]
    return sorted(out, key=lambda j: j["id"])


def run(args: argparse.Namespace, work: Path) -> dict:
    from pyspark.sql import SparkSession

    from iotstream import plan, stream
    from iotstream.alerts import AlertPublisher
    from iotstream.config import load_config
    from iotstream.io.tables import ParquetSink
    from iotstream.pipeline import BatchProcessor

    data = prepare_input(work, args)
    config = load_config(args.config).with_overrides(
        output_dir=str(work / "out"), checkpoint_dir=str(work / "out" / "_checkpoint"),
        available_now=True, alerts_topic="iot-harness-alerts" if args.bootstrap else "",
        bootstrap_servers=args.bootstrap or "localhost:9092")
    if args.shuffle_partitions:
        config = config.with_overrides(shuffle_partitions=args.shuffle_partitions)
    # The learned detector scores with the newest model in --model-dir (none: it is off).
    config = replace(config, detectors=config.detectors.changed(
        "learned", model_dir=str(args.model_dir or work / "no-models")))
    builder = SparkSession.builder.master("local[2]").appName("iot-harness").config(
        "spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").config(
        "spark.driver.extraJavaOptions",
        f"-Dlog4j2.configurationFile=file:{ROOT / 'conf' / 'log4j2.properties'}").config(
        "spark.jars", ",".join(str(j) for j in jars(bool(args.bootstrap))))
    settings = {**stream.session_settings(config, "local[2]"),
                **dict(c.split("=", 1) for c in args.conf)}
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    floor = {}
    if args.floor:
        floor = floor_queries.run(spark, config, data, work, args.warmup)
    records = read_batches(spark, data)
    console = io.StringIO()
    alerts = AlertPublisher(config) if config.alerts_topic else None
    processor = BatchProcessor(config, ParquetSink(config.output_dir), out=console, alerts=alerts)
    query = stream.start(plan.plan(records, config), processor, config)
    query.awaitTermination()
    progress = [p for p in query.recentProgress if p["numInputRows"] or p["batchId"] == 0]
    jobs = spark_jobs(spark)
    phases = {int(m.group(1)): (float(m.group(2)), dict(
        (name, float(sec)) for name, sec in (part.split() for part in m.group(3).split(" · "))))
        for m in HEADER.finditer(console.getvalue())}
    batches = []
    for p in progress:
        begin = datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00")).timestamp()
        took = p["durationMs"]["triggerExecution"] / 1000
        mine = [j for j in jobs if j["submitted"] is not None and begin <= j["submitted"] <= begin + took]
        handler, parts = phases.get(p["batchId"], (None, {}))
        batches.append({
            "batch": p["batchId"], "rows": p["numInputRows"], "trigger_s": took,
            "add_batch_s": p["durationMs"].get("addBatch", 0) / 1000, "handler_s": handler,
            "phases": parts, "spark_jobs": len(mine),
            "job_s": [round((j["completed"] or begin) - j["submitted"], 3) for j in mine],
            "stages": [j["stage_s"] for j in mine],
        })
    spark.stop()
    return {"records_per_batch": args.records, "sensors": args.sensors, "batches": batches,
            "floor": floor}


def summary(result: dict, warmup: int) -> dict:
    timed = result["batches"][warmup:] or result["batches"]
    med = lambda xs: round(statistics.median(xs), 3) if xs else None  # noqa: E731
    names = sorted({n for b in timed for n in b["phases"]})
    return {
        "batch_s_p50": med([b["trigger_s"] for b in timed]),
        "handler_s_p50": med([b["handler_s"] for b in timed if b["handler_s"] is not None]),
        "spark_jobs_p50": med([b["spark_jobs"] for b in timed]),
        "phases_p50": {n: med([b["phases"].get(n, 0.0) for b in timed]) for n in names},
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="iot-harness-") as tmp:
        work = args.work or Path(tmp)
        started = time.monotonic()
        result = run(args, work)
    for b in result["batches"]:
        jobs = " ".join(f"{s:.2f}" for s in b["job_s"])
        print(f"batch {b['batch']:>3}  {b['rows']:>6} rows  {b['trigger_s']:6.2f} s  "
              f"(handler {b['handler_s'] or 0:.2f})  {b['spark_jobs']:>2} Spark jobs: {jobs}")
    result["summary"] = summary(result, args.warmup)
    result["wall_s"] = round(time.monotonic() - started, 1)
    s = result["summary"]
    print(f"median after {args.warmup} warm-up batches: batch {s['batch_s_p50']} s, handler "
          f"{s['handler_s_p50']} s, {s['spark_jobs_p50']} Spark jobs; phases "
          + " · ".join(f"{n} {v}" for n, v in s["phases_p50"].items()))
    if result["floor"]:
        floor = {**result["floor"], "job": s["batch_s_p50"]}
        print("batch time / bare (bare/x, as the bench's job/bare): " + " · ".join(
            f"{name} {t:.3f} s ({floor['bare'] / t:.2f})" for name, t in floor.items()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
