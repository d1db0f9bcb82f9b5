"""What the job prints: its settings in one line when it starts (describe), and the block for
every micro-batch. Plain text, aligned tables, no Spark."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iotstream.config import JobConfig, checkpoint_location, redacted

RULE_WIDTH = 78
ACTIONS = {"quarantine": "quarantined", "adjust": "adjusted"}  # the event-time policy's


@dataclass(frozen=True)
class BatchReport:
    """What one micro-batch produced, already collected to the driver."""

    batch_id: int
    batch_time: datetime
    totals: Mapping[str, int]  # the batch_totals row's counts
    state_stats: Sequence[Mapping[str, Any]]  # rows of the state_stats table, hottest first
    anomalies: Sequence[Mapping[str, Any]]  # up to max_anomaly_rows anomaly rows
    seconds: float | None = None  # how long the batch's work took, when known
    windows_written: int = 0  # window_stats rows the batch wrote (windows closed or restated)
    windows_restated: int = 0  # of them, windows that late readings restated
    state_totals: Sequence[Mapping[str, Any]] = ()  # state_totals rows after the batch
    # Where the batch's time went: (phase, seconds) on the batch's own thread, in order.
    phases: Sequence[tuple[str, float]] = ()
    end_of_input: bool = False  # the batch read every partition to its end (--available-now)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Aligned text table: numbers right-aligned, text left-aligned, floats with 2 decimals."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells]


def side_by_side(left: list[str], right: list[str], gap: int = 6) -> list[str]:
    """Two blocks of lines printed next to each other."""
    width = max((len(s) for s in left), default=0) + gap
    rows = max(len(left), len(right))
    left = left + [""] * (rows - len(left))
    right = right + [""] * (rows - len(right))
    return [(a.ljust(width) + b).rstrip() for a, b in zip(left, right, strict=True)]


def render(report: BatchReport) -> str:
    """The whole block for one batch, ending with a newline."""
    t = report.totals
    when = report.batch_time.strftime("%Y-%m-%d %H:%M:%S UTC")
    took = f" · {report.seconds:.2f} s" if report.seconds is not None else ""
    if report.phases:
        took += " (" + " · ".join(f"{name} {sec:.2f}" for name, sec in report.phases) + ")"
    head = f"== Batch {report.batch_id} · {when}{took} "
    lines = [head + "=" * max(0, RULE_WIDTH - len(head))]
    lines.append(
        f"Messages: {t['messages']:,} in batch · {t['running_messages']:,} since start    "
        f"Sensors: {t['sensors']:,} in batch · {t['total_sensors']:,} since start    "
        f"States: {t['states']}    Anomalies: {t['anomalies']:,}"
    )
    notes = [f"{t['late']:,} late: in late_events"] if t["late"] else []
    if t.get("time_adjusted"):
        notes.append(f"{t['time_adjusted']:,} time-adjusted: in clock_errors")
    accepted = f" ({'; '.join(notes)})" if notes else ""
    conflicts = f" ({t['conflicts']:,} conflicting)" if t.get("conflicts") else ""
    lines.append(
        f"Ledger: {t['consumed']:,} records read = {t['accepted']:,} accepted{accepted}"
        f" + {t['quarantined']:,} quarantined + {t.get('duplicates') or 0:,} duplicates{conflicts}"
    )
    mark = t["watermark"].strftime("%Y-%m-%d %H:%M:%S UTC") if t["watermark"] else "none yet"
    restated = (f", {report.windows_restated:,} of them restating a window with late readings"
                if report.windows_restated else "")
    lines.append(f"Event time: watermark {mark} · {report.windows_written:,} window rows written"
                 f"{restated} (window_stats)")
    if report.end_of_input:
        judged = t.get("judged_until")
        lines.append("End of input: every partition read to its end. The clock moves past every "
                     "reading read, so every window is written; the next batch judges each "
                     "sensor's last readings (to "
                     f"{judged:%Y-%m-%d %H:%M:%S} UTC)." if judged else
                     "End of input: every partition read to its end.")
    lines.append("")
    by_avg = format_table(
        ["state", "avg °F", "min °F", "max °F", "messages"],
        [
            (r["state"], r["avg_temperature"], r["min_temperature"], r["max_temperature"], r["messages"])
            for r in report.state_stats
        ],
    )
    since = {r["state"]: r for r in report.state_totals}
    by_state = format_table(
        ["state", "sensors", "since start", "avg °F since start"],
        [(r["state"], r["sensors"], since.get(r["state"], {}).get("sensors"),
          since.get(r["state"], {}).get("avg_temperature"))
         for r in sorted(report.state_stats, key=lambda r: r["state"])],
    )
    lines.append(side_by_side(["Average temperature by state"], ["Distinct sensors by state"])[0])
    lines += side_by_side(by_avg, by_state)
    lines.append("")
    if t["anomalies"]:
        shown = len(report.anomalies)
        more = f" (first {shown} of {t['anomalies']:,}; all in Parquet)" if shown < t["anomalies"] else ""
        lines.append(f"Anomalies{more}")
        lines += anomaly_table(report.anomalies)
    else:
        lines.append("Anomalies: none")
    return "\n".join(lines) + "\n"


def anomaly_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return format_table(
        ["guid", "state", "event time", "°F", "band", "detector", "reason", "score"],
        [
            (a["guid"], a["state"], a["event_time"], a["temperature"],
             f"{a['band_low']:.1f}..{a['band_high']:.1f}", a["detector"], a["reason"], a["score"])
            for a in rows
        ],
    )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return "" if value is None else str(value)


def describe(config: JobConfig) -> str:
    """The job's settings in one line (printed at the start, and by --check)."""
    mode = "available-now (drain, then exit)" if config.available_now else (
        f"every {config.trigger_seconds:g} s")
    options = ", ".join(f"{k}={v}" for k, v in sorted(redacted(config.kafka_options).items()))
    detectors = ", ".join(config.detectors.enabled()) or "none"
    alerts = f"alerts to {config.alerts_topic}" if config.alerts_topic else "no alerts"
    if config.metrics_port:
        alerts += f"; metrics on port {config.metrics_port} (/metrics)"
    return (
        f"topic {config.topic} at {config.bootstrap_servers}, {mode}; "
        f"output {config.output_dir}, checkpoint {checkpoint_location(config)}; "
        f"windows {config.window_seconds:g} s, watermark {config.watermark_seconds:g} s behind "
        f"the slowest partition (idle after {config.idle_timeout_seconds:g} s), late readings "
        f"restate windows for {config.restate_horizon_seconds:g} s; "
        f"event time {_limits(config)}; "
        f"detectors {detectors}; {alerts}"
        + (f"; Kafka options: {options}" if options else "")
    )


def _limits(config: JobConfig) -> str:
    sides = [f"at most {seconds:g} s {side}" if seconds else f"any time {side}"
             for seconds, side in ((config.max_past_seconds, "before"),
                                   (config.max_future_seconds, "after"))]
    return (f"{' and '.join(sides)} its Kafka timestamp, else "
            f"{ACTIONS[config.time_policy]}")
