"""The benchmark's figures (tools.bench's parts), computed from what bench.sh left in its work
folder: drain rates, the sustained rate steps, the job's per-phase profile, Kafka's own consumer,
start-up times, the demo rate and the fleet step. Nothing here judges them: see report.py."""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from pathlib import Path
from typing import Any

from tools.bench.sources import batches, record_latencies

DEMO_SETTLE = 3  # the demo-rate bar leaves out the first batches (JVM warm-up)
FALLING_BEHIND = re.compile(r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d) WARN .*falling behind", re.M)
LAG_SLOPE_SHARE = 0.02  # lag "flat": it grows by less than 2% of the input rate
SETTLE_TRIGGERS = 3  # batches right after a rate change are left out of that step's figures
BATCH_LINE = re.compile(r"^== Batch (\d+) · .*? · ([\d.]+) s \(([^)]*)\)")


def figures(work: Path) -> dict[str, Any]:
    """Every figure of a bench.sh work folder, keyed as in the report's JSON (its meta.json
    first); the targets' verdicts are not among them."""
    meta = json.loads((work / "meta.json").read_text())
    bare_ckpt = work / "bare-checkpoint"
    job_ckpt = work / "drain-out" / "_checkpoint"
    bare = drain_rate(bare_ckpt)
    job = drain_rate(job_ckpt)
    kafka = consumer_perf((work / "consumer-perf.txt").read_text())
    drain_samples = [json.loads(line) for line in (work / "drain-monitor.jsonl").read_text().splitlines()]
    result: dict[str, Any] = {
        **meta,
        "kafka_consumer": kafka,
        "bare": bare,
        "job": job,
        "job_over_bare": _ratio(job["events_per_s"], bare["events_per_s"]),
        "bare_over_kafka": _ratio(bare["events_per_s"], kafka["events_per_s"]),
        "startup_s": {"bare": startup(work, "bare", bare_ckpt),
                      "job_drain": startup(work, "drain", job_ckpt)},
        "profile": profile(work / "drain.log"),
        "drain_driver_peak_rss_mb": _r(max((s["rss_mb"] for s in drain_samples), default=None), 0),
        "drain_driver_jvm_peak_rss_mb": _r(max((s["jvm_hwm_mb"] for s in drain_samples), default=None), 0),
    }
    if (work / "steps.jsonl").exists():
        result["sustained"] = sustained(work, meta["bootstrap"], meta["trigger_seconds"])
        result["startup_s"]["job_sustained"] = startup(
            work, "sustained", work / "sustained-out" / "_checkpoint")
    result["demo"] = demo_rate(work, meta["trigger_seconds"])
    result["fleet"] = fleet(work)
    broker = json.loads((work / "broker.json").read_text()) if (work / "broker.json").exists() else {}
    result["broker"] = broker
    return result


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def drain_rate(checkpoint: Path) -> dict[str, Any]:
    """Events/s of a drained run: rows read over the span from the first batch's start to the
    last batch's commit (JVM start-up left out: that is `startup_s`)."""
    done = batches(checkpoint)
    if not done:
        return {"events": 0, "seconds": None, "events_per_s": None, "batches": 0}
    start, end = done[0]["start"], done[-1]["end"]
    events = sum(b["rows"] for b in done)
    durations = [b["end"] - b["start"] for b in done]
    return {"events": events, "seconds": round(end - start, 2),
            "events_per_s": round(events / (end - start)) if end > start else None,
            "batches": len(done), "batch_s_p50": round(pct(durations, 0.5), 2),
            "batch_s_max": round(max(durations), 2)}


def _slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 2:
        return 0.0
    mx = statistics.fmean(t for t, _ in points)
    my = statistics.fmean(v for _, v in points)
    den = sum((t - mx) ** 2 for t, _ in points)
    return sum((t - mx) * (v - my) for t, v in points) / den if den else 0.0


