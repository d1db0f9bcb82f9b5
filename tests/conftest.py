"""Shared fixtures: one SparkSession for every unit test, one real Kafka broker per test session."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
sys.path[:0] = [str(ROOT), str(ROOT / "jobs")]
# As in the job (iotstream/runner.py): collected timestamps are naive UTC times.
os.environ["TZ"] = "UTC"
time.tzset()
# Spark's Python workers run this interpreter (the venv's: pyarrow, pandas), as under submit.sh.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
# The tests' spark-submit runs are short-lived JVMs: compiled by the JIT's first tier only (as
# scripts/common.sh runs Kafka's tools), a job run of 6,000 readings here took 40% less CPU and 15%
# less time (docs/development.md). With the first tier only, the JVM's code cache is 48 MB unless
# set: too small for a long run's generated code. The session of the unit tests, which lives as
# long as its process, keeps the JVM's default (spark fixture); so do the job's own runs and the
# bench.
os.environ.setdefault("SPARK_SUBMIT_OPTS", "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m")

if TYPE_CHECKING:
    from iotstream.config import JobConfig


@cache
def configured() -> JobConfig:
    """conf/job.toml as the job loads it: where a test finds a setting it relies on and does not
    set itself (the job's runs without --config use it too)."""
    from iotstream.config import load_config

    return load_config(ROOT / "conf" / "job.toml")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_script(name: str, *args: str, env: dict[str, str] | None = None, check: bool = True,
               input_path: Path | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Runs scripts/<name> and returns the finished process (text output captured)."""
    stdin = input_path.open("rb") if input_path else subprocess.DEVNULL
    try:
        done = subprocess.run([str(SCRIPTS / name), *args], stdin=stdin, capture_output=True,
                              text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    finally:
        if input_path:
            stdin.close()
    if check and done.returncode != 0:
        raise AssertionError(f"{name} {' '.join(args)} exited {done.returncode}\n"
                             f"--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}")
    return done


_BESIDE = ThreadPoolExecutor(4, thread_name_prefix="script")


def run_script_beside(name: str, *args: str, **options) -> Future[subprocess.CompletedProcess]:
    """run_script in the background: the future's result() is the finished process (or
    run_script's error). Independent spark-submit runs overlap their JVM start-up, which mostly
    uses one core."""
    return _BESIDE.submit(run_script, name, *args, **options)


def run_scripts(*calls: tuple[str, ...]) -> list[subprocess.CompletedProcess]:
    """Runs several scripts at once, each call as run_script's arguments (name first), and
    returns them finished, in order."""
    started = [run_script_beside(*call) for call in calls]
    return [run.result() for run in started]


@pytest.fixture(scope="session")
def spark():
    """The one SparkSession of the unit tests: starting a JVM is the dearest thing a test does."""
    from pyspark.sql import SparkSession

    from iotstream import plan, step

    jar = ROOT / ".jars" / "engine" / step.JAR_NAME
    if not jar.exists():
        raise RuntimeError(f"{jar} is missing: run ./scripts/setup.sh")
    builder = SparkSession.builder.master("local[2]")
    for key, value in plan.SETTINGS.items():
        builder = builder.config(key, value)
    # Batches without records are the tests' to ask for (streamrun: StreamRun's `last`), so that
    # each StreamRun call runs the one batch it is given.
    builder = builder.config("spark.sql.streaming.noDataMicroBatches.enabled", "false")
    builder = (
        builder.config("spark.jars", str(jar))
        .appName("iot-tests")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions",
                f"-Dlog4j2.configurationFile=file:{ROOT / 'conf' / 'log4j2.properties'}")
    )
    # Started with the JVM's default compilers: it runs every unit test's queries (with the first
    # tier only, its code cache once filled up: "Out of space in CodeCache for adapters").
    submit_opts = os.environ.pop("SPARK_SUBMIT_OPTS", None)
    try:
        session = builder.getOrCreate()
    finally:
        if submit_opts is not None:
            os.environ["SPARK_SUBMIT_OPTS"] = submit_opts
    yield session
    session.stop()


class Broker:
    """A real Kafka broker started by scripts/kafka-start.sh on a free port."""

    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.env = {
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
            "KAFKA_HOME_DIR": str(home),
        }
        self.bootstrap = f"localhost:{self.port}"

    def create_topic(self, topic: str, partitions: int = 1, configs: dict[str, str] | None = None,
                     timeout: float = 60) -> None:
        """Creates a topic with kafka-python's admin client (kafka-topics.sh would start a JVM
        for each; test_cli runs that wrapper). A topic being deleted is waited for."""
        from kafka.admin import NewTopic
        from kafka.errors import TopicAlreadyExistsError

        with self._admin() as admin:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs or {})])
                    return
                except TopicAlreadyExistsError:  # still being deleted
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)

    def delete_topic(self, topic: str) -> None:
        with self._admin() as admin:
            admin.delete_topics([topic])

    def _admin(self) -> contextlib.closing:
        from kafka.admin import KafkaAdminClient

        return contextlib.closing(KafkaAdminClient(bootstrap_servers=self.bootstrap))

    def produce_file(self, topic: str, path: Path, *options: str) -> None:
        """Feeds a file of lines through Kafka's real console producer (more of its options,
        e.g. --property parse.key=true, after the path)."""
        run_script("kafka-console-producer.sh", "--bootstrap-server", self.bootstrap,
                   "--topic", topic, *options, env=self.env, input_path=path)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = Broker(tmp_path_factory.mktemp("kafka"))
    run_script("kafka-start.sh", env=b.env)
    try:
        yield b
    finally:
        run_script("kafka-stop.sh", "--purge", env=b.env, check=False)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end modules first (their job runs are the longest), each module's tests in
    their order: test.sh's two processes take whole modules in this order, so the long ones start
    first and the short ones fill in at the end."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)
