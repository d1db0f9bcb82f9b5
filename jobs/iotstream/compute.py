"""A micro-batch's results, computed and not written: `compute(batch, state before) → BatchResult`.

Two Spark jobs over the batch (the per-sensor step's output, cached by the caller): one
aggregation that brings per-state, whole-batch and per-window figures to the driver, then one
pass that brings the few rows every other table needs (anomalies, late and quarantined records,
new sensors). The driver merges the small parts: windows, totals since the start, the tables.
Every table's rows are computed here, as Arrow, except a table with more rows than the driver
should take: that one is a `SparkTable`, which the commit has Spark write.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame

from iotstream import console, records, windows
from iotstream.config import JobConfig
from iotstream.contract import DUPLICATE, QUARANTINED, READING
from iotstream.detectors import WINDOW_RULES
from iotstream.io.arrow import naive, to_arrow
from iotstream.queries import CLOCK_SQL, FIGURES_SQL, SIDE_SQL, VIEW
from iotstream.results import BatchResult, JobState, SparkTable
from iotstream.schema import TABLES

# Late or quarantined records beyond this many in one batch are written by Spark's executors
# instead of through the driver (a burst of bad records must not fill the driver's memory).
DRIVER_ROWS = 10_000
# The same for the readings table's rows, which are narrow: up to this many, they come with the
# side pass and the driver writes them (a Spark write of its own cost ~0.4 s a batch here).
READINGS_DRIVER_ROWS = 100_000


def compute(batch: DataFrame, batch_id: int, before: JobState, config: JobConfig,
            now: Callable[[], datetime], mark: Callable[[str], None],
            elapsed: Callable[[], float], end_of_input: bool = False,
            judged_in_batch: datetime | None = None) -> BatchResult:
    """The batch's results from the step's rows (plan.plan) and the state the last batch left;
    batch_totals' `seconds` is `elapsed()` (seconds since the batch started) once every table's
    rows are computed. `end_of_input`: the batch reached the end of every partition (the clocks
    then move past every reading read: windows.end_of_input). `judged_in_batch`: the rules'
    clock the step judged the batch's readings by, when it was known before the batch ran
    (windows.judged_in_batch); the rules' clock after the batch is never behind it."""
    figures = _figures(batch)
    mark("step")
    totals = figures["batch"]
    # Spark's time for the batch (the same when it is replayed), as the records read carry it;
    # a batch without records takes the step's rows' (the same time), or the clock's.
    batch_time = totals["batch_time"] or totals["step_time"] or _naive(now())
    partitions = windows.partition_clocks(before.partitions, figures["partitions"], batch_time)
    watermark = windows.next_clock(before.watermark, partitions, batch_time,
                                   config.watermark_seconds, config.idle_timeout_seconds)
    judged_until = windows.next_judged_until(windows.pick(max, before.judged_until,
                                                          judged_in_batch),
                                             partitions, batch_time,
                                             config.idle_timeout_seconds)
    if end_of_input:
        watermark, judged_until = windows.end_of_input(watermark, judged_until, partitions,
                                                       config.window_seconds)
    wins = windows.advance(before.open_windows, before.closed_windows, figures["windows"],
                           figures["late_windows"], before.watermark, watermark,
                           config.window_seconds, config.restate_horizon_seconds)
    # Each window rule's yardstick: the (mean, stddev) of the windows it may judge by.
    limits = {name: windows.window_limits(wins.merged, rule.min_readings(config.detectors[name]))
              for name, rule in WINDOW_RULES.items() if config.detectors[name].enabled}
    # Record tables with more rows than the driver takes: Spark writes them, the side pass
    # leaves their rows out.
    spark_writes = {"late": totals["late"] > DRIVER_ROWS,
                    "quarantine": totals["quarantined"] > DRIVER_ROWS,
                    "duplicates": totals["duplicates"] > DRIVER_ROWS}
    # Every accepted reading, to the readings table: with the side pass, or written by Spark.
    readings: str | None = None
    if config.write_readings and totals["accepted"]:
        readings = "driver" if totals["accepted"] <= READINGS_DRIVER_ROWS else "spark"
    side_readings = None
    if readings == "driver" or _side_pass_needed(totals, figures["windows"], limits, config,
                                                 spark_writes):
        side, side_readings = _side_rows(batch, limits, config, spark_writes,
                                         readings == "driver")
        mark("detect")
    else:  # nothing any rule found or could find, no new sensor, no late or quarantined record
        side = []

    stamp = {"batch_id": batch_id, "batch_time": batch_time}
    found = _anomalies(side)
    new = [r for r in side if r["kind"] == READING and r["new_sensor"]]
    new_by_state = collections.Counter(r["state"] for r in new)
    state_totals = _add_totals(before.state_totals, figures["states"], new_by_state)
    total_rows = _total_rows(state_totals)
    running = before.running_messages + totals["messages"]
    all_sensors = before.total_sensors + len(new)
    batch_row = {
        **{k: totals[k] for k in ("messages", "sensors", "consumed", "accepted", "quarantined",
                                  "late", "duplicates", "conflicts", "time_adjusted")},
        "states": len(figures["states"]), "anomalies": len(found), "running_messages": running,
        "total_sensors": all_sensors, "watermark": watermark, "restated": wins.restated,
        "judged_until": judged_until,
    }
    rows: dict[str, list[dict] | DataFrame | pa.Table] = {
        "anomalies": found,
        "window_stats": windows.window_stats(wins.written, config.window_seconds),
        "sensors": [{"guid": r["guid"], "state": r["state"], "first_event_time": r["event_time"]}
                    for r in new],
        "late_events": records.late_rows(batch, batch_id, batch_time, before.watermark)
        if spark_writes["late"]
        else [{**{k: r[k] for k in records.LATE_EVENT_COLUMNS}, "watermark": before.watermark}
              for r in side if r["kind"] == READING and r[windows.LATE_FLAG]],
        "quarantine": records.quarantine_rows(batch, batch_id, batch_time)
        if spark_writes["quarantine"]
        else [records.quarantined(r) for r in side if r["kind"] == QUARANTINED],
        "duplicates": records.duplicate_rows(batch, batch_id, batch_time)
        if spark_writes["duplicates"]
        else [records.duplicate(r) for r in side if r["kind"] == DUPLICATE],
        "clock_errors": _clock_errors(batch, batch_id, batch_time, totals["clock_errors"]),
        "state_stats": figures["states"],
        "state_totals": total_rows,
    }
    if readings == "spark":
        rows["readings"] = records.reading_rows(batch, batch_id, batch_time)
    elif readings == "driver":
        rows["readings"] = records.readings_table(side_readings, batch_id, batch_time)
    tables: dict[str, pa.Table | SparkTable] = {
        name: (SparkTable(r) if isinstance(r, DataFrame) else r if isinstance(r, pa.Table) else
               to_arrow([{**row, **stamp} for row in r], TABLES[name]))
        for name, r in rows.items() if isinstance(r, DataFrame) or len(r)}
    # Every table's rows are computed (but those Spark writes): the batch's time is known.
    tables["batch_totals"] = to_arrow([{**batch_row, **stamp, "seconds": elapsed()}],
                                      TABLES["batch_totals"])
    order = [("event_time", "ascending"), ("guid", "ascending"), ("detector", "ascending")]
    alerts = tables.get("anomalies", to_arrow([], TABLES["anomalies"]))  # never a SparkTable
    shown = alerts.sort_by(order).slice(0, config.max_anomaly_rows).to_pylist()
    after = JobState(batch_id, running, all_sensors, watermark, state_totals, wins.still_open,
                     wins.kept, tuple(partitions), judged_until)
    report = console.BatchReport(batch_id, batch_time, {**batch_row}, figures["states"], shown,
                                 windows_written=len(wins.written),
                                 windows_restated=wins.restated,
                                 state_totals=total_rows,
                                 end_of_input=end_of_input and totals["consumed"] > 0)
    return BatchResult(batch_id, batch_time, tables,
                       to_arrow([*wins.still_open, *wins.kept], windows.WINDOW_STATE_SCHEMA),
                       to_arrow(partitions, windows.PARTITION_STATE_SCHEMA), alerts, after, report)


