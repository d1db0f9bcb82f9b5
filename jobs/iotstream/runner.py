"""Runs the streaming query until it ends (available-now), fails, or is asked to stop."""

from __future__ import annotations

import logging
import os
import re
import signal
import sys
import threading
import time

from pyspark.errors import AnalysisException, StreamingQueryException
from pyspark.sql.streaming import StreamingQuery

from iotstream import plan, step, stream
from iotstream.alerts import AlertPublisher
from iotstream.config import ConfigError, JobConfig, checkpoint_location, local_path
from iotstream.console import describe
from iotstream.io.fs import qualified
from iotstream.io.offsets import BatchTails, InputEnd
from iotstream.io.tables import ParquetSink
from iotstream.metrics import Metrics, ProgressListener, serve
from iotstream.pipeline import BatchProcessor, StopRequested, model_files

NO_CONNECTOR = (
    "error: Spark has no Kafka source: the spark-sql-kafka-0-10 connector jars are not on the "
    "classpath. Run the job with ./scripts/submit.sh, or pass them to spark-submit with "
    "--jars (./scripts/setup.sh fetches them into .jars/spark) or --packages "
    "org.apache.spark:spark-sql-kafka-0-10_2.13:<your Spark version>."
)
POLL_SECONDS = 0.1
PYTHON_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Requested): ")


class StopRequest:
    """SIGINT/SIGTERM → stop after the running batch; a second signal → stop now.

    Raising KeyboardInterrupt inside a py4j call (pyspark's own SIGINT handler) leaves the
    gateway and the running batch in a mess; a flag that the main loop polls does not. Before
    the query starts, the first signal makes the job end instead of starting it; a second one
    raises KeyboardInterrupt (Spark is still starting: nothing to leave in a mess)."""

    def __init__(self) -> None:
        self.graceful = threading.Event()
        self.now = threading.Event()
        self.query_started = False

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.graceful.is_set():
            self.now.set()
            if not self.query_started:
                raise KeyboardInterrupt
            return
        self.graceful.set()
        # The next batch will end with StopRequested on purpose: py4j need not log it.
        logging.getLogger("py4j.clientserver").setLevel(logging.CRITICAL)
        print("iot-aggregator: stopping after the current batch (again to stop at once)"
              if self.query_started else
              "iot-aggregator: stopping once Spark has started (again to stop at once)",
              file=sys.stderr, flush=True)


def run(config: JobConfig) -> int:
    """Starts the session and the query and blocks; returns the process exit code."""
    # PySpark hands timestamps to Python as naive local times; with the driver in UTC they are
    # UTC, like the session's, so what the console prints and what is written back agree.
    os.environ["TZ"] = "UTC"
    time.tzset()
    stop = StopRequest()
    stop.install()  # first thing: a Ctrl-C while Spark starts is not lost
    try:
        spark = stream.build_session(config)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    stop.install()  # again: the SparkContext put its own handler for SIGINT in place
    try:
        # The per-sensor rules' settings, checked by the engine once, defaults included.
        try:
            config = step.resolve(spark, config)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        learned = config.detectors["learned"]
        config = config.with_overrides(
            output_dir=qualified(spark, config.output_dir),
            checkpoint_dir=qualified(spark, config.checkpoint_dir) if config.checkpoint_dir else None,
            detectors=config.detectors.changed("learned",
                                               model_dir=qualified(spark, learned["model_dir"])),
        )
        try:
            records = stream.read_kafka(spark, config)
        except AnalysisException as e:
            if stream.is_missing_kafka_source(e):
                print(NO_CONNECTOR, file=sys.stderr)
                return 2
            raise
        # Set when the job stops its queries (one failed, or it is done): a batch cut short
        # by that then ends quietly, to run again on the next start.
        closing = threading.Event()

        def stopping() -> bool:
            return stop.graceful.is_set() or closing.is_set()

        alerts = AlertPublisher(config) if config.alerts_topic else None
        try:
            metrics = _serve_metrics(spark, config)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        # A bounded run knows its end: the batch that reads every partition to its end.
        ends = (InputEnd(checkpoint_location(config), config.bootstrap_servers, config.topic,
                         dict(config.kafka_options)) if config.available_now else None)
        # The last record each partition brings in a batch: the batch judges its own readings.
        tails = BatchTails(checkpoint_location(config), config.bootstrap_servers, config.topic,
                           dict(config.kafka_options))
        processor = BatchProcessor(config, ParquetSink(config.output_dir), stopping=stopping,
                                   alerts=alerts, metrics=metrics, end_of_input=ends, tails=tails)
        print(f"iot-aggregator: {describe(config)}", flush=True)
        print(f"iot-aggregator: {stream.describe_resources(spark, config)}", flush=True)
        # Says which model the learned detector scores with, if any.
        processor.models.location(model_files(spark))
        _warn_if_node_local(spark.sparkContext.master, config)
        try:
            rows = plan.plan(records, config)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if stop.graceful.is_set():  # asked to stop while Spark was starting
            print("iot-aggregator: stopped before the query started", file=sys.stderr)
            return 130
        stop.query_started = True
        queries = [stream.start(rows, processor, config)]
        try:
            if _wait(queries, stop):
                print("iot-aggregator: stopped", file=sys.stderr)
                return 130
        except StreamingQueryException as e:
            if StopRequested.__name__ in str(e):  # the stop came at the start of a batch
                print("iot-aggregator: stopped", file=sys.stderr)
                return 130
            if "failOnDataLoss" in str(e):
                print(_data_loss_message(config, e), file=sys.stderr)
                return 1
            print(f"error: the streaming query failed: {_first_line(e)}\n(Spark's full report: set "
                  "logger.stream.level = error in conf/log4j2.properties)", file=sys.stderr)
            return 1
        finally:
            closing.set()
            for query in queries:
                query.stop()
            processor.close(wait=not stop.now.is_set())  # a second Ctrl-C does not wait
            if ends is not None:
                ends.close()
            tails.close()
        return 0
    finally:
        if config.alerts_topic:
            _close_alerts(spark)
        spark.stop()


