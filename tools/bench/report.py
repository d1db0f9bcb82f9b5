"""The benchmark's report (tools.bench's parts): the figures of figures.py judged
against the engine issue's targets, and the whole as markdown."""

from __future__ import annotations

from typing import Any

from tools.bench.figures import DEMO_SETTLE

TARGETS = {  # the engine issue's bars for a 2-core machine
    "job_over_bare": 0.5,
    "sustained_events_per_s": 10_000,
    "latency_p99_s": 6.0,
    "driver_peak_rss_mb": 2048,
    "broker_heap_mb": 1024,
    "demo_batch_s_p50": 1.5,
    "fleet_ratio": 1.3,
}


def verdicts(r: dict[str, Any]) -> dict[str, Any]:
    s = r.get("sustained", {})
    target_rate = TARGETS["sustained_events_per_s"]
    at_target = next((st for st in s.get("steps", []) if st["rate"] >= target_rate), None)
    demo = r.get("demo") or {}
    fl = r.get("fleet") or {}
    rss = max(v for v in (r.get("drain_driver_peak_rss_mb"), s.get("driver_peak_rss_mb"),
                          fl.get("driver_peak_rss_mb"), 0) if v is not None)
    return {
        "1. 10,000 events/s: batch p95 < trigger, lag flat": _met(
            at_target and at_target["keeps_up"], lambda v: v is True),
        "1. latency p99 <= 6 s at 10,000 events/s": _met(
            at_target and at_target["latency_s_p99"], lambda v: v <= TARGETS["latency_p99_s"]),
        "2. demo rate: median batch <= 1.5 s": _met(
            demo.get("batch_s_p50"), lambda v: v <= TARGETS["demo_batch_s_p50"]),
        "2. demo rate: no falling-behind warning after 3 batches": _met(
            demo.get("falling_behind_warnings"), lambda v: v == 0),
        "3. job/bare >= 0.5": _met(r["job_over_bare"], lambda v: v >= TARGETS["job_over_bare"]),
        "4. fleet: large/small batch p50 <= 1.3": _met(
            fl.get("ratio"), lambda v: v <= TARGETS["fleet_ratio"]),
        "driver peak RSS <= 2 GB (every run)": _met(
            rss or None, lambda v: v <= TARGETS["driver_peak_rss_mb"]),
        "broker heap (its -Xmx setting) <= 1 GB": _met(r.get("broker", {}).get("heap_mb"),
                                    lambda v: v <= TARGETS["broker_heap_mb"]),
    }


def _met(value: Any, rule: Any) -> str:
    if value is None:
        return "not measured"
    return "met" if rule(value) else "missed"