def _figures(batch: DataFrame) -> dict[str, Any]:
    """One aggregation over the batch, by state, window, lateness and Kafka partition; the driver
    adds the groups up per state (state_stats), for the whole batch (the ledger), per partition
    (the latest event time) and per window (partial sums of on-time readings, and of late ones
    for restatements). Distinct sensors are counts of the step's first-of flags, so they add up
    too."""
    groups = naive(query_batch(batch, FIGURES_SQL).toArrow()).to_pylist()
    counts = ("messages", "sensors", "consumed", "quarantined", "new_sensors", "duplicates",
              "conflicts", "time_adjusted", "clock_errors", "found")
    total = {**dict.fromkeys(counts, 0), "late": 0, "batch_time": None, "step_time": None}
    per_state: dict[str, dict[str, Any]] = {}
    parts, late_parts = [], []
    partitions: dict[int, datetime] = {}
    for g in groups:
        if g["max_event_time"] is not None:
            p = g["kafka_partition"]
            partitions[p] = windows.pick(max, partitions.get(p), g["max_event_time"])
        for name in counts:
            total[name] += g[name]
        total["late"] += g["messages"] if g[windows.LATE_FLAG] else 0
        total["batch_time"] = windows.pick(max, total["batch_time"], g["batch_time"])
        total["step_time"] = windows.pick(max, total["step_time"], g["step_time"])
        if not g["messages"]:
            continue
        s = per_state.setdefault(g["state"], {"messages": 0, "readings": 0, "total": None,
                                              "low": None, "high": None, "sensors": 0})
        for name in ("messages", "readings"):
            s[name] += g[name]
        s["sensors"] += g["state_sensors"]
        s["total"] = windows.add(s["total"], g["total"])
        s["low"] = windows.pick(min, s["low"], g["low"])
        s["high"] = windows.pick(max, s["high"], g["high"])
        (late_parts if g[windows.LATE_FLAG] else parts).append(
            {windows.WINDOW_START: g[windows.WINDOW_START], "state": g["state"],
             **{k: g[k] for k in windows.SUMS if k != "sensors"}, "sensors": g["window_sensors"]})
    total["accepted"] = total["messages"]
    states = [
        {"state": state, "avg_temperature": s["total"] / s["readings"] if s["readings"] else None,
         "min_temperature": s["low"], "max_temperature": s["high"], "messages": s["messages"],
         "sensors": s["sensors"], "readings": s["readings"]}
        for state, s in per_state.items()
    ]
    # Hottest first; a state whose readings were all impossible has no average: last.
    states.sort(key=lambda s: (s["avg_temperature"] is None, -(s["avg_temperature"] or 0),
                               s["state"]))
    return {"batch": total, "states": states, "windows": parts, "late_windows": late_parts,
            "partitions": partitions}


