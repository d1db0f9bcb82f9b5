"""Precision and recall of each anomaly detector: the job's `anomalies` table against the
simulator's `--labels` file. Run by scripts/quality.sh (python -m tools.evaluation.quality);
needs only pyarrow (no Spark).

What counts (docs/detection.md, "Detection quality"):
- precision: the share of a detector's findings that are labelled faults of any kind (a
  reading labelled spike, impossible, drift, stuck or shift; for `stuck`, a reading labelled
  stuck; for `silent`, a labelled silence);
- recall: the share of the labelled faults of the kinds a detector is meant for that it found.
  Readings count one by one (a shift is labelled at its first reading at the new level); a stuck
  run and a drift count once (found if any of their readings is flagged: the detectors report a
  run of readings once); a silence counts once, and only if the watermark got past it (last
  reading + after_seconds);
- goals: for each (fault kind, detector, goal), the detector's precision and its recall on that
  kind alone must both reach the goal;
- after a shift, zscore must learn the sensor's new level within its history: its findings on
  the sensor from a labelled shift up to the sensor's next shift (or the end), but for those on
  readings labelled with another fault (spike, impossible, drift, stuck), must number at most
  [detectors.zscore] history per shift. Not measured (so not met) without shift labels.
"""
# Over 300 lines: the targets, the goals and the report are one evaluation, read together.

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from iotstream.io.reading import read_committed  # no Spark: pyarrow is enough
from iotstream.toml_values import read_config_file  # a `base` file merged in, as the job does

# The fault kinds of the simulator each detector is meant to catch (its recall is measured on
# these), in the order of the reports. A detector not named here (one added since) is reported
# with its precision and its false findings per sensor-day, meant for no kind.
TARGETS: dict[str, tuple[str, ...]] = {
    "band": ("spike", "impossible", "drift"),
    "three_sigma": ("spike",),
    "zscore": ("spike", "impossible"),
    "stuck": ("stuck",),
    "silent": ("silent",),
    "level_shift": ("shift",),
    "rate_of_change": ("spike", "shift"),
    "learned": ("spike", "impossible", "drift", "shift"),
}
DETECTORS = tuple(TARGETS)
# The goals: each fault kind, by the detector named, at this precision and recall (or better).
GOALS = (("spike", "zscore", 0.95), ("stuck", "stuck", 0.95), ("silent", "silent", 0.95),
         ("shift", "level_shift", 0.9), ("spike", "rate_of_change", 0.95))
# The alert budget: false findings per sensor-day of all detectors together on normal data.
BUDGET = 0.1
# zscore findings on readings labelled with these are not charged to a shift.
NOT_SHIFT = ("spike", "impossible", "drift", "stuck")
# A sensor's drift labels further apart than this (event time) are two drifts.
DRIFT_GAP = timedelta(seconds=30)
# Fixed width, so these timestamps compare as strings in time order.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

Key = tuple[str, str]  # (guid, eventTime as the simulator writes it)


