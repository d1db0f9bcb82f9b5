"""The long run's report (tools/bench/soak.py): its slices and bars from hand-made samples, the
values computed here."""

from __future__ import annotations

import argparse
import json

from tools.bench import soak as bench_soak

T0 = 1_800_000_000.0


def write_samples(path, seconds: dict[int, float], memory_end: float) -> None:
    """Batches 0-239 every 3 s (12 minutes) taking `seconds` (1.0 by default), samples every
    60 s: 1,000 MB of JVM and 200 of Python, `memory_end` × that in the last sample."""
    lines = []
    for b in range(240):
        start = T0 + 3 * b
        lines.append({"batch": {"id": b, "start": start, "end": start + seconds.get(b, 1.0),
                                "offsets": 100 * (b + 1)}})
    for k in range(13):
        scale = memory_end if k == 12 else 1.0
        lines.append({"sample": {"t": T0 + 60 * k, "end": 24_000, "checkpoint_files": 500,
                                 "checkpoint_mb": 100.0, "output_files": 300 + k,
                                 "output_mb": 5.0, "jvm_mb": 1000 * scale,
                                 "python_mb": 200 * scale, "workers_mb": 0.0}})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def report(path):
    return bench_soak.report(argparse.Namespace(samples=str(path), slice_minutes=5))


def test_a_steady_run_meets_every_bar(tmp_path):
    samples = tmp_path / "samples.jsonl"
    write_samples(samples, {3: 9.0, 100: 2.9, 150: 1.5}, 1.1)  # batch 3: in the warm-up
    r = report(samples)
    assert [(s["minutes"], s["batches"]) for s in r["slices"]] == [
        ("0-5", 100), ("5-10", 100), ("10-15", 40)]
    first, second, _ = r["slices"]
    assert (first["p50_s"], first["max_s"]) == (1.0, 9.0)
    assert (second["p50_s"], second["max_s"], second["p99_s"]) == (1.0, 2.9, 2.9)
    assert r["median_s"] == 1.0 and r["worst"]["id"] == 100 and r["spike_ratio"] == 2.9
    assert r["memory_ratio"] == 1.1 and r["checkpoint_ratio"] == 1.0
    assert r["consumed"] == 24_000 == r["end_offsets"] and r["missed_batches"] == 0
    assert all(r["bars"].values())
    assert "met: no batch over 3x the median" in bench_soak.markdown(r)


def test_a_stall_and_a_memory_rise_miss_their_bars(tmp_path):
    samples = tmp_path / "samples.jsonl"
    write_samples(samples, {200: 3.5}, 1.2)
    r = report(samples)
    assert r["spike_ratio"] == 3.5 and r["memory_ratio"] == 1.2
    bars = r["bars"]
    assert [ok for bar, ok in bars.items() if "median" in bar or "memory" in bar] == [False, False]
    assert [ok for bar, ok in bars.items() if "consumed" in bar or "checkpoint" in bar] == [
        True, True]
    assert "MISSED: no batch over 3x the median" in bench_soak.markdown(r)
