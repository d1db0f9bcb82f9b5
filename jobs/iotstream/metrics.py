"""What an operator alerts on, in Prometheus' text format, on an HTTP port of the driver
(`--metrics-port`, `[metrics] port`; off by default): batch duration against the trigger, the
ledger's terms, anomalies by detector, quarantined records by reason, the watermark's delay,
and, from Spark's progress reports, input and processed rows per second and the Kafka lag.

Counters count from the start of the process (Prometheus' `rate()` and `increase()` take a
restart in their stride); gauges hold the latest batch's figures.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame
from pyspark.sql.streaming import StreamingQueryListener

PATH = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LEDGER = ("consumed", "accepted", "quarantined", "duplicates", "late", "time_adjusted")
# name → (type, help)
HELP = {
    "iot_batches_total": ("counter", "Micro-batches completed by this process."),
    "iot_records_total": ("counter", "Kafka records by ledger term: consumed = accepted + "
                          "quarantined + duplicates; late and time_adjusted are accepted ones."),
    "iot_anomalies_total": ("counter", "Anomaly rows written, by detector."),
    "iot_quarantined_total": ("counter", "Quarantined records, by reason."),
    "iot_batch_duration_seconds": ("gauge", "How long the latest batch's work took."),
    "iot_trigger_seconds": ("gauge", "The micro-batch trigger interval."),
    "iot_last_batch_id": ("gauge", "Id of the latest batch completed."),
    "iot_last_batch_timestamp_seconds": ("gauge", "When the latest batch ran (Unix time)."),
    "iot_watermark_delay_seconds": ("gauge", "The latest batch's time less the event-time "
                                    "watermark after it."),
    "iot_sensors": ("gauge", "Distinct sensors since the start of the checkpoint."),
    "iot_input_rows_per_second": ("gauge", "Spark's input rate of the latest progress report."),
    "iot_processed_rows_per_second": ("gauge", "Spark's processing rate of the latest progress "
                                      "report."),
    "iot_kafka_offsets_behind_latest": ("gauge", "Kafka lag: the most records any partition "
                                        "of the topic is behind its latest offset."),
}


class Metrics:
    """The figures, updated by the batch handler and Spark's progress reports; `render()` is
    the text Prometheus scrapes. Safe across threads."""

    def __init__(self, trigger_seconds: float) -> None:
        self._lock = threading.Lock()
        self._counters: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self._gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {
            ("iot_trigger_seconds", ()): trigger_seconds}

    def batch(self, totals: Mapping[str, Any], seconds: float, anomalies: pa.Table,
              reasons: Mapping[str, int]) -> None:
        """A completed batch: its batch_totals row, how long it took, its anomaly rows and its
        quarantined records by reason (quarantine_reasons)."""
        detectors = Counter(anomalies.column("detector").to_pylist()) if anomalies.num_rows \
            else Counter()
        with self._lock:
            self._counters[("iot_batches_total", ())] += 1
            for term in LEDGER:
                self._counters[("iot_records_total", (("term", term),))] += totals.get(term) or 0
            for detector, n in detectors.items():
                self._counters[("iot_anomalies_total", (("detector", detector),))] += n
            for reason, n in reasons.items():
                self._counters[("iot_quarantined_total", (("reason", reason),))] += n
            self._gauges[("iot_batch_duration_seconds", ())] = seconds
            self._gauges[("iot_last_batch_id", ())] = totals["batch_id"]
            self._gauges[("iot_last_batch_timestamp_seconds", ())] = _unix(totals["batch_time"])
            if totals.get("watermark") is not None:
                self._gauges[("iot_watermark_delay_seconds", ())] = (
                    _unix(totals["batch_time"]) - _unix(totals["watermark"]))
            self._gauges[("iot_sensors", ())] = totals.get("total_sensors") or 0

    def progress(self, report: Mapping[str, Any]) -> None:
        """One of Spark's progress reports of the query (StreamingQueryProgress as JSON)."""
        behind = [float(s["metrics"]["maxOffsetsBehindLatest"]) for s in report.get("sources", [])
                  if (s.get("metrics") or {}).get("maxOffsetsBehindLatest") is not None]
        with self._lock:
            for name, key in (("iot_input_rows_per_second", "inputRowsPerSecond"),
                              ("iot_processed_rows_per_second", "processedRowsPerSecond")):
                if report.get(key) is not None:
                    self._gauges[(name, ())] = float(report[key])
            if behind:
                self._gauges[("iot_kafka_offsets_behind_latest", ())] = max(behind)

    def render(self) -> str:
        with self._lock:
            values = {**{k: float(v) for k, v in self._counters.items()}, **self._gauges}
        lines = []
        for name, (kind, text) in HELP.items():
            series = sorted((labels, v) for (n, labels), v in values.items() if n == name)
            if not series:
                continue
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            for labels, value in series:
                tags = ",".join(f'{k}="{_escaped(v)}"' for k, v in labels)
                lines.append(f"{name}{{{tags}}} {value:g}" if tags else f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def quarantine_reasons(quarantine: pa.Table | DataFrame | None) -> Counter[str]:
    """A batch's quarantine rows (Arrow, or a DataFrame over the cached batch when they were too
    many for the driver) counted by reason."""
    if quarantine is None:
        return Counter()
    if isinstance(quarantine, DataFrame):  # many: counted by Spark
        return Counter({r["reason"]: r["count"] for r in quarantine.groupBy("reason").count()
                        .collect()})
    counts = pc.value_counts(quarantine.column("reason")).to_pylist()
    return Counter({c["values"]: c["counts"] for c in counts})


def _unix(moment: datetime) -> float:
    """A naive UTC datetime (the driver's convention) as Unix seconds."""
    return moment.replace(tzinfo=UTC).timestamp() if moment.tzinfo is None else moment.timestamp()


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class ProgressListener(StreamingQueryListener):
    """Hands Spark's progress reports of the job's queries to the metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def onQueryStarted(self, event: Any) -> None:
        pass

    def onQueryProgress(self, event: Any) -> None:
        self.metrics.progress(json.loads(event.progress.json))

    def onQueryIdle(self, event: Any) -> None:
        pass

    def onQueryTerminated(self, event: Any) -> None:
        pass


def serve(metrics: Metrics, port: int) -> ThreadingHTTPServer:
    """Serves `metrics` on http://<driver>:port/metrics from a thread of its own; `shutdown()`
    on the returned server stops it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path.split("?")[0] != PATH:
                self.send_error(404, f"metrics are at {PATH}")
                return
            body = metrics.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:  # scrapes are not the console's business
            pass

    server = ThreadingHTTPServer(("", port), Handler)
    threading.Thread(target=server.serve_forever, name="iot-metrics", daemon=True).start()
    return server