def read_labels(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def read_table(output_dir: Path, table: str) -> list[dict]:
    """The table's rows by the job's reader rule (iotstream.io.layout); none without a file."""
    rows = read_committed(output_dir, table)
    return [] if rows is None else rows.to_pylist()


def _key(guid: str, moment: datetime) -> Key:
    return guid, moment.strftime(TIME_FORMAT)


def evaluate(labels: list[dict[str, str]], found: list[dict], watermark: datetime | None,
             silent_seconds: float, stuck_repeats: int, zscore_history: int,
             names: tuple[str, ...] = DETECTORS) -> dict:
    """Per-detector and per-kind figures, goals and the after-shift bar (see the module's
    docstring); for the detectors `names` (and any other that found something)."""
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
    if watermark is not None and watermark.tzinfo is None:
        watermark = watermark.replace(tzinfo=UTC)  # pyarrow reads them aware, Spark naive
    observable = {
        s for s in silences
        if watermark is not None and _parse(s[1]) + timedelta(seconds=silent_seconds) <= watermark
    }
    # Each labelled fault, by kind, as the keys any one of which finds it.
    faults = {kind: [{k} for k, v in readings.items() if v == kind]
              for kind in ("spike", "impossible")}
    faults["drift"] = _drifts(labels)
    faults["stuck"] = [members for members in runs.values() if len(members) + 1 >= stuck_repeats]
    faults["silent"] = [{s} for s in observable]
    faults["shift"] = [{k} for k, v in readings.items() if v == "shift"]

    flags: dict[str, set[Key]] = {d: set() for d in _named(found, names)}
    for row in found:
        flags[row["detector"]].add(_key(row["guid"], row["event_time"]))

    def caught(kind: str, flagged: set[Key]) -> int:
        return sum(bool(fault & flagged) for fault in faults.get(kind, []))

    detectors = {}
    for name in flags:
        mine = flags[name]
        if name == "silent":
            hits = mine & silences
        elif name == "stuck":
            hits = {k for k in mine if readings.get(k) == "stuck"}
        else:
            hits = mine & readings.keys()
        targets = TARGETS.get(name, ())
        labelled = sum(len(faults.get(kind, [])) for kind in targets)
        found_here = sum(caught(kind, mine) for kind in targets)
        detectors[name] = {
            "flagged": len(mine), "true": len(hits),
            "precision": len(hits) / len(mine) if mine else None,
            "targets": ", ".join(targets), "labelled": labelled, "caught": found_here,
            "recall": found_here / labelled if labelled else None,
        }

    anything = set().union(*flags.values())
    kinds = {kind: {"labelled": len(members), "caught": caught(kind, anything)}
             for kind, members in faults.items()}
    # A silence is found by the silent detector alone: a finding on the reading before it is
    # about that reading.
    kinds["silent"]["caught"] = caught("silent", flags["silent"])
    kinds["silent"]["not yet observable"] = len(silences - observable)
    goals = []
    for kind, detector, goal in GOALS:
        precision, labelled = detectors[detector]["precision"], len(faults[kind])
        recall = caught(kind, flags[detector]) / labelled if labelled else None
        met = all(v is not None and v >= goal for v in (precision, recall))
        goals.append({"kind": kind, "detector": detector, "goal": goal, "precision": precision,
                      "recall": recall, "met": met})
    return {"detectors": detectors, "kinds": kinds, "goals": goals,
            "after_shift": after_shift(readings, flags["zscore"], zscore_history)}


def _named(found: list[dict], names: tuple[str, ...]) -> list[str]:
    """The detectors to report: `names`, then any other that found something."""
    return [*names, *sorted({a["detector"] for a in found} - set(names))]


def _drifts(labels: list[dict[str, str]]) -> list[set[Key]]:
    """Each drift as its readings: a sensor's drift labels in a row (no other label of the sensor
    between them, at most DRIFT_GAP apart)."""
    drifts: list[set[Key]] = []
    current: dict[str, tuple[datetime, set[Key]] | None] = {}  # guid → its drift going on
    for lab in sorted(labels, key=lambda lab: lab["eventTime"]):
        guid = lab["guid"]
        if lab["kind"] != "drift":
            current[guid] = None
            continue
        when = _parse(lab["eventTime"])
        going = current.get(guid)
        if going is None or when - going[0] > DRIFT_GAP:
            drift: set[Key] = set()
            drifts.append(drift)
        else:
            drift = going[1]
        drift.add((guid, lab["eventTime"]))
        current[guid] = (when, drift)
    return drifts


def after_shift(readings: dict[Key, str], zscore: set[Key], history: int) -> dict:
    """zscore findings per labelled shift: on its sensor, from the shift up to the sensor's next
    one, not on a reading labelled with another fault; at most `history` each is the bar."""
    starts: dict[str, list[str]] = defaultdict(list)
    for (guid, moment), kind in readings.items():
        if kind == "shift":
            starts[guid].append(moment)
    charged: dict[str, list[str]] = defaultdict(list)
    for guid, moment in zscore:
        if readings.get((guid, moment)) not in NOT_SHIFT:
            charged[guid].append(moment)
    counts = []
    for guid, moments in starts.items():
        moments.sort()
        for begin, end in zip(moments, [*moments[1:], None], strict=True):
            counts.append(sum(begin <= m and (end is None or m < end) for m in charged[guid]))
    return {"shifts": len(counts), "history": history,
            "max": max(counts) if counts else None,
            "mean": sum(counts) / len(counts) if counts else None,
            "met": bool(counts) and max(counts) <= history}


def sensor_days(readings: list[dict]) -> float:
    """Sensor-days of a readings table: each sensor's span of event time, added up."""
    spans: dict[str, list[datetime]] = {}
    for r in readings:
        span = spans.setdefault(r["guid"], [r["event_time"], r["event_time"]])
        span[0], span[1] = min(span[0], r["event_time"]), max(span[1], r["event_time"])
    return sum((last - first).total_seconds() for first, last in spans.values()) / 86_400


def false_per_sensor_day(found: list[dict], readings: list[dict],
                         names: tuple[str, ...] = DETECTORS) -> dict:
    """A fleet with no fault: every finding is false. Per detector, and over all of them
    together: findings, and findings per sensor-day."""
    days = sensor_days(readings)
    counts = {name: sum(a["detector"] == name for a in found) for name in _named(found, names)}
    per_day = {name: n / days if days else None for name, n in counts.items()}
    return {"sensors": len({r["guid"] for r in readings}), "readings": len(readings),
            "sensor_days": days, "findings": counts, "per_sensor_day": per_day,
            "all": len(found), "all_per_sensor_day": len(found) / days if days else None}


def clean_markdown(clean: dict, budget: float) -> str:
    lines = [f"A fleet with no fault: {clean['sensors']:,} sensors, {clean['readings']:,} readings, "
             f"{clean['sensor_days']:.1f} sensor-days. Every finding is false.", "",
             "| detector | false findings | per sensor-day |", "|---|---:|---:|"]
    for name in clean["findings"]:
        lines.append(f"| {name} | {clean['findings'][name]:,} | "
                     f"{_ratio(clean['per_sensor_day'][name])} |")
    lines.append(f"| all together | {clean['all']:,} | {_ratio(clean['all_per_sensor_day'])} |")
    verdict = ("met" if clean["all_per_sensor_day"] is not None
               and clean["all_per_sensor_day"] <= budget else "NOT met")
    lines += ["", f"- Goal (false findings per sensor-day, all detectors together, <= {budget:g}): "
              f"{verdict} ({_ratio(clean['all_per_sensor_day'])})"]
    return "\n".join(lines)


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
        lines.append(f"- Goal (precision and recall >= {g['goal']:g}) for {g['kind']} by "
                     f"{g['detector']}: {verdict} (precision {_ratio(g['precision'])}, "
                     f"recall {_ratio(g['recall'])})")
    a = result["after_shift"]
    bar = (f"- Goal (zscore findings after a labelled shift <= history ({a['history']}) "
           "per shift): ")
    if a["shifts"]:
        lines.append(bar + f"{'met' if a['met'] else 'NOT met'} ({a['shifts']:,} shifts; "
                           f"max {a['max']:,}, mean {a['mean']:.2f} per shift)")
    else:
        lines.append(bar + "not measured (no shift labels)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.evaluation.quality",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, required=True, help="the simulator's --labels CSV")
    parser.add_argument("--output-dir", type=Path, required=True, help="the job's output folder")
    parser.add_argument("--config", type=Path, required=True, help="the job's config (conf/job.toml)")
    parser.add_argument("--clean-output-dir", type=Path,
                        help="the job's output over a fleet with no fault: false findings per "
                        "sensor-day")
    parser.add_argument("--json", type=Path, help="also write the figures here, as JSON")
    args = parser.parse_args(argv)
    tables = read_config_file(args.config).get("detectors", {})

    def setting(detector: str, key: str) -> float:
        try:
            return tables[detector][key]
        except (KeyError, TypeError):
            sys.exit(f"quality: {args.config} has no [detectors.{detector}] {key} (conf/job.toml "
                     "writes every setting out)")

    silent_seconds = setting("silent", "after_seconds")
    repeats = setting("stuck", "repeats")
    history = setting("zscore", "history")
    totals = read_table(args.output_dir, "batch_totals")
    marks = [t["watermark"] for t in totals if t["watermark"] is not None]
    if not totals:
        print(f"quality: no batch_totals under {args.output_dir}: did the job run?", file=sys.stderr)
        return 1
    # Every detector of TARGETS, then every other the config has a table for (a rule added
    # since: its precision and false findings, measured for no fault kind).
    names = (*DETECTORS, *(n for n, t in tables.items() if isinstance(t, dict) and n not in TARGETS))
    result = evaluate(read_labels(args.labels), read_table(args.output_dir, "anomalies"),
                      max(marks) if marks else None, silent_seconds, repeats, history, names)
    result["events"] = sum(t["accepted"] for t in totals)
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(markdown(result))
    if args.clean_output_dir is not None:
        result["clean"] = false_per_sensor_day(read_table(args.clean_output_dir, "anomalies"),
                                               read_table(args.clean_output_dir, "readings"), names)
        print()
        print(clean_markdown(result["clean"], BUDGET))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