def markdown(r: dict[str, Any]) -> str:
    def n(v: Any) -> str:
        if v is None:
            return "–"
        return f"{v:,}" if isinstance(v, int) else f"{v:,.2f}" if isinstance(v, float) else str(v)

    lines = [
        f"Benchmark {r['date']} · {r['cores']} cores · {r['events']:,} events in {r['partitions']} "
        f"partitions · max {r['max_offsets_per_trigger']:,} records per batch · learned detector "
        f"{'on (trained on the drained run) in' if r.get('learned') else 'off in'} the runs after "
        "the drained one",
        "",
        "| reading the preloaded topic | events/s | batches | wall s |",
        "|---|---|---|---|",
        f"| Kafka's consumer (kafka-consumer-perf-test) | {n(r['kafka_consumer']['events_per_s'])} | – | – |",
        *(f"| {label} | {n(r[k]['events_per_s'])} | {n(r[k]['batches'])} | {n(r[k]['seconds'])} |"
          for label, k in (("bare query (Kafka → from_json → no-op)", "bare"),
                           ("this job, every output", "job"))),
        "",
        f"job/bare **{n(r['job_over_bare'])}** · bare/Kafka **{n(r['bare_over_kafka'])}** · "
        f"submit → first batch committed: " + ", ".join(f"{k} {n(v)} s" for k, v in r["startup_s"].items()),
    ]
    prof = r.get("profile") or {}
    if prof.get("batches"):
        parts = " · ".join(f"{k} {n(v)}" for k, v in prof.items() if k not in ("batches", "batch_s_median"))
        lines += ["", f"Where a drained batch's time goes (median of {prof['batches']} batches, "
                      f"the job's own timings): {n(prof['batch_s_median'])} s = {parts} s"]
    s = r.get("sustained")
    if s:
        lines += [
            "",
            f"Sustained, {r['trigger_seconds']:g} s triggers (simulator → kafka-console-producer):",
            "",
            "| rate ev/s | in ev/s | processed ev/s | batch p50 / p95 / max s "
            "| lag at end | lag slope ev/s | latency p50 / p99 s | lag flat | p95 < trigger too |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for st in s["steps"]:
            lines.append(
                f"| {n(st['rate'])} | {n(st['input_events_per_s'])} | {n(st['processed_events_per_s'])} "
                f"| {n(st['batch_s_p50'])} / {n(st['batch_s_p95'])} / {n(st['batch_s_max'])} "
                f"| {n(st['lag_end'])} | {n(st['lag_slope_per_s'])} "
                f"| {n(st['latency_s_p50'])} / {n(st['latency_s_p99'])} "
                f"| {'yes' if st['lag_flat'] else 'no'} | {'yes' if st['keeps_up'] else 'no'} |")
        lines += ["", f"Highest rate kept up with: **{n(s['highest_sustained_rate'])}** events/s "
                      f"(p95 batch under the trigger, lag flat); with lag flat only: "
                      f"**{n(s['highest_rate_lag_flat'])}** events/s · "
                      f"not committed at the stop (left out of latency): {n(s['uncommitted_at_stop'])} · "
                      f"driver peak RSS {n(s['driver_peak_rss_mb'])} MB "
                      f"(JVM {n(s['driver_jvm_peak_rss_mb'])} MB)"]
    d = r.get("demo")
    if d:
        lines += ["", f"Demo rate (200 events/s, {r['trigger_seconds']:g} s triggers, after "
                      f"{DEMO_SETTLE} batches): {n(d['batches'])} batches of {n(d['rows_p50'])} "
                      f"records (median), batch p50 {n(d['batch_s_p50'])} s, max "
                      f"{n(d['batch_s_max'])} s, {n(d['over_trigger'])} over the trigger, "
                      f"{n(d['falling_behind_warnings'])} falling-behind warnings"]
        t = d.get("detection")
        if t:
            lines += ["", f"Detection latency at demo rate (a finding's batch less its reading's; "
                          f"{n(t['findings'])} findings, silences and level shifts left out): median "
                          f"{n(t['batches_p50'])}, p95 {n(t['batches_p95'])}, max "
                          f"{n(t['batches_max'])} batches; {n(t['within_one'])} within one"]
    f = r.get("fleet")
    if f:
        lines += [
            "", "Fleet (state warmed with every sensor, then batches from the active ones):", "",
            "| fleet | batch p50 s (active sensors) | state on disk MB | restart s |",
            "|---|---|---|---|",
            f"| {n(f['sensors_small'])} | {n(f['batch_s_p50_small'])} | {n(f['state_mb_small'])} "
            f"| {n(f['restart_s_small'])} |",
            f"| {n(f['sensors_large'])} | {n(f['batch_s_p50_large'])} | {n(f['state_mb'])} "
            f"| {n(f['restart_s'])} |",
            "", f"large/small **{n(f['ratio'])}** · {n(f['active_sensors'])} active sensors · "
                f"wide batches ({r['max_offsets_per_trigger']:,} distinct sensors each) p50 "
                f"{n(f['wide_batch_s_p50'])} s · peak RSS {n(f['driver_peak_rss_mb'])} MB"]
    b = r.get("broker", {})
    lines += ["", f"Broker: heap {n(b.get('heap_mb'))} MB, peak RSS {n(b.get('peak_rss_mb'))} MB · "
                  f"drain-run driver peak RSS {n(r['drain_driver_peak_rss_mb'])} MB",
              "", "| target | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in r["targets"].items()]
    return "\n".join(lines)
