"""The long run's measuring side (scripts/bench_soak.sh runs it: python -m tools.bench.soak):
figures from outside the job.

- batches from the checkpoint, watched as they come (Spark keeps only its last 100 batches'
  files, so the monitor records each batch while it is there): `offsets/N` holds when batch N
  started (batchTimestampMs) and its end offsets, `commits/N` is written once its output is
  committed (its mtime);
- memory from /proc: the driver JVM, the Python driver (iot_aggregator.py) and Spark's Python
  workers, resident sizes;
- the checkpoint's size and file count, the output's file count (what a reader lists);
- Kafka's end offsets, to say whether everything was consumed.

    python -m tools.bench.soak monitor --bootstrap B --topic T --pid P --checkpoint DIR
                                       --output DIR --out F
    python -m tools.bench.soak report --samples F [--slice-minutes 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from tools.bench.sources import _json_lines, _kb, _offsets, _status, process_tree

# The bars of the long run (issue 27): no batch over 3× the median after the first 10; memory
# and checkpoint size at the end within 15% of their value at 10 minutes.
WARMUP_BATCHES = 10
SPIKE = 3.0
FLAT = 0.15
BASE_MINUTES = 10


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def memory(root: int) -> dict[str, float]:
    """Resident MB of the driver JVM, the Python driver and Spark's Python workers."""
    found = {"jvm_mb": 0.0, "python_mb": 0.0, "workers_mb": 0.0}
    for pid in process_tree(root):
        line, rss = _cmdline(pid), _kb(_status(pid).get("VmRSS")) / 1024
        if "org.apache.spark.deploy.SparkSubmit" in line:
            found["jvm_mb"] += rss
        elif "iot_aggregator.py" in line and "python" in line and "SparkSubmit" not in line:
            found["python_mb"] += rss
        elif "pyspark.daemon" in line or "pyspark.worker" in line:
            found["workers_mb"] += rss
    return found


def tree(folder: Path, skip: str | None = None) -> tuple[int, float]:
    """Files and MB under `folder` (less the subfolder `skip`)."""
    files, size = 0, 0
    for parent, dirs, names in os.walk(folder):
        if skip is not None and Path(parent) == folder and skip in dirs:
            dirs.remove(skip)
        for name in names:
            try:
                size += os.stat(os.path.join(parent, name)).st_size
                files += 1
            except OSError:  # removed between the listing and the stat
                pass
    return files, size / 2**20


def new_batches(checkpoint: Path, seen: dict[int, dict]) -> None:
    """Adds the committed batches not yet in `seen` (id → start, end, end offsets)."""
    commits = checkpoint / "commits"
    if not commits.is_dir():
        return
    for name in os.listdir(commits):
        if not name.isdigit() or int(name) in seen:
            continue
        batch_id = int(name)
        try:
            meta, source = _json_lines(checkpoint / "offsets" / name)[:2]
            end = (commits / name).stat().st_mtime
        except (OSError, ValueError):
            continue  # being written, or already cleaned: caught next time, or lost (said)
        seen[batch_id] = {"id": batch_id, "start": meta["batchTimestampMs"] / 1000, "end": end,
                          "offsets": sum(_offsets(source).values())}


