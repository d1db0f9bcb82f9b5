"""Real-data check of the job's detectors on labelled public series: the Numenta Anomaly Benchmark
(NAB, https://github.com/numenta/NAB, MIT licence). Run by scripts/realdata.sh
(python -m tools.evaluation.realdata); needs only pyarrow (no Spark).

  convert --nab DIR --set train|check OUT.jsonl
      Each series of the set becomes one sensor (guid: the file's name without .csv, state FL,
      destination nab), one JSON line per reading in the simulator's shape, every series of the set
      merged in event-time order (one Kafka partition: the job's clock moves forward through all).
  score --nab DIR --set train|check --output-dir OUT [--skip-detector NAME] [--json FILE]
      The job's findings (OUT/anomalies) on the set's series against NAB's labelled anomaly
      windows (labels/combined_windows.json, [start, end] inclusive, naive UTC), as Markdown.
  normal --output-dir OUT [--output-dir OUT2 ...] [--json FILE]
      The job's findings over readings known to be normal (any sensors': every finding is
      false), per detector and per sensor-day, against the alert budget; one output folder per
      recording, added up.

The sets: TRAIN (tuning and a model's training: NAB's real series other than temperature) and
CHECK (NAB's two temperature series, never used for training or tuning).

What counts, per detector, for the union of all and for the union of all but `learned` (the
detector a trained model adds, when there is one): findings are distinct (guid, event_time)
readings flagged; inside are those within a labelled window of their series; precision is
inside / findings; a window is found when at least one finding lies in it. The share of the
set's readings (OUT/readings, late = false) that lie inside windows is what a detector flagging
readings at random would get as precision ("chance"). Outside the windows a series is normal: the
findings there are false, counted per sensor-day of those stretches (each series' span of
readings less its windows), against the alert budget (BUDGET false findings per sensor-day, all
detectors together).
"""
# Over 300 lines: one command's three steps (convert, score, normal) share NAB's layout and the scoring.

from __future__ import annotations

import argparse
import csv
import heapq
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from iotstream.io.reading import read_committed  # no Spark: pyarrow is enough

TRAIN = (
    "realTraffic/speed_6005", "realTraffic/speed_7578", "realTraffic/speed_t4013",
    "realTraffic/occupancy_6005", "realTraffic/occupancy_t4013",
    *(f"realAWSCloudwatch/ec2_cpu_utilization_{s}"
      for s in ("24ae8d", "53ea38", "5f5533", "77c1ca", "825cc2", "ac20cd", "c6585a", "fe7f93")),
    "realAWSCloudwatch/rds_cpu_utilization_cc0c53", "realAWSCloudwatch/rds_cpu_utilization_e47b3b",
    "realKnownCause/cpu_utilization_asg_misconfiguration",
    "realKnownCause/ec2_request_latency_system_failure",
)
CHECK = (
    "realKnownCause/machine_temperature_system_failure",
    "realKnownCause/ambient_temperature_system_failure",
)
SETS = {"train": TRAIN, "check": CHECK}
LABELS = Path("labels") / "combined_windows.json"
STATE, DESTINATION = "FL", "nab"
PAYLOAD_FORMAT = "urn:example:sensor:temp"  # the simulator's (simulator/faults.py)
EVENT_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the simulator's eventTime, to the microsecond
LEARNED = "learned"
BUDGET = 0.1  # false findings per sensor-day on normal data, all detectors together
ALL, ALL_BUT_LEARNED = "all", "all but learned"

Finding = tuple[str, datetime]  # (guid, event_time, aware UTC)
Window = tuple[datetime, datetime]  # [start, end], inclusive, aware UTC


def guid_of(series: str) -> str:
    """A series' sensor: its file's name without .csv."""
    return Path(series).name


