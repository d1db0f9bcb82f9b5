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
    """Starts merges after committed batches and hands on the ones that ended (`after_commit`);
    `close` waits for the one still running, or not.

    A merge that fails fails nothing else: the batches are committed, their files are all there
    (a merged file replaces batch files only once it is whole), and the next merge takes them
    again. It is reported (console, metrics) like one that ends well."""

    def __init__(self, sink: ParquetSink, every: int,
                 ended: Callable[[Merge], None] = lambda _: None) -> None:
        self.sink = sink
        self.every = every
        self.ended = ended  # called on the merge's own thread
        self._thread: threading.Thread | None = None
        self._done: list[Merge] = []
        self._due = False
        self._closed = False
        self._lock = threading.Lock()

    def after_commit(self, spark: SparkSession, batch_id: int) -> list[Merge]:
        """Called once `batch_id` is committed: returns the merges that ended since the last
        call; starts the next when one is due and none runs."""
        if self.every and batch_id and batch_id % self.every == 0:
            self._due = True
        if self._due and not self._closed and not self.running():
            self._due = False
            # Batches before this one are in Spark's commit log (it started this one).
            self._thread = threading.Thread(target=self._run, args=(spark, batch_id - 1),
                                            name="iot-compaction", daemon=True)
            self._thread.start()
        return self._take()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self, wait: bool = True) -> list[Merge]:
        """Starts no merge any more; waits for the one under way, if any and `wait` (without,
        the process may end in the middle of it: the next start finishes it). Returns the
        merges that ended since the last batch."""
        self._closed = True
        if wait and self._thread is not None:
            self._thread.join()
        return self._take()

    def _take(self) -> list[Merge]:
        with self._lock:
            done, self._done = self._done, []
        return done

    def _run(self, spark: SparkSession, upto: int) -> None:
        started = time.monotonic()
        try:
            files = self.sink.compact(spark, upto, pause=float(os.environ.get(PAUSE_ENV, 0)))
            merge = Merge(upto, files, time.monotonic() - started)
        except Exception as e:  # reported; the next merge takes the same files again
            merge = Merge(upto, 0, time.monotonic() - started, e)
        with self._lock:
            self._done.append(merge)
        self.ended(merge)


def describe(merge: Merge) -> str:
    """The console's line for a merge that ended."""
    if merge.error is not None:
        return (f"compaction: the merge of batches up to {merge.upto} failed after "
                f"{merge.seconds:.1f} s ({merge.error}); every file is still there, and the "
                "next merge takes them again")
    return (f"compaction: merged {merge.files} files of batches up to {merge.upto} in "
            f"{merge.seconds:.1f} s, beside the stream")