def sustained(work: Path, bootstrap: str, trigger: float) -> dict[str, Any]:
    """Per rate step: batch durations, rates, lag and its slope, latency; the highest rate the
    job kept up with."""
    steps = [json.loads(line) for line in (work / "steps.jsonl").read_text().splitlines()]
    samples = [json.loads(line) for line in (work / "sustained-monitor.jsonl").read_text().splitlines()]
    done = batches(work / "sustained-out" / "_checkpoint")
    latencies = record_latencies(bootstrap, done)
    result = []
    for step in steps:
        lo, hi = step["start"] + SETTLE_TRIGGERS * trigger, step["end"]
        main = [b for b in done if lo <= b["start"] < hi]
        durations = [b["end"] - b["start"] for b in main]
        inside = [s for s in samples if lo <= s["t"] <= hi]
        lags = [(s["t"], s["end"] - min(s["committed"])) for s in inside if s["committed"]]
        slope = _slope(lags)
        lat = [delay for ts, delay in latencies if lo <= ts < hi]
        rows = sum(b["rows"] for b in main)
        span = (main[-1]["end"] - main[0]["start"]) if main else 0
        produced = (inside[-1]["end"] - inside[0]["end"]) / (inside[-1]["t"] - inside[0]["t"]) \
            if len(inside) > 1 else None
        p95 = pct(durations, 0.95)
        lag_flat = bool(main) and slope < LAG_SLOPE_SHARE * step["rate"]
        keeps_up = lag_flat and p95 < trigger
        result.append({
            "rate": step["rate"], "seconds": round(step["end"] - step["start"]),
            "batches": len(main),
            "batch_s_p50": _r(pct(durations, 0.5)), "batch_s_p95": _r(p95),
            "batch_s_max": _r(max(durations) if durations else None),
            "input_events_per_s": _r(produced, 0),
            "processed_events_per_s": _r(rows / span if span else None, 0),
            "lag_end": lags[-1][1] if lags else None, "lag_slope_per_s": _r(slope, 0),
            "latency_s_p50": _r(pct(lat, 0.5)), "latency_s_p99": _r(pct(lat, 0.99)),
            "lag_flat": lag_flat, "keeps_up": keeps_up,
        })
    last = samples[-1] if samples else {}
    return {"steps": result, "highest_sustained_rate": _highest(result, "keeps_up"),
            # records still uncommitted when the job was stopped: not in the latency figures
            "uncommitted_at_stop": (last["end"] - last["committed"][0]) if last.get("committed") else None,
            "highest_rate_lag_flat": _highest(result, "lag_flat"),
            "driver_peak_rss_mb": _r(max((s["rss_mb"] for s in samples), default=None), 0),
            "driver_jvm_peak_rss_mb": _r(max((s["jvm_hwm_mb"] for s in samples), default=None), 0)}


def _highest(steps: list[dict[str, Any]], rule: str) -> int | None:
    """The highest rate up to which every step met `rule` (0: not even the first)."""
    best = 0 if steps else None
    for step in steps:
        if not step[rule]:
            break
        best = step["rate"]
    return best


def _r(value: float | None, digits: int = 2) -> float | None:
    if value is None:
        return None
    return round(value, digits) if digits else round(value)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def profile(log: Path) -> dict[str, Any]:
    """Median seconds per phase of the job's batches, from the job's own console blocks
    (`== Batch N · time · S s (read a · detect b · ...)`); the first batch (JIT warm-up) left out."""
    phases: dict[str, list[float]] = {}
    totals = []
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        m = BATCH_LINE.match(line)
        if not m or m.group(1) == "0":
            continue
        totals.append(float(m.group(2)))
        for part in m.group(3).split(" · "):
            name, _, sec = part.rpartition(" ")
            phases.setdefault(name, []).append(float(sec))
    return {"batches": len(totals), "batch_s_median": _r(pct(totals, 0.5)),
            **{name: _r(pct(v, 0.5)) for name, v in phases.items()}}


def consumer_perf(text: str) -> dict[str, Any]:
    """Kafka's ConsumerPerformance summary line (CSV under a header) as numbers."""
    lines = [line for line in text.splitlines() if line.count(",") >= 5]
    header = [h.strip() for h in lines[0].split(",")]
    values = [v.strip() for v in lines[-1].split(",")]
    row = dict(zip(header, values, strict=False))
    return {"events": int(float(row["data.consumed.in.nMsg"])),
            "events_per_s": round(float(row["fetch.nMsg.sec"])),
            "mb_per_s": round(float(row["fetch.MB.sec"]), 1)}