def _nab_time(text: str) -> datetime:
    """NAB's naive UTC time ("2013-12-02 21:15:00", labels with ".000000") as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- convert ----------------------------------------------------------------------------------


def read_series(nab: Path, series: str) -> list[tuple[datetime, float]]:
    """A series' (time, value) rows in time order. A few NAB files repeat timestamps (an hour of
    machine_temperature_system_failure comes twice); the sort is stable, so repeats stay in the
    file's order: the job keeps the first one read and takes the others for re-sends with
    another value (conflicts), or for late readings when their window was already written."""
    path = nab / "data" / f"{series}.csv"
    if not path.is_file():
        raise SystemExit(f"realdata: no {path}: is {nab} a NAB checkout? (scripts/realdata.sh "
                         "fetches one into data/nab)")
    with path.open(newline="") as f:
        rows = [(_nab_time(r["timestamp"]), float(r["value"])) for r in csv.DictReader(f)]
    return sorted(rows, key=lambda row: row[0])


def events(nab: Path, series: Iterable[str]) -> Iterator[dict]:
    """Every reading of the series as the simulator's events, merged in event-time order (ties:
    in the order of `series`)."""

    def one(name: str) -> Iterator[tuple[datetime, dict]]:
        guid = guid_of(name)
        for moment, value in read_series(nab, name):
            yield moment, {
                "guid": guid, "destination": DESTINATION, "state": STATE,
                "eventTime": moment.strftime(EVENT_TIME_FORMAT),
                "payload": {"format": PAYLOAD_FORMAT, "data": {"temperature": value}},
            }

    for _, event in heapq.merge(*(one(name) for name in series), key=lambda pair: pair[0]):
        yield event


def convert(nab: Path, set_name: str, out: Path) -> dict[str, int]:
    """Writes the set's events as JSON lines to `out`; returns how many, and how many repeat a
    (guid, eventTime) already written."""
    written, seen, repeats = 0, set(), 0
    with out.open("w") as f:
        for event in events(nab, SETS[set_name]):
            key = (event["guid"], event["eventTime"])
            repeats += key in seen
            seen.add(key)
            f.write(json.dumps(event) + "\n")
            written += 1
    return {"events": written, "series": len(SETS[set_name]), "repeated_times": repeats}


# --- score ------------------------------------------------------------------------------------


def read_windows(nab: Path, series: Iterable[str]) -> dict[str, list[Window]]:
    """Each series' labelled anomaly windows, by guid."""
    if not (nab / LABELS).is_file():
        raise SystemExit(f"realdata: no {nab / LABELS}: is {nab} a NAB checkout?")
    labels = json.loads((nab / LABELS).read_text())
    windows = {}
    for name in series:
        key = f"{name}.csv"
        if key not in labels:
            raise SystemExit(f"realdata: {key} has no entry in {nab / LABELS}")
        windows[guid_of(name)] = [(_nab_time(start), _nab_time(end)) for start, end in labels[key]]
    return windows


