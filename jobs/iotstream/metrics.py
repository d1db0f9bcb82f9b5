"""What an operator alerts on, served to Prometheus by `prometheus_client` from an HTTP port of
the driver (`--metrics-port`, `--metrics-address`, `[metrics]`; off by default): batch durations
against the trigger, the time since the latest batch, the ledger's terms, anomalies by detector,
quarantined records by reason, the watermark's delay, compactions, and, from Spark's progress
reports, input and processed rows per second and the Kafka lag.

Counters and histograms count from the start of the process (Prometheus' `rate()` and
`increase()` take a restart in their stride); gauges hold the latest figures.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from wsgiref.simple_server import WSGIServer

import prometheus_client as prom
import pyarrow as pa
import pyarrow.compute as pc
from prometheus_client.core import GaugeMetricFamily, Metric
from pyspark.sql import DataFrame
from pyspark.sql.streaming import StreamingQueryListener

from iotstream.config import ALL_INTERFACES

LEDGER = ("consumed", "accepted", "quarantined", "duplicates", "late", "time_adjusted")
# Batch durations about the 3 s trigger: fine below it, coarser up to a minute.
BATCH_BUCKETS = (0.25, 0.5, 1, 1.5, 2, 3, 4.5, 6, 9, 15, 30, 60)
# A compaction merges every table's files of compact_every_batches batches: seconds to minutes.
COMPACTION_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
# The latest figures: name → help. Each is exposed once it is known (a 0 before then would read as
# a real figure), but the trigger and the time since the latest batch, known from the start.
GAUGES = {
    "iot_trigger_seconds": "The micro-batch trigger interval.",
    "iot_seconds_since_last_batch": "Seconds since the latest batch completed (before the first: "
                                    "since the metrics were served); grows while the stream stalls.",
    "iot_last_batch_duration_seconds": "How long the latest batch's work took.",
    "iot_last_batch_id": "Id of the latest batch completed.",
    "iot_last_batch_timestamp_seconds": "When the latest batch ran (Unix time).",
    "iot_watermark_delay_seconds": "The latest batch's time less the event-time watermark after it.",
    "iot_sensors": "Distinct sensors since the start of the checkpoint.",
    "iot_input_rows_per_second": "Spark's input rate of the latest progress report.",
    "iot_processed_rows_per_second": "Spark's processing rate of the latest progress report.",
    "iot_kafka_offsets_behind_latest": "Kafka lag: the most records any partition of the topic "
                                       "is behind its latest offset.",
}

# Counters and histograms would each add a `<name>_created` series, which Prometheus' text format
# carries as one more gauge per series, saying no more than the job's start. The switch is the
# library's, for the whole process; the job's metrics are its only ones.
prom.disable_created_metrics()


class Metrics:
    """The figures, updated by the batch handler, the compaction and Spark's progress reports;
    `registry` is what Prometheus scrapes (`render()` its text). Safe across threads: a scrape
    sees each update whole."""

    def __init__(self, trigger_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._last_completed = clock()
        self._latest: dict[str, float] = {"iot_trigger_seconds": float(trigger_seconds)}
        # Collected by `collect` under the lock, so registered nowhere themselves.
        self._batches = prom.Counter("iot_batches_total", "Micro-batches completed by this process.",
                                     registry=None)
        self._records = prom.Counter(
            "iot_records_total", "Kafka records by ledger term: consumed = accepted + quarantined "
            "+ duplicates; late and time_adjusted are accepted ones.", ["term"], registry=None)
        self._anomalies = prom.Counter("iot_anomalies_total", "Anomaly rows written, by detector.",
                                       ["detector"], registry=None)
        self._quarantined = prom.Counter("iot_quarantined_total", "Quarantined records, by reason.",
                                         ["reason"], registry=None)
        self._durations = prom.Histogram("iot_batch_duration_seconds", "How long batches' work took.",
                                         buckets=BATCH_BUCKETS, registry=None)
        self._compactions = prom.Histogram(
            "iot_compaction_duration_seconds", "How long merging the tables' batch files took.",
            buckets=COMPACTION_BUCKETS, registry=None)
        self._compaction_failures = prom.Counter(
            "iot_compaction_failures_total", "Merges of batch files that failed (the next merge "
            "takes the same files again).", registry=None)
        self._compacted = prom.Counter("iot_compacted_files_total",
                                       "Batch files merged into larger ones.", registry=None)
        for term in LEDGER:  # every term from the start, at 0
            self._records.labels(term)
        self.registry = prom.CollectorRegistry()
        self.registry.register(self)

    def batch(self, totals: Mapping[str, Any], seconds: float, anomalies: pa.Table,
              reasons: Mapping[str, int]) -> None:
        """A completed batch: its batch_totals row, how long it took, its anomaly rows and its
        quarantined records by reason (quarantine_reasons)."""
        detectors = Counter(anomalies.column("detector").to_pylist()) if anomalies.num_rows \
            else Counter()
        latest = {"iot_last_batch_duration_seconds": seconds,
                  "iot_last_batch_id": totals["batch_id"],
                  "iot_last_batch_timestamp_seconds": _unix(totals["batch_time"]),
                  "iot_sensors": totals.get("total_sensors") or 0}
        if totals.get("watermark") is not None:
            latest["iot_watermark_delay_seconds"] = (_unix(totals["batch_time"])
                                                     - _unix(totals["watermark"]))
        with self._lock:
            self._batches.inc()
            self._durations.observe(seconds)
            for term in LEDGER:
                self._records.labels(term).inc(totals.get(term) or 0)
            for detector, n in detectors.items():
                self._anomalies.labels(detector).inc(n)
            for reason, n in reasons.items():
                self._quarantined.labels(reason).inc(n)
            self._latest.update(latest)
            self._last_completed = self._clock()

    def compaction(self, seconds: float, files: int, ok: bool = True) -> None:
        """A merge of batch files that ended: how long it took, how many batch files it merged
        (ParquetSink.compact's count), and whether it failed."""
        with self._lock:
            self._compactions.observe(seconds)
            self._compacted.inc(files)
            if not ok:
                self._compaction_failures.inc()

    def progress(self, report: Mapping[str, Any]) -> None:
        """One of Spark's progress reports of the query (StreamingQueryProgress as JSON)."""
        behind = [float(s["metrics"]["maxOffsetsBehindLatest"]) for s in report.get("sources", [])
                  if (s.get("metrics") or {}).get("maxOffsetsBehindLatest") is not None]
        with self._lock:
            for name, key in (("iot_input_rows_per_second", "inputRowsPerSecond"),
                              ("iot_processed_rows_per_second", "processedRowsPerSecond")):
                if report.get(key) is not None:
                    self._latest[name] = float(report[key])
            if behind:
                self._latest["iot_kafka_offsets_behind_latest"] = max(behind)

    def collect(self) -> Iterable[Metric]:
        """Every metric as it is now (prometheus_client's Collector)."""
        with self._lock:
            families = [f for m in (self._batches, self._records, self._anomalies,
                                    self._quarantined, self._durations, self._compactions,
                                    self._compacted, self._compaction_failures)
                        for f in m.collect()]
            latest = {**self._latest,
                      "iot_seconds_since_last_batch": self._clock() - self._last_completed}
        return families + [GaugeMetricFamily(name, text, value=latest[name])
                           for name, text in GAUGES.items() if name in latest]

    def render(self) -> str:
        """What a scrape gets: Prometheus' text format."""
        return prom.generate_latest(self.registry).decode()


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


def serve(metrics: Metrics, port: int, address: str = "") -> WSGIServer:
    """Serves `metrics` on http://<address>:port/metrics ("" = every interface) from a thread of
    its own (prometheus_client answers on any path); `shutdown()` on the returned server stops
    it. Raises OSError when the address cannot be bound."""
    server, _ = prom.start_http_server(port, addr=address or ALL_INTERFACES,
                                       registry=metrics.registry)
    return server
