"""What a batch hands from compute to commit: `BatchResult` (every table's rows, the state kept,
the anomalies to publish), the `JobState` the next batch starts from, and `SparkTable`, the one
kind of rows left for the commit to compute (by writing them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame

from iotstream import console


@dataclass(frozen=True)
class JobState:
    """The job's state after a batch, which the next batch starts from: running figures, the
    event-time clock (`watermark`) and the rules' clock (`judged_until`), the partitions' clocks,
    the open windows and those closed within the restate horizon. A new process reads it back
    from the last batch's rows and saved state."""

    batch_id: int
    running_messages: int = 0
    total_sensors: int = 0
    watermark: datetime | None = None  # naive UTC
    # state → messages, sensors, readings, total (sum of readings) since the start
    state_totals: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    open_windows: tuple[Mapping[str, Any], ...] = ()
    closed_windows: tuple[Mapping[str, Any], ...] = ()  # with the revision last written
    partitions: tuple[Mapping[str, Any], ...] = ()  # windows.PARTITION_STATE_SCHEMA rows
    judged_until: datetime | None = None  # naive UTC


@dataclass(frozen=True)
class SparkTable:
    """A table's rows of the batch that are more than the driver should take (a burst of bad
    records, a fleet's broken clocks, every reading of a large batch): a DataFrame over the
    cached batch, not computed yet. The commit has Spark write it, so this table's Spark job
    runs there: the one part of a batch's results that compute leaves for later."""

    rows: DataFrame


@dataclass(frozen=True)
class BatchResult:
    """Everything a batch writes: rows per table (Arrow, or a SparkTable), batch_totals' row with
    the seconds the batch took to compute, the windows and partition clocks kept after it, the
    anomalies to publish, and the state the next batch starts from."""

    batch_id: int
    batch_time: datetime
    tables: Mapping[str, pa.Table | SparkTable]
    windows: pa.Table
    partitions: pa.Table
    alerts: pa.Table
    state: JobState
    report: console.BatchReport
