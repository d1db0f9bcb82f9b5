"""Writing the events to stdout: one JSON line each, in large batches, or paced at a rate.
The labels of the injected faults go to their CSV file as each event is formatted."""
from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from simulator.faults import AnomalyLabel

OUTPUT_BATCH_LINES = 4096  # join lines before writing: far fewer write calls
PACE_TICK_S = 0.005  # with --rate on stdout: write (and flush) what is due this often


def format_event(event: dict[str, Any]) -> str:
    """The event as one JSON line (no newline), keys in insertion order."""
    return json.dumps(event)


def event_lines(pairs: Iterable[tuple[dict[str, Any], list[AnomalyLabel]]],
                label_writer: Any = None) -> Iterator[str]:
    """Format each event; its labels go to the csv label_writer as it is made."""
    for event, labels in pairs:
        if label_writer is not None:
            for label in labels:
                label_writer.writerow(label)
        yield format_event(event)


def write_stdout(lines: Iterable[str], out: TextIO) -> int:
    """Write each line plus newline to out in large batches, flush; return lines written."""
    lines, written = iter(lines), 0
    while batch := list(itertools.islice(lines, OUTPUT_BATCH_LINES)):
        out.write("\n".join(batch) + "\n")
        written += len(batch)
    out.flush()
    return written


def write_paced(lines: Iterable[str], out: TextIO, rate: float, duration_s: float | None = None,
                stop: threading.Event | None = None) -> int:
    """Write lines at rate/s (0: flat out) until they run out, duration_s passes or stop is set;
    return lines written. Line i is due at start + i / rate on the monotonic clock (no drift);
    what is due is written and flushed every PACE_TICK_S, so a pipe reader gets it at once."""
    if rate == 0 and duration_s is None and stop is None:
        return write_stdout(lines, out)
    lines, stop, written = iter(lines), stop or threading.Event(), 0
    start = time.monotonic()
    deadline = start + duration_s if duration_s is not None else math.inf
    while not stop.is_set():
        now = time.monotonic()
        last = now >= deadline
        if last and rate == 0:
            break
        due = int((now - start) * rate) if rate > 0 else written + OUTPUT_BATCH_LINES
        if rate > 0 and duration_s is not None:
            due = min(due, int(duration_s * rate))  # exactly rate x duration in the end
        wanted = max(0, due - written)
        batch = list(itertools.islice(lines, wanted))
        if batch:
            out.write("\n".join(batch) + "\n")
            out.flush()
            written += len(batch)
        if last or len(batch) < wanted:  # the time is up, or the lines ran out
            break
        if rate > 0:
            stop.wait(PACE_TICK_S)
    out.flush()
    return written