def _serve_metrics(spark, config: JobConfig) -> Metrics | None:
    """The metrics, served on their address and port and fed Spark's progress reports (when
    asked for)."""
    if not config.metrics_port:
        return None
    metrics = Metrics(config.trigger_seconds)
    port, address = config.metrics_port, config.metrics_address
    try:
        serve(metrics, port, address)
    except OSError as e:
        at, fix = (f" of {address}", " or another --metrics-address HOST") if address else ("", "")
        raise ConfigError(f"cannot serve metrics on port {port}{at} ({e.strerror or e}); pick a "
                          f"free one with --metrics-port N{fix}") from None
    spark.streams.addListener(ProgressListener(metrics))
    return metrics


def _close_alerts(spark) -> None:
    """Closes the alerts' Kafka producer (sends what it still holds), if the engine is there."""
    try:
        step.engine(spark).Alerts.close()
    except Exception:  # noqa: BLE001 - no engine jar: no producer was made
        pass


def _warn_if_node_local(master: str, config: JobConfig) -> None:
    """On a cluster, output and checkpoint on a local file system work only if every node
    sees the same folder (a shared mount, or a cluster on one machine)."""
    if stream.is_local(master):
        return
    for name, location in (("output", config.output_dir),
                           ("checkpoint", checkpoint_location(config))):
        if local_path(location) is not None:
            print(f"iot-aggregator: warning: the {name} {location} is on a local file system; "
                  "on a cluster every node must see that same folder (a shared mount), or use "
                  "hdfs://, s3a://, ...", file=sys.stderr, flush=True)


def _wait(queries: list[StreamingQuery], stop: StopRequest) -> bool:
    """Blocks until every query has ended (False) or a stop request was carried out (True);
    raises the error of the first query that fails.

    A graceful stop happens between batches: here for a query that is idle, or by its next batch
    raising StopRequested before it does anything (when batches run back to back)."""
    while True:
        # One look at each query: a query that ends between two looks (one that fails at its
        # start, on a slow machine) must not count as ended without its error being asked for.
        ended = [q for q in queries if not q.isActive]
        for query in ended:
            query.awaitTermination()  # raises StreamingQueryException if it failed
            failed = query.exception()  # and so does this, should the first not have
            if failed is not None:
                raise failed
        active = [q for q in queries if q not in ended]
        if not active:
            return False
        if stop.now.is_set() or stop.graceful.is_set():
            for query in active:
                if stop.now.is_set() or not query.status["isTriggerActive"]:
                    query.stop()
            if not any(q.isActive for q in queries):
                return True
        active[0].awaitTermination(POLL_SECONDS)


def _data_loss_message(config: JobConfig, e: Exception) -> str:
    """Kafka no longer has records the checkpoint says are still to be read."""
    text = getattr(e, "desc", None) or str(e)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    detail = next((line for line in lines if "Partition " in line or "offset" in line.lower()),
                  lines[0] if lines else "")
    detail = detail.split(" Some data may have been lost")[0]
    return (
        f"error: records of topic {config.topic} that this job has not processed are gone from "
        f"Kafka (topic deleted or recreated, or aged out by retention): {detail}\n"
        "To go on from what Kafka still has, and skip what is gone for good, set "
        "fail_on_data_loss = false in [kafka] of the config (then restart); to start over, "
        "use a new --checkpoint-dir and --output-dir."
    )


def _first_line(e: Exception) -> str:
    """The error's first line, and the Python exception inside it when there is one."""
    lines = (getattr(e, "desc", None) or str(e)).strip().splitlines()
    if not lines:
        return type(e).__name__
    python = [line for line in lines if PYTHON_EXCEPTION.match(line)]
    return f"{lines[0]} — {python[-1]}" if python else lines[0]
