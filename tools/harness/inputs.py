"""The profiling harness's input (tools.harness: __main__.py, floor.py): the job's Kafka columns
(value, partition, offset, timestamp) from the seeded simulator, stored as one Parquet file per
micro-batch, and the stream that reads them back one file per trigger. No broker is needed and
every run sees the same batches. Imports neither __main__.py nor floor.py."""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the checkout (this is tools/harness/inputs.py)
KAFKA_SCHEMA = "value binary, partition int, offset bigint, timestamp timestamp"


def prepare_input(folder: Path, args: argparse.Namespace) -> Path:
    """One Parquet file of Kafka-shaped records per batch, from the seeded simulator."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = folder / "input"
    data.mkdir(parents=True, exist_ok=True)
    total = args.batches * args.records
    lines = subprocess.run(
        [sys.executable, str(ROOT / "iotsimulator.py"), str(total), "--seed", "42",
         "--sensors", str(args.sensors), "--event-interval", f"{1 / args.rate:.9f}",
         "--anomaly-rate", str(args.anomaly_rate)],
        check=True, capture_output=True).stdout.splitlines()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for b in range(args.batches):
        chunk = lines[b * args.records:(b + 1) * args.records]
        n = len(chunk)
        stamp = start + timedelta(seconds=b * args.records / args.rate)
        table = pa.table({
            "value": pa.array(chunk, pa.binary()),
            "partition": pa.array([i % 3 for i in range(n)], pa.int32()),
            "offset": pa.array([b * args.records // 3 + i // 3 for i in range(n)], pa.int64()),
            "timestamp": pa.array([stamp] * n, pa.timestamp("us", tz="UTC")),
        })
        pq.write_table(table, data / f"batch-{b:05d}.parquet")
    return data


def read_batches(spark: Any, data: Path) -> Any:
    """A streaming DataFrame of the prepared batches, one file per trigger, with the columns the
    job's plan reads from Kafka (iotstream.parse's KAFKA_COLUMNS and BATCH_TIME)."""
    from pyspark.sql import functions as F

    from iotstream.parse import BATCH_TIME, KAFKA_COLUMNS

    return (spark.readStream.schema(KAFKA_SCHEMA).option("maxFilesPerTrigger", 1)
            .parquet(str(data)).select(*KAFKA_COLUMNS, F.current_timestamp().alias(BATCH_TIME)))