def monitor(args: argparse.Namespace) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(args.topic, p)
                  for p in sorted(consumer.partitions_for_topic(args.topic))]
    checkpoint, output = Path(args.checkpoint), Path(args.output)
    seen: dict[int, dict] = {}
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    last_sample = 0.0
    with open(args.out, "a") as out:
        while not stop and Path(f"/proc/{args.pid}").exists():
            before = set(seen)
            new_batches(checkpoint, seen)
            for batch_id in sorted(set(seen) - before):
                out.write(json.dumps({"batch": seen[batch_id]}) + "\n")
            if time.time() - last_sample >= args.interval:
                last_sample = time.time()
                cp_files, cp_mb = tree(checkpoint)
                out_files, out_mb = tree(output, skip=checkpoint.name)
                out.write(json.dumps({"sample": {
                    "t": last_sample, "end": sum(consumer.end_offsets(partitions).values()),
                    "checkpoint_files": cp_files, "checkpoint_mb": cp_mb,
                    "output_files": out_files, "output_mb": out_mb, **memory(args.pid)}}) + "\n")
            out.flush()
            time.sleep(0.5)
    consumer.close()
    return 0


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(args: argparse.Namespace) -> dict[str, Any]:
    lines = [json.loads(line) for line in Path(args.samples).read_text().splitlines() if line]
    batches = sorted((x["batch"] for x in lines if "batch" in x), key=lambda b: b["id"])
    samples = [x["sample"] for x in lines if "sample" in x]
    if not batches or not samples:
        raise SystemExit("soak: no batch or no sample was recorded")
    t0 = batches[0]["start"]
    width = args.slice_minutes * 60
    for b in batches:
        b["seconds"] = round(b["end"] - b["start"], 3)  # ms: batchTimestampMs's precision
    slices = []
    for k in range(int((samples[-1]["t"] - t0) // width) + 1):
        lo, hi = t0 + k * width, t0 + (k + 1) * width
        inside = [b["seconds"] for b in batches if lo <= b["start"] < hi]
        at = [s for s in samples if s["t"] < hi] or samples[:1]
        last = at[-1]
        slices.append({"minutes": f"{k * args.slice_minutes}-{(k + 1) * args.slice_minutes}",
                       "batches": len(inside), "p50_s": _pct(inside, 0.5),
                       "p99_s": _pct(inside, 0.99), "max_s": max(inside, default=None),
                       **{key: last[key] for key in ("jvm_mb", "python_mb", "workers_mb",
                                                     "checkpoint_mb", "checkpoint_files",
                                                     "output_files")}})
    timed = batches[WARMUP_BATCHES:]
    median = statistics.median(b["seconds"] for b in timed) if timed else None
    worst = max(timed, key=lambda b: b["seconds"]) if timed else None
    base = ([s for s in samples if s["t"] - t0 <= BASE_MINUTES * 60] or samples)[-1]
    end = samples[-1]

    def ratio(key: str) -> float:
        total = sum(end[k] for k in key.split("+")) / sum(base[k] for k in key.split("+"))
        return round(total, 3)

    ids = [b["id"] for b in batches]
    result = {
        "batches": len(batches), "missed_batches": (ids[-1] - ids[0] + 1) - len(ids),
        "median_s": median, "worst": worst,
        "spike_ratio": round(worst["seconds"] / median, 2) if worst else None,
        "consumed": batches[-1]["offsets"], "end_offsets": end["end"],
        "memory_ratio": ratio("jvm_mb+python_mb+workers_mb"),
        "jvm_ratio": ratio("jvm_mb"), "python_ratio": ratio("python_mb"),
        "checkpoint_ratio": ratio("checkpoint_mb"), "slices": slices,
    }
    result["bars"] = {
        f"no batch over {SPIKE:g}x the median after the first {WARMUP_BATCHES}":
            result["spike_ratio"] is not None and result["spike_ratio"] <= SPIKE,
        "everything consumed": result["consumed"] >= result["end_offsets"],
        f"memory at the end within {FLAT:.0%} of its value at {BASE_MINUTES} min":
            abs(result["memory_ratio"] - 1) <= FLAT,
        f"checkpoint size at the end within {FLAT:.0%} of its value at {BASE_MINUTES} min":
            abs(result["checkpoint_ratio"] - 1) <= FLAT,
    }
    return result


def markdown(r: dict[str, Any]) -> str:
    def f(v: Any, digits: int = 2) -> str:
        return "-" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    rows = ["| minutes | batches | p50 s | p99 s | max s | driver JVM MB | Python driver MB | "
            "Python workers MB | checkpoint MB | checkpoint files | output files |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in r["slices"]:
        rows.append(f"| {s['minutes']} | {s['batches']} | {f(s['p50_s'])} | {f(s['p99_s'])} | "
                    f"{f(s['max_s'])} | {f(s['jvm_mb'], 0)} | {f(s['python_mb'], 0)} | "
                    f"{f(s['workers_mb'], 0)} | {f(s['checkpoint_mb'], 1)} | "
                    f"{s['checkpoint_files']} | {s['output_files']} |")
    w = r["worst"] or {}
    rows += ["", f"{r['batches']} batches ({r['missed_batches']} not seen by the monitor); median "
             f"after the first {WARMUP_BATCHES}: {f(r['median_s'])} s; worst: batch {w.get('id')} "
             f"at {f(w.get('seconds'))} s ({f(r['spike_ratio'])}x the median)",
             f"consumed {r['consumed']} of {r['end_offsets']} records; at the end / at "
             f"{BASE_MINUTES} min: memory {r['memory_ratio']} (JVM {r['jvm_ratio']}, Python "
             f"driver {r['python_ratio']}), checkpoint size {r['checkpoint_ratio']}", ""]
    rows += [f"- {'met' if ok else 'MISSED'}: {bar}" for bar, ok in r["bars"].items()]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.soak",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("monitor")
    for name in ("--bootstrap", "--topic", "--checkpoint", "--output", "--out"):
        m.add_argument(name, required=True)
    m.add_argument("--pid", type=int, required=True)
    m.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    r = sub.add_parser("report")
    r.add_argument("--samples", required=True)
    r.add_argument("--slice-minutes", type=int, default=5)
    r.add_argument("--json")
    args = parser.parse_args(argv)
    if args.command == "monitor":
        return monitor(args)
    result = report(args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    return 0 if all(result["bars"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
