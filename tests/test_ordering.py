"""Findings do not depend on how Kafka delivered the readings, end to end on the real broker,
the real console producer and spark-submit: the rules see each sensor's readings in event-time
order, released by the rules' clock, and the end of a bounded run closes every window.

One recorded stream with faults, fed unkeyed (the console producer spreads a sensor's readings
over 3 partitions), read whole and in slices of 300 records, and keyed into one partition: the
same anomalies and the same windows, every window of the file written and equal to plain
Python's, and `silent` finds exactly the real gaps (plain Python over the readings' event times),
however the backlog was sliced. (A backlog whose partitions run minutes apart: test_replay.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pytest

import reference
from conftest import ROOT, run_scripts
from tables import table_rows
from test_e2e import read_topic
from test_replay import WINDOW, end_clock, readings_of, window_start, written_figures

pytestmark = pytest.mark.e2e

SPARK_OPTS = ["--conf", "spark.ui.enabled=false", "--"]


def simulate(path: Path, *args: str) -> None:
    with path.open("w") as out:
        subprocess.run([sys.executable, str(ROOT / "iotsimulator.py"), *args], stdout=out,
                       check=True)


def drain(broker, topic: str, out: Path, *options: str) -> tuple[str, ...]:
    """A spark-submit run reading the topic to its end (run_scripts' arguments)."""
    return ("submit.sh", *SPARK_OPTS, broker.bootstrap, topic, "--output-dir", str(out),
            "--available-now", *options)


def window_figures(readings: list[reference.Reading]) -> dict:
    """Plain Python: per (state, window start): messages, distinct sensors, and the average, min
    and max of the possible temperatures (an impossible one is a message, not a temperature)."""
    groups: dict[tuple, list[reference.Reading]] = {}
    for r in readings:
        start = window_start(datetime.fromisoformat(r.event_time.replace("Z", "+00:00")))
        groups.setdefault((r.state, start), []).append(r)
    out = {}
    for key, rs in groups.items():
        t = [r.temperature for r in rs if reference.physically_possible(r.temperature)]
        out[key] = (len(rs), len({r.guid for r in rs}), sum(t) / len(t), min(t), max(t))
    return out


def findings(out: Path) -> Counter:
    """The anomalies as (guid, detector, reason, event time, score), each as often as found."""
    return Counter((a["guid"], a["detector"], a["reason"], a["event_time"], round(a["score"], 9))
                   for a in table_rows(out, "anomalies", aware=True))


@pytest.fixture(scope="module")
def deliveries(broker, tmp_path_factory):
    d = tmp_path_factory.mktemp("ordering")
    simulate(d / "data.txt", "6000", "--seed", "21", "--sensors", "120", "--event-interval",
             "0.05", "--anomaly-rate", "0.01", "--stuck-rate", "0.002", "--drift-rate", "0.001",
             "--silent-rate", "0.002", "--shift-rate", "0.001", "--start-time",
             "2025-06-01T08:00:00Z")
    broker.create_topic("ordering-unkeyed", 3)
    broker.produce_file("ordering-unkeyed", d / "data.txt")
    (d / "keyed.txt").write_text("".join(f"k\t{line}\n" for line in
                                         (d / "data.txt").read_text().splitlines()))
    broker.create_topic("ordering-keyed", 1)
    broker.produce_file("ordering-keyed", d / "keyed.txt", "--property", "parse.key=true",
                        "--property", "key.separator=\t")
    done = run_scripts(drain(broker, "ordering-unkeyed", d / "whole"),
                       drain(broker, "ordering-unkeyed", d / "sliced", "--max-offsets-per-trigger", "300"),
                       drain(broker, "ordering-keyed", d / "keyed"))
    runs = dict(zip(("whole", "sliced", "keyed"), (run.stdout for run in done), strict=True))
    records = read_topic(broker.bootstrap, "ordering-unkeyed")
    return {"dir": d, "runs": runs, "records": records}


def test_one_stream_gives_the_same_findings_and_windows_whatever_the_delivery(deliveries):
    d = deliveries["dir"]
    records = deliveries["records"]
    # Unkeyed: the console producer's sticky partitioner spreads the lines over every partition,
    # in runs whose lengths depend on its timing (one partition got 804 of 6,000 in one run, over
    # 2,500 in others): what matters is that a sensor's readings are on several partitions.
    spread = Counter(p for p, _ in records)
    on = defaultdict(set)
    for (p, _), value in records.items():
        on[json.loads(value)["guid"]].add(p)  # the simulator's lines: JSON, each with a guid
    assert len(spread) == 3 and min(spread.values()) > 300
    assert sum(len(parts) > 1 for parts in on.values()) >= 0.9 * len(on), spread
    sliced = table_rows(d / "sliced", "batch_totals")
    assert len(sliced) >= 20 and sum(t["late"] for t in sliced) == 0
    whole = findings(d / "whole")
    detectors = Counter(detector for _, detector, *_ in whole.elements())
    assert {"band", "zscore", "silent", "stuck", "level_shift", "rate_of_change"} <= set(detectors)
    assert findings(d / "sliced") == whole
    assert findings(d / "keyed") == whole
    # silent: exactly the real gaps, each once (a sensor's readings on several partitions, read
    # in slices, raise no silence of their own).
    readings = readings_of(records)
    latest = max(datetime.fromisoformat(r.event_time.replace("Z", "+00:00")) for r in readings)
    gaps = reference.silences(readings, latest)
    silent = [(guid, t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")) for guid, detector, _, t, _ in whole.elements()
              if detector == "silent"]
    assert len(gaps) >= 5 and sorted(silent) == sorted(gaps)
    # The same windows, every one written once (revision 0), and each equal to plain Python's
    # over every reading of the file: the end of the input closed them all.
    windows = written_figures(d / "whole")
    assert written_figures(d / "sliced") == windows == written_figures(d / "keyed")
    assert windows == window_figures(readings)
    clock = end_clock(records)
    assert all(start + WINDOW <= clock for _, start in windows)
    for name in ("whole", "sliced", "keyed"):
        assert {w["revision"] for w in table_rows(d / name, "window_stats")} == {0}
        assert deliveries["runs"][name].count("End of input: every partition read to its end") == 1