def _side_pass_needed(totals: Mapping[str, Any], parts: list[dict], limits: Mapping,
                      config: JobConfig, spark_writes: Mapping[str, bool]) -> bool:
    """Whether the side pass can bring anything: the figures count the rows with findings of
    the step's rules, new sensors, late and quarantined records; a window rule can find
    something only in a window whose lowest or highest reading of the batch is more than its k
    standard deviations from the window's mean."""
    records = any(totals[count] and not spark_writes[name] for count, name in (
        ("late", "late"), ("quarantined", "quarantine"), ("duplicates", "duplicates")))
    if totals["found"] or records or totals["new_sensors"]:
        return True
    for name, by_window in limits.items():
        k = WINDOW_RULES[name].k(config.detectors[name])
        for w in parts:
            limit = by_window.get((w[windows.WINDOW_START], w["state"]))
            if limit and w["readings"]:
                mean, sd = limit  # the side pass's arithmetic: |(t - mean) / sd| > k
                if max(abs((w["low"] - mean) / sd), abs((w["high"] - mean) / sd)) > k:
                    return True
    return False


def _side_rows(batch: DataFrame, limits: Mapping, config: JobConfig,
               spark_writes: Mapping[str, bool],
               readings: bool) -> tuple[list[dict[str, Any]], pa.Table | None]:
    """The batch's rows that some table needs, one pass: findings of every rule, late and
    quarantined records (unless Spark writes them), new sensors; and with `readings`, every
    accepted reading, kept as Arrow (they are many: no Python object per value)."""
    d = config.detectors
    args = {"late": not spark_writes["late"], "quarantine": not spark_writes["quarantine"],
            "duplicates": not spark_writes["duplicates"], "readings": readings}
    for name, rule in WINDOW_RULES.items():
        args |= {name: name in limits, f"k_{name}": float(rule.k(d[name])),
                 f"limits_{name}": windows.limits_json(limits.get(name, {}))}
    rows = naive(query_batch(batch, SIDE_SQL, args).toArrow())
    side = rows.filter(rows["wanted_by_driver"]).to_pylist() if readings else rows.to_pylist()
    return side, rows.filter(pc.equal(rows["kind"], READING)) if readings else None