def read_table(output_dir: Path, table: str, columns: list[str]) -> pa.Table | None:
    """The job's table (hive partitions by date), timestamps as microseconds in UTC (a naive
    timestamp is taken as UTC); None when the job has not written it."""
    data = read_committed(output_dir, table, columns)  # the job's reader rule (io.layout)
    if data is None:
        return None
    return data.cast(pa.schema([
        f.with_type(pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(f.type) else f
        for f in data.schema]))


def _inside(finding: Finding, windows: dict[str, list[Window]]) -> Window | None:
    guid, moment = finding
    return next((w for w in windows.get(guid, []) if w[0] <= moment <= w[1]), None)


def figures(found: set[Finding], windows: dict[str, list[Window]],
            normal_days: float | None = None) -> dict:
    """findings, inside, precision and windows found (of all) for `found`, against `windows`
    (the series to count windows of); with `normal_days` (the series' sensor-days outside their
    windows), the findings outside them per such day."""
    hits = [w for w in (_inside(f, windows) for f in found) if w is not None]
    out = {"findings": len(found), "inside": len(hits),
           "precision": len(hits) / len(found) if found else None,
           "windows_found": len(set(hits)), "windows": sum(len(w) for w in windows.values())}
    if normal_days is not None:
        out["false_per_sensor_day"] = (len(found) - len(hits)) / normal_days if normal_days else None
    return out


def normal_sensor_days(readings: Iterable[Finding], windows: dict[str, list[Window]]) -> float:
    """Sensor-days of the series outside their labelled windows: each series' span of readings,
    less the part of each window within it."""
    spans: dict[str, list[datetime]] = {}
    for guid, moment in readings:
        span = spans.setdefault(guid, [moment, moment])
        span[0], span[1] = min(span[0], moment), max(span[1], moment)
    seconds = 0.0
    for guid, (first, last) in spans.items():
        seconds += (last - first).total_seconds()
        for start, end in windows.get(guid, []):
            overlap = (min(end, last) - max(start, first)).total_seconds()
            seconds -= max(overlap, 0.0)
    return seconds / 86_400


def evaluate(anomalies: list[dict], readings: list[dict], windows: dict[str, list[Window]],
             skip: Iterable[str] = (), latest: datetime | None = None) -> dict:
    """The score (see the module's docstring) of the job's anomaly rows (guid, event_time,
    detector) and accepted readings (guid, event_time, late) on the series in `windows` (guid →
    its windows); rows of other series, and findings of the detectors in `skip`, are left out."""
    guids, skip = set(windows), set(skip)
    flags: dict[str, set[Finding]] = {}
    for row in anomalies:
        if row["guid"] in guids and row["detector"] not in skip:
            flags.setdefault(row["detector"], set()).add((row["guid"], row["event_time"]))
    rows = {name: flags[name] for name in sorted(flags)}
    rows[ALL] = set().union(*flags.values())
    rows[ALL_BUT_LEARNED] = set().union(*(v for k, v in flags.items() if k != LEARNED))
    accepted = {(r["guid"], r["event_time"]) for r in readings if r["guid"] in guids and not r["late"]}
    per_series = {}
    for guid, mine in windows.items():
        here = {name: {f for f in found if f[0] == guid} for name, found in rows.items()}
        days = normal_sensor_days((a for a in accepted if a[0] == guid), {guid: mine})
        per_series[guid] = {name: figures(found, {guid: mine}, days) for name, found in here.items()
                            if found or name in (ALL, ALL_BUT_LEARNED)}
    inside = sum(_inside(r, windows) is not None for r in accepted)
    chance = inside / len(accepted) if accepted else None
    silences = [r for r in anomalies if r["guid"] in guids and r["detector"] == "silent"
                and "silent" not in skip]
    days = normal_sensor_days(accepted, windows)
    detectors = {name: figures(found, windows, days) for name, found in rows.items()}
    for d in detectors.values():
        d["times_chance"] = d["precision"] / chance if chance and d["precision"] is not None else None
    return {
        "series": sorted(guids), "skipped": sorted(skip),
        "readings": len(accepted), "readings_inside": inside, "random_precision": chance,
        "normal_sensor_days": days, "detectors": detectors, "per_series": per_series,
        "silences": real_gaps(silences, accepted, latest),
    }


def real_gaps(silences: list[dict], accepted: Iterable[Finding],
              latest: datetime | None) -> dict:
    """NAB labels anomalies of the values, not gaps: a `silent` finding is judged by the
    readings themselves. It is a real gap when its sensor has no reading for longer than the
    silence it was judged by (its score, seconds) after the reading it carries: up to its next
    reading, or to the latest reading of the input (`latest`) when none came."""
    times: dict[str, list[datetime]] = {}
    for guid, moment in accepted:
        times.setdefault(guid, []).append(moment)
    for moments in times.values():
        moments.sort()
    real = 0
    for s in silences:
        after = [m for m in times.get(s["guid"], []) if m > s["event_time"]]
        until = after[0] if after else latest
        real += until is not None and (until - s["event_time"]).total_seconds() > s["score"]
    return {"findings": len(silences), "real_gaps": real}


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _row(first: str, d: dict) -> str:
    times = d.get("times_chance")
    chance = "" if "times_chance" not in d else f" {'–' if times is None else f'{times:.1f}'} |"
    return (f"| {first} | {d['findings']:,} | {d['inside']:,} | {_ratio(d['precision'])} |"
            f"{chance} {d['windows_found']} / {d['windows']} | "
            f"{_ratio(d.get('false_per_sensor_day'))} |")


def markdown(set_name: str, result: dict) -> str:
    skipped = f"; left out: {', '.join(result['skipped'])}" if result["skipped"] else ""
    lines = [f"### NAB {set_name} set: {len(result['series'])} series{skipped}", "",
             "| detector | findings | inside | precision | × chance | windows found | "
             "false per sensor-day |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [_row(name, d) for name, d in result["detectors"].items()]
    lines += ["", f"Readings of the set (late = false): {result['readings']:,}, of which "
                  f"{result['readings_inside']:,} inside labelled windows "
                  f"({_ratio(result['random_precision'])}): a detector flagging readings at "
                  "random would have about that precision (chance). Outside the windows: "
                  f"{result['normal_sensor_days']:.1f} sensor-days of normal readings; the "
                  f"findings there are false (the budget: {BUDGET:g} per sensor-day, all "
                  "detectors together).",
              "", f"`silent` (NAB labels no gap: judged by the readings themselves): "
                  f"{result['silences']['real_gaps']:,} of its {result['silences']['findings']:,} "
                  "findings are real gaps, the sensor sending nothing for longer than the "
                  "silence it was judged by.",
              "", "| series | detector | findings | inside | precision | windows found | "
              "false per sensor-day |", "|---|---|---:|---:|---:|---:|---:|"]
    for guid, rows in result["per_series"].items():
        lines += [_row(f"{guid} | {name}", d) for name, d in rows.items()]
    return "\n".join(lines)


def normal(*output_dirs: Path) -> dict:
    """The job's findings over readings known to be normal (the outputs of one or more runs,
    each a recording of its own): every one is false."""
    accepted: set[tuple[int, str, datetime]] = set()
    found: set[tuple[int, str, str, datetime]] = set()  # each finding once
    for run, output_dir in enumerate(output_dirs):
        readings = read_table(output_dir, "readings", ["guid", "event_time", "late"])
        if readings is None:
            raise SystemExit(f"realdata: no readings table under {output_dir}: did the job run?")
        anomalies = read_table(output_dir, "anomalies", ["guid", "event_time", "detector"])
        accepted |= {(run, r["guid"], r["event_time"]) for r in readings.to_pylist()
                     if not r["late"]}
        found |= {(run, r["detector"], r["guid"], r["event_time"])
                  for r in ([] if anomalies is None else anomalies.to_pylist())}
    days = normal_sensor_days(((f"{run}/{g}", t) for run, g, t in accepted), {})
    counts: dict[str, int] = {}
    for _, detector, _, _ in found:
        counts[detector] = counts.get(detector, 0) + 1
    return {"sensors": len({(run, g) for run, g, _ in accepted}), "readings": len(accepted),
            "sensor_days": days, "findings": dict(sorted(counts.items())), "all": len(found),
            "per_sensor_day": {k: v / days for k, v in sorted(counts.items())} if days else {},
            "all_per_sensor_day": len(found) / days if days else None}


def normal_markdown(result: dict) -> str:
    lines = [f"### Normal readings: {result['sensors']:,} sensors, {result['readings']:,} readings, "
             f"{result['sensor_days']:.1f} sensor-days; every finding is false", "",
             "| detector | false findings | per sensor-day |", "|---|---:|---:|"]
    for name, n in result["findings"].items():
        lines.append(f"| {name} | {n:,} | {_ratio(result['per_sensor_day'].get(name))} |")
    lines.append(f"| all together | {result['all']:,} | {_ratio(result['all_per_sensor_day'])} |")
    per_day = result["all_per_sensor_day"]
    verdict = "met" if per_day is not None and per_day <= BUDGET else "NOT met"
    lines += ["", f"- Budget (false findings per sensor-day, all detectors together, <= "
              f"{BUDGET:g}): {verdict} ({_ratio(per_day)})"]
    return "\n".join(lines)


def score(nab: Path, set_name: str, output_dir: Path, skip: Iterable[str] = ()) -> dict:
    windows = read_windows(nab, SETS[set_name])
    readings = read_table(output_dir, "readings", ["guid", "event_time", "late"])
    if readings is None:
        raise SystemExit(f"realdata: no readings table under {output_dir}: did the job run?")
    anomalies = read_table(output_dir, "anomalies", ["guid", "event_time", "detector", "score"])
    latest = pc.max(readings["event_time"]).as_py()  # the input's end
    keep = pa.array(sorted(windows))
    readings = readings.filter(pc.is_in(readings["guid"], value_set=keep))
    rows = [] if anomalies is None else anomalies.filter(
        pc.is_in(anomalies["guid"], value_set=keep)).to_pylist()
    return evaluate(rows, readings.to_pylist(), windows, skip, latest)


def _nab_commit(nab: Path) -> str | None:
    head = nab / ".git" / "HEAD"
    text = head.read_text().strip() if head.is_file() else ""
    return text if len(text) == 40 and all(c in "0123456789abcdef" for c in text) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.evaluation.realdata",
                                     description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("convert", help="a set's series as the simulator's JSON lines")
    s = commands.add_parser("score", help="the job's findings against NAB's labelled windows")
    n = commands.add_parser("normal", help="the job's findings over readings known to be normal")
    n.add_argument("--output-dir", type=Path, required=True, action="append", dest="output_dirs",
                   help="the job's output folder (again for each recording)")
    n.add_argument("--json", type=Path, help="also write the figures here, as JSON")
    for p in (c, s):
        p.add_argument("--nab", type=Path, required=True, help="NAB's checkout (data/, labels/)")
        p.add_argument("--set", choices=sorted(SETS), required=True, dest="set_name")
    c.add_argument("out", type=Path, help="the JSON lines file to write")
    s.add_argument("--output-dir", type=Path, required=True, help="the job's output folder")
    s.add_argument("--skip-detector", action="append", default=[], metavar="NAME",
                   help="leave this detector's findings out (e.g. learned, in-sample)")
    s.add_argument("--json", type=Path, help="also write the figures here, as JSON")
    args = parser.parse_args(argv)
    if args.command == "normal":
        result = normal(*args.output_dirs)
        print(normal_markdown(result))
        if args.json:
            args.json.write_text(json.dumps({"measured_at": datetime.now(UTC).isoformat(
                timespec="seconds"), **result}, indent=2) + "\n")
        return 0
    if args.command == "convert":
        done = convert(args.nab, args.set_name, args.out)
        print(f"realdata: {args.set_name}: {done['events']:,} readings of {done['series']} series "
              f"into {args.out} ({done['repeated_times']} repeat a sensor's eventTime)", file=sys.stderr)
        return 0
    result = score(args.nab, args.set_name, args.output_dir, args.skip_detector)
    print(markdown(args.set_name, result))
    if args.json:
        result = {"set": args.set_name, "nab_commit": _nab_commit(args.nab),
                  "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), **result}
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
