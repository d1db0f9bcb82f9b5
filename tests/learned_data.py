"""Readings tables and models for the learned detector's tests: a `readings` table laid out as
the job writes it (pyarrow, no Spark), and a model trained on one by iotstream.train."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import ROOT
from iotstream import train

START = datetime(2026, 1, 1, tzinfo=UTC)


def noisy_readings(sensors: int, per_sensor: int, seed: int) -> list[dict]:
    """Sensors around their own levels with noise, a spike now and then; 10 s apart."""
    rnd = random.Random(seed)
    rows = []
    for s in range(sensors):
        level = rnd.uniform(40, 80)
        for i in range(per_sensor):
            value = level + rnd.gauss(0, 0.8) + (rnd.choice((-12, 15)) if rnd.random() < 0.01 else 0)
            rows.append({"guid": f"s{s:03d}", "event_time": START + timedelta(seconds=10 * i),
                         "temperature": round(value, 2), "late": False})
    return rows


def write_readings(output_dir: Path, rows: list[dict]) -> None:
    """The rows as the job's `readings` table (the columns train.py reads; one date folder)."""
    folder = output_dir / "readings" / "date=2026-01-01"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({
        "batch_id": pa.array([0] * len(rows), pa.int64()),
        "guid": pa.array([r["guid"] for r in rows], pa.string()),
        "state": pa.array(["CA"] * len(rows), pa.string()),
        "event_time": pa.array([r["event_time"] for r in rows], pa.timestamp("us", "UTC")),
        "temperature": pa.array([r["temperature"] for r in rows], pa.float64()),
        "late": pa.array([r["late"] for r in rows], pa.bool_()),
        "kafka_partition": pa.array([0] * len(rows), pa.int32()),
        "kafka_offset": pa.array(range(len(rows)), pa.int64()),
    })
    pq.write_table(table, folder / "part-b000000000000-000.parquet")
    # Batch 0 complete, as the job leaves it: its batch_totals row (readers read complete batches).
    totals = output_dir / "batch_totals" / "date=2026-01-01"
    totals.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"batch_id": pa.array([0], pa.int64())}),
                   totals / "part-b000000000000-000.parquet")


def trained_model(work: Path, model_dir: Path, seed: int = 0, budget: float = 30.0,
                  sensors: int = 12, per_sensor: int = 120) -> Path:
    """A model trained by train.py on a table of noisy readings, its threshold set for `budget`
    findings per sensor-day on them (12 sensors of 120 readings 10 s apart: 0.165 sensor-days);
    returns the artifact."""
    out = work / f"train-out-{seed}"
    write_readings(out, noisy_readings(sensors, per_sensor, seed))
    args = train.parse_args(["--output-dir", str(out), "--model-dir", str(model_dir),
                             "--config", str(ROOT / "conf" / "job.toml"), "--seed", str(seed),
                             "--findings-per-sensor-day", str(budget), "--trees", "50"])
    location, _ = train.train(args)
    return Path(location)