def query_batch(batch: DataFrame, sql: str, args: Mapping[str, Any] | None = None) -> DataFrame:
    batch.createOrReplaceTempView(VIEW)
    return batch.sparkSession.sql(sql, args=dict(args or {}))


def _anomalies(side: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Anomaly rows (the table's columns after batch_id and batch_time): every finding in the
    rows, as it came: the step's rules' (`findings`), and each window rule's (`found_<name>`,
    the reading's z against its window: high or low, by |z|)."""
    found = []
    for r in side:
        window = [{"detector": name, "reason": "high" if z > 0 else "low", "score": abs(z)}
                  for name in WINDOW_RULES if (z := r[f"found_{name}"]) is not None]
        for f in [*(r["findings"] or ()), *window]:
            found.append({k: r[k] for k in _FINDING} | {
                "reason": f["reason"], "detector": f["detector"], "score": float(f["score"])})
    return found


_FINDING = ("guid", "state", "event_time", "temperature", "band_low", "band_high")


def _clock_errors(batch: DataFrame, batch_id: int, batch_time: datetime,
                  count: int) -> list[dict[str, Any]] | DataFrame:
    """Per sensor, its readings whose clock the policy caught: through the driver, or written
    by Spark when a whole fleet's clocks are off (more than DRIVER_ROWS such readings)."""
    if not count:
        return []
    rows = query_batch(batch, CLOCK_SQL)
    if count > DRIVER_ROWS:
        return rows.select(*records.stamp(batch_id, batch_time), "*")
    return naive(rows.toArrow()).to_pylist()


def _add_totals(before: Mapping[str, Mapping[str, float]], stats: list[dict],
                new_sensors: Mapping[str, int]) -> dict[str, dict[str, float]]:
    """Running per-state totals after a batch (its state_stats rows and new sensors)."""
    after = {state: dict(t) for state, t in before.items()}
    zero = {"messages": 0, "sensors": 0, "readings": 0, "total": 0.0}
    for row in stats:
        t = after.setdefault(row["state"], dict(zero))
        t["messages"] += row["messages"]
        t["readings"] += row["readings"]
        t["total"] += (row["avg_temperature"] or 0.0) * row["readings"]
    for state, n in new_sensors.items():
        after.setdefault(state, dict(zero))["sensors"] += n
    return after


def _total_rows(totals: Mapping[str, Mapping[str, float]]) -> list[dict]:
    return [
        {"state": state, "messages": t["messages"], "sensors": t["sensors"], "readings": t["readings"],
         "avg_temperature": t["total"] / t["readings"] if t["readings"] else None}
        for state, t in sorted(totals.items())
    ]


def _naive(t: datetime | None) -> datetime | None:
    """A timestamp as naive UTC, the driver's one convention (collected rows are naive UTC)."""
    return t.astimezone(UTC).replace(tzinfo=None) if t is not None and t.tzinfo else t
