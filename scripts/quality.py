"""Precision and recall of each anomaly detector: the job's `anomalies` table against the
simulator's `--labels` file. Run by scripts/quality.sh; needs only pyarrow (no Spark).

What counts (README, "Detection quality"):
- precision: the share of a detector's findings that are labelled faults of any kind (a
  reading labelled spike, impossible, drift or stuck; for `silent`, a labelled silence);
- recall: the share of the labelled faults of the kinds a detector is meant for that it found.
  Readings count one by one; a stuck run counts once (found if any of its readings is flagged);
  a silence counts once, and only if the watermark got past it (last reading + after_seconds).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tomllib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.dataset as ds

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "jobs"))
from iotstream.detectors import NAMES, REGISTRY  # noqa: E402 (no Spark: pyarrow is enough)

DETECTORS = NAMES
# The fault kinds each detector is meant to catch (its recall is measured on these).
TARGETS = {name: d.meant_for for name, d in REGISTRY.items()}
# The goal: these fault kinds, by the detector named, at >= GOAL precision and recall.
GOALS = (("spike", "zscore"), ("stuck", "stuck"), ("silent", "silent"))
GOAL = 0.95
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

Key = tuple[str, str]  # (guid, eventTime as the simulator writes it)


def read_labels(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def read_table(output_dir: Path, table: str) -> list[dict]:
    location = output_dir / table
    if not location.exists():
        return []
    return ds.dataset(location, format="parquet", partitioning="hive").to_table().to_pylist()


def _key(guid: str, moment: datetime) -> Key:
    return guid, moment.strftime(TIME_FORMAT)


def evaluate(labels: list[dict[str, str]], found: list[dict], watermark: datetime | None,
             silent_seconds: float, stuck_repeats: int) -> dict:
    """Per-detector and per-kind figures (see the module's docstring)."""
    readings: dict[Key, str] = {}
    silences: set[Key] = set()
    for lab in labels:
        key = (lab["guid"], lab["eventTime"])
        if lab["kind"] == "silent":
            silences.add(key)
        else:
            readings[key] = lab["kind"]
    # A stuck run: a sensor's labelled readings of one value. Too short a run (cut off by the
    # end of the stream) cannot reach `repeats` identical values: not counted.
    runs: dict[tuple[str, str], set[Key]] = defaultdict(set)
    for lab in labels:
        if lab["kind"] == "stuck":
            runs[(lab["guid"], lab["temperature"])].add((lab["guid"], lab["eventTime"]))
    runs = {k: v for k, v in runs.items() if len(v) + 1 >= stuck_repeats}
    if watermark is not None and watermark.tzinfo is None:
        watermark = watermark.replace(tzinfo=UTC)  # pyarrow reads them aware, Spark naive
    observable = {
        s for s in silences
        if watermark is not None and _parse(s[1]) + timedelta(seconds=silent_seconds) <= watermark
    }

    flags: dict[str, set[Key]] = {d: set() for d in DETECTORS}
    for row in found:
        flags[row["detector"]].add(_key(row["guid"], row["event_time"]))

    detectors = {}
    for name in DETECTORS:
        mine = flags[name]
        if name == "silent":
            hits, targets = mine & silences, observable
            caught = len(targets & mine)
        elif name == "stuck":
            hits = {k for k in mine if readings.get(k) == "stuck"}
            targets = set(runs)
            caught = sum(bool(members & mine) for members in runs.values())
        else:
            hits = {k for k in mine if k in readings}
            targets = {k for k, kind in readings.items() if kind in TARGETS[name]}
            caught = len(targets & mine)
        detectors[name] = {
            "flagged": len(mine), "true": len(hits),
            "precision": len(hits) / len(mine) if mine else None,
            "targets": ", ".join(TARGETS[name]), "labelled": len(targets), "caught": caught,
            "recall": caught / len(targets) if targets else None,
        }

    anything = set().union(*flags.values())
    kinds = {}
    for kind in ("spike", "impossible", "drift"):
        targets = {k for k, v in readings.items() if v == kind}
        kinds[kind] = {"labelled": len(targets), "caught": len(targets & anything)}
    kinds["stuck"] = {"labelled": len(runs),
                      "caught": sum(bool(m & anything) for m in runs.values())}
    kinds["silent"] = {"labelled": len(observable), "caught": len(observable & flags["silent"]),
                       "not yet observable": len(silences - observable)}
    goals = []
    for kind, detector in GOALS:
        d = detectors[detector]
        met = all(v is not None and v >= GOAL for v in (d["precision"], d["recall"]))
        goals.append({"kind": kind, "detector": detector, "precision": d["precision"],
                      "recall": d["recall"], "met": met})
    return {"detectors": detectors, "kinds": kinds, "goals": goals}


def _parse(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown(result: dict) -> str:
    lines = ["| detector | flagged | precision | meant for | labelled | caught | recall |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for name, d in result["detectors"].items():
        lines.append(f"| {name} | {d['flagged']:,} | {_ratio(d['precision'])} | {d['targets']} | "
                     f"{d['labelled']:,} | {d['caught']:,} | {_ratio(d['recall'])} |")
    lines += ["", "| fault | labelled | caught by any detector |", "|---|---:|---:|"]
    for kind, k in result["kinds"].items():
        lines.append(f"| {kind} | {k['labelled']:,} | {k['caught']:,} |")
    lines.append("")
    for g in result["goals"]:
        verdict = "met" if g["met"] else "NOT met"
        lines.append(f"- Goal (precision and recall >= {GOAL}) for {g['kind']} by {g['detector']}: "
                     f"{verdict} (precision {_ratio(g['precision'])}, recall {_ratio(g['recall'])})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, required=True, help="the simulator's --labels CSV")
    parser.add_argument("--output-dir", type=Path, required=True, help="the job's output folder")
    parser.add_argument("--config", type=Path, required=True, help="the job's config (conf/job.toml)")
    parser.add_argument("--json", type=Path, help="also write the figures here, as JSON")
    args = parser.parse_args(argv)
    with args.config.open("rb") as f:
        detectors = tomllib.load(f).get("detectors", {})
    silent_seconds = float(detectors.get("silent", {}).get("after_seconds", 120))
    repeats = int(detectors.get("stuck", {}).get("repeats", 10))
    totals = read_table(args.output_dir, "batch_totals")
    marks = [t["watermark"] for t in totals if t["watermark"] is not None]
    if not totals:
        print(f"quality: no batch_totals under {args.output_dir}: did the job run?", file=sys.stderr)
        return 1
    result = evaluate(read_labels(args.labels), read_table(args.output_dir, "anomalies"),
                      max(marks) if marks else None, silent_seconds, repeats)
    result["events"] = sum(t["accepted"] for t in totals)
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
