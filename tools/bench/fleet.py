"""The benchmark's fleet step (scripts/bench.sh runs it: python -m tools.bench.fleet): does a
batch cost follow the batch or the fleet? For a fleet of N sensors, one topic holds, in order:

- warm: `warm` readings (default N), the N sensors in turn, so that each is seen at least once
  (the job's state then knows the whole fleet). bench.sh warms every fleet with the same count,
  so the timed batches of each run come after as many batches (an equally warm JVM);
- timed: batches of `per_batch` readings from the same `active` sensors of that fleet;
- wide: batches of `per_batch` readings from as many distinct sensors (the cost per key);
- restart: a few more timed batches, read by a second run of the job (restart time).

Event time: the warm readings take 10 s, the timed and wide ones follow within 70 s, so no
sensor of the fleet is reported silent (120 s) or forgotten (TTL) while batches are timed.

    python -m tools.bench.fleet data --sensors N --out DIR [--warm W --active 1000
                                   --per-batch 30000 --batches 10 --wide 4]
    python -m tools.bench.fleet mark --bootstrap B --topic T --out FILE  (end offsets, as JSON)
    python -m tools.bench.fleet summary --work DIR --name NAME --out FILE
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tools.bench.figures import pct
from tools.bench.sources import batches

ROOT = Path(__file__).resolve().parents[2]  # the checkout (this is tools/bench/fleet.py)

# A day ago, on the hour, as a live fleet's.
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
WARM_SECONDS, TIMED_SECONDS = 10.0, 60.0
RESTART_BATCHES = 3


def _states() -> list[tuple[str, float]]:
    with (ROOT / "conf" / "states.csv").open() as f:
        return [(r["state"], float(r["avg_temp_f"])) for r in csv.DictReader(f)]


def _line(guid: str, state: str, when: datetime, temperature: float) -> str:
    return json.dumps({
        "guid": guid, "destination": "0-AAA00000001", "state": state,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "payload": {"format": "urn:example:sensor:temp", "data": {"temperature": temperature}},
    })


def data(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    states = _states()
    fleet = [(f"F-{i:08d}", *states[i % len(states)]) for i in range(args.sensors)]

    def reading(i: int, when: datetime) -> str:
        guid, state, base = fleet[i]
        return _line(guid, state, when, round(base + rng.gauss(0, 1.5), 1))

    warm = max(args.warm or 0, args.sensors)
    with (out / "warm.jsonl").open("w") as f:
        step = WARM_SECONDS / warm
        for i in range(warm):
            f.write(reading(i % args.sensors, START + timedelta(seconds=i * step)) + "\n")
    timed = args.per_batch * (args.batches + RESTART_BATCHES)
    wide = args.per_batch * args.wide
    step = TIMED_SECONDS / (timed + wide)
    clock = START + timedelta(seconds=WARM_SECONDS)
    n = 0
    for name, count in (("timed", args.per_batch * args.batches), ("wide", wide),
                        ("restart", args.per_batch * RESTART_BATCHES)):
        with (out / f"{name}.jsonl").open("w") as f:
            for j in range(count):
                # timed: the active sensors in turn; wide: per_batch distinct sensors per batch.
                i = (j % args.per_batch) % len(fleet) if name == "wide" else j % args.active
                f.write(reading(i, clock + timedelta(seconds=n * step)) + "\n")
                n += 1
    return 0


def mark(args: argparse.Namespace) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap)
    parts = [TopicPartition(args.topic, p) for p in sorted(consumer.partitions_for_topic(args.topic))]
    ends = consumer.end_offsets(parts)
    Path(args.out).write_text(json.dumps({f"{tp.topic}:{tp.partition}": o for tp, o in ends.items()}))
    consumer.close()
    return 0


def _bound(path: Path) -> dict[tuple[str, int], int]:
    raw = json.loads(path.read_text())
    return {(k.rsplit(":", 1)[0], int(k.rsplit(":", 1)[1])): v for k, v in raw.items()}


def _within(batch: dict[str, Any], low: dict, high: dict) -> bool:
    """Whether every record the batch read lies between the two marks."""
    return (all(batch["before"].get(tp, 0) >= o for tp, o in low.items())
            and all(o <= high.get(tp, 0) for tp, o in batch["offsets"].items()))


def _p50(done: list[dict[str, Any]], skip: int) -> float | None:
    durations = [b["end"] - b["start"] for b in done][skip:]
    return round(pct(durations, 0.5), 3) if durations else None


def summary(args: argparse.Namespace) -> int:
    """Batch times of the timed and wide batches, peak memory, state size, restart time."""
    work = Path(args.work)
    name = args.name
    checkpoint = work / f"{name}-out" / "_checkpoint"
    # Batches that read records: the batch without records that ends a drained run (it judges
    # the last readings) is neither a timed batch nor the restart's first.
    done = [b for b in batches(checkpoint) if b["rows"]]
    marks = {m: _bound(work / f"{name}.{m}.end") for m in ("warm", "timed", "wide", "restart")}
    timed = [b for b in done if _within(b, marks["warm"], marks["timed"])]
    wide = [b for b in done if _within(b, marks["timed"], marks["wide"])]
    samples = [json.loads(line) for line in (work / f"{name}-monitor.jsonl").read_text().splitlines()]
    restart_mark = work / f"{name}.restart.submitted"
    first_new = next((b for b in done if _within(b, marks["wide"], marks["restart"])), None)
    state = checkpoint / "state"
    size = subprocess.run(["du", "-sk", str(state)], capture_output=True, text=True).stdout.split()
    result = {
        "sensors": args.sensors, "timed_batches": len(timed), "wide_batches": len(wide),
        "batch_s_p50": _p50(timed, 2), "wide_batch_s_p50": _p50(wide, 1),
        "timed_batch_s": [round(b["end"] - b["start"], 3) for b in timed],
        "driver_peak_rss_mb": round(max((s["rss_mb"] for s in samples), default=0)),
        "state_mb": round(int(size[0]) / 1024, 1) if size else None,
        "restart_s": round(first_new["end"] - float(restart_mark.read_text()), 1)
        if first_new and restart_mark.exists() else None,
    }
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "timed_batch_s"}))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.bench.fleet", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("data")
    d.add_argument("--sensors", type=int, required=True)
    d.add_argument("--warm", type=int, default=0, help="warm readings (at least --sensors)")
    d.add_argument("--active", type=int, default=1000)
    d.add_argument("--per-batch", type=int, default=30_000)
    d.add_argument("--batches", type=int, default=10)
    d.add_argument("--wide", type=int, default=4)
    d.add_argument("--out", required=True)
    m = sub.add_parser("mark")
    m.add_argument("--bootstrap", required=True)
    m.add_argument("--topic", required=True)
    m.add_argument("--out", required=True)
    s = sub.add_parser("summary")
    s.add_argument("--work", required=True)
    s.add_argument("--name", required=True)
    s.add_argument("--sensors", type=int, required=True)
    s.add_argument("--out", required=True)
    args = p.parse_args(argv)
    return {"data": data, "mark": mark, "summary": summary}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
