"""Where the benchmark's figures come from (tools.bench's parts): a query's committed batches
from its checkpoint, the memory of a process tree from /proc, and Kafka's end offsets and record
timestamps. `monitor` samples them while a run lasts."""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

# --- checkpoints -----------------------------------------------------------------------------

def _json_lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def _offsets(source: dict[str, dict[str, int]]) -> dict[tuple[str, int], int]:
    return {(topic, int(p)): o for topic, parts in source.items() for p, o in parts.items()}


def batches(checkpoint: Path) -> list[dict[str, Any]]:
    """The committed batches of a query: id, start and commit time (epoch s), rows read."""
    start_file = checkpoint / "sources" / "0" / "0"
    before = _offsets(_json_lines(start_file)[0]) if start_file.exists() else {}
    out = []
    commits = checkpoint / "commits"
    ids = sorted(int(p.name) for p in (checkpoint / "offsets").iterdir() if p.name.isdigit()) \
        if (checkpoint / "offsets").is_dir() else []
    for batch_id in ids:
        meta, source = _json_lines(checkpoint / "offsets" / str(batch_id))[:2]
        end = _offsets(source)
        commit = commits / str(batch_id)
        if not commit.exists():
            break
        rows = sum(o - before.get(tp, 0) for tp, o in end.items())
        out.append({"id": batch_id, "start": meta["batchTimestampMs"] / 1000,
                    "end": commit.stat().st_mtime, "rows": rows, "offsets": end,
                    "before": dict(before)})
        before = end
    return out


def committed(checkpoint: Path) -> dict[tuple[str, int], int]:
    """The offsets up to which the query has committed output (empty before its first batch)."""
    done = batches(checkpoint)
    return done[-1]["offsets"] if done else {}


# --- process memory --------------------------------------------------------------------------

def _status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _kb(value: str | None) -> int:
    return int(value.split()[0]) if value else 0


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            ppid = _kb(_status(int(entry)).get("PPid"))
            children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


# --- monitor ---------------------------------------------------------------------------------

def monitor(args: argparse.Namespace) -> int:
    """Samples once per interval until the process ends or SIGTERM: Kafka's end offsets, what
    each checkpoint has committed, and the process tree's resident memory."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, enable_auto_commit=False)
    partitions = [TopicPartition(args.topic, p) for p in sorted(consumer.partitions_for_topic(args.topic))]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    with open(args.out, "a") as out:
        while not stop and Path(f"/proc/{args.pid}").exists():
            ends = consumer.end_offsets(partitions)
            tree = process_tree(args.pid)
            sample = {
                "t": time.time(),
                "end": sum(ends.values()),
                "committed": [sum(committed(Path(c)).values()) for c in args.checkpoint],
                "rss_mb": sum(_kb(_status(p).get("VmRSS")) for p in tree) / 1024,
                "jvm_hwm_mb": _kb(_status(args.pid).get("VmHWM")) / 1024,
            }
            out.write(json.dumps(sample) + "\n")
            out.flush()
            time.sleep(args.interval)
    consumer.close()
    return 0


# --- record timestamps and latency -----------------------------------------------------------

def record_latencies(bootstrap: str, done: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(Kafka timestamp, seconds until its batch's commit) of every record the batches read."""
    from kafka import KafkaConsumer, TopicPartition

    if not done:
        return []
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             max_partition_fetch_bytes=8 << 20, fetch_max_bytes=64 << 20)
    out = []
    for (topic, p) in sorted(done[-1]["offsets"]):
        tp = TopicPartition(topic, p)
        # batch i covers [before, end) of this partition; commit times by batch
        ranges = [(b["before"].get((topic, p), 0), b["offsets"][(topic, p)], b["end"]) for b in done]
        first, last = ranges[0][0], ranges[-1][1]
        if last <= first:
            continue
        consumer.assign([tp])
        consumer.seek(tp, first)
        i = 0
        while True:
            polled = consumer.poll(timeout_ms=5000, max_records=100_000).get(tp, [])
            if not polled:
                break
            for record in polled:
                if record.offset >= last:
                    break
                while record.offset >= ranges[i][1]:
                    i += 1
                ts = record.timestamp / 1000
                out.append((ts, ranges[i][2] - ts))
            if polled[-1].offset >= last - 1:
                break
    consumer.close()
    return out