def startup(work: Path, name: str, checkpoint: Path) -> float | None:
    """Seconds from the run's submit to its first committed batch."""
    mark = work / f"{name}.submitted"
    first = checkpoint / "commits" / "0"
    if not (mark.exists() and first.exists()):
        return None
    return round(first.stat().st_mtime - float(mark.read_text()), 1)


def demo_rate(work: Path, trigger: float) -> dict[str, Any] | None:
    """The job fed at 200 events/s: batch times after the first DEMO_SETTLE batches, and Spark's
    "falling behind" warnings logged after them."""
    done = batches(work / "demo-out" / "_checkpoint")
    if len(done) <= DEMO_SETTLE:
        return None
    timed = [b for b in done[DEMO_SETTLE:] if b["rows"]]
    settled = done[DEMO_SETTLE - 1]["end"]
    log = (work / "demo.log").read_text(errors="replace")
    warnings = [m for m in FALLING_BEHIND.findall(log)
                if time.mktime(time.strptime(m, "%y/%m/%d %H:%M:%S")) > settled]
    durations = [b["end"] - b["start"] for b in timed]
    return {"batches": len(timed), "rows_p50": round(pct([b["rows"] for b in timed], 0.5)),
            "batch_s_p50": _r(pct(durations, 0.5), 3), "batch_s_max": _r(max(durations), 3),
            "over_trigger": sum(d > trigger for d in durations),
            "falling_behind_warnings": len(warnings),
            "detection": detection_latency(work / "demo-out")}


def detection_latency(out: Path) -> dict[str, Any] | None:
    """How many batches after the one that brought a reading its finding came (the rules judge a
    reading once their clock has passed it): the batch of each finding on a reading less the
    batch of that reading's row in `readings`. Left out: a silence (about the time after its
    reading) and a level shift (dated at the first reading of the run that makes it, found at
    the run's last)."""
    import pyarrow.dataset as ds

    tables = {}
    for name, columns in (("readings", ["guid", "event_time", "batch_id"]),
                          ("anomalies", ["guid", "event_time", "batch_id", "detector"])):
        if not (out / name).is_dir():
            return None
        tables[name] = ds.dataset(out / name, format="parquet", partitioning="hive").to_table(
            columns=columns).to_pylist()
    brought = {(r["guid"], r["event_time"]): r["batch_id"] for r in tables["readings"]}
    after = [a["batch_id"] - brought[(a["guid"], a["event_time"])] for a in tables["anomalies"]
             if a["detector"] not in ("silent", "level_shift")
             and (a["guid"], a["event_time"]) in brought]
    if not after:
        return None
    return {"findings": len(after), "batches_p50": pct(after, 0.5), "batches_p95": pct(after, 0.95),
            "batches_max": max(after), "within_one": _r(sum(a <= 1 for a in after) / len(after), 3)}


def fleet(work: Path) -> dict[str, Any] | None:
    """The fleet step (fleet.py summary), small and large fleets side by side."""
    files = [work / "fleet-small.json", work / "fleet-large.json"]
    if not all(f.exists() for f in files):
        return None
    small, large = (json.loads(f.read_text()) for f in files)
    return {
        "sensors_small": small["sensors"], "sensors_large": large["sensors"],
        "active_sensors": small["sensors"],
        "batch_s_p50_small": small["batch_s_p50"], "batch_s_p50_large": large["batch_s_p50"],
        "ratio": _ratio(large["batch_s_p50"], small["batch_s_p50"]),
        "driver_peak_rss_mb": max(small["driver_peak_rss_mb"], large["driver_peak_rss_mb"]),
        "wide_batch_s_p50": large["wide_batch_s_p50"], "state_mb": large["state_mb"],
        "restart_s": large["restart_s"], "restart_s_small": small["restart_s"],
        "timed_batches": [small["timed_batches"], large["timed_batches"]],
        "state_mb_small": small["state_mb"],
    }
