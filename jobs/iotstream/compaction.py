"""Compaction off the batch's path: the merge of the Parquet tables' batch files runs on a thread
of the driver of its own, while the stream goes on.

Every `compact_every_batches` batches, once a batch is committed, the batches before it (all in
Spark's commit log: never replayed) are merged (ParquetSink.compact). The batch does not wait:
its trigger keeps its cadence. One merge at a time; a batch that finds one still running leaves
its turn to the first batch after it ends, which merges everything due. The rules that keep it
safe are the sink's and the readers': a merged file is in place before the files it holds go,
every reader leaves those files out (io.layout), the next start removes any a kill left, and a
replayed batch (the first of a process, before any merge of that process starts) never has a
file in a merge.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import SparkSession

from iotstream.io.tables import ParquetSink

# A pause, in seconds, between a merged file's arrival and the removal of the files it holds:
# only for the tests that kill the job in the middle of a compaction (tests/test_crash.py).
PAUSE_ENV = "IOT_TEST_COMPACTION_PAUSE_SECONDS"


@dataclass(frozen=True)
class Merge:
    """A merge that has ended: the batches it covered, the files it merged, how long it took."""

    upto: int
    files: int
    seconds: float
    error: BaseException | None = None


class Compactor:
    """Starts merges after committed batches and reports the ones that ended (`after_commit`);
    `close` waits for the one still running."""

    def __init__(self, sink: ParquetSink, every: int,
                 ended: Callable[[Merge], None] = lambda _: None) -> None:
        self.sink = sink
        self.every = every
        self.ended = ended  # called on the merge's own thread
        self._thread: threading.Thread | None = None
        self._merge: Merge | None = None
        self._due = False
        self._lock = threading.Lock()

    def after_commit(self, spark: SparkSession, batch_id: int) -> Merge | None:
        """Called once `batch_id` is committed: returns the merge that ended since the last call,
        if any (raising the error of one that failed); starts the next when one is due and none
        runs."""
        with self._lock:
            ended, self._merge = self._merge, None
        if ended is not None and ended.error is not None:
            raise RuntimeError(f"the merge of batches up to {ended.upto} failed: "
                               f"{ended.error}") from ended.error
        if self.every and batch_id and batch_id % self.every == 0:
            self._due = True
        if self._due and not self.running():
            self._due = False
            # Batches before this one are in Spark's commit log (it started this one).
            self._thread = threading.Thread(target=self._run, args=(spark, batch_id - 1),
                                            name="iot-compaction", daemon=True)
            self._thread.start()
        return ended

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self, timeout: float | None = None) -> None:
        """Waits for the merge under way, if any (a kill instead leaves it for the next start
        to finish)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, spark: SparkSession, upto: int) -> None:
        started = time.monotonic()
        try:
            files = self.sink.compact(spark, upto, pause=float(os.environ.get(PAUSE_ENV, 0)))
            merge = Merge(upto, files, time.monotonic() - started)
        except BaseException as e:  # reported by the next batch, which then fails the query
            merge = Merge(upto, 0, time.monotonic() - started, e)
        with self._lock:
            self._merge = merge
        if merge.error is None:
            self.ended(merge)
