"""Per-sensor detectors (zscore, stuck, silent) through the job's streaming query over several
micro-batches, restarts and TTL eviction included. Each rule reading by reading, and the stored
state's formats, are the engine's JUnit tests (engine/src/test: ZScoreRuleTest, OtherRulesTest,
SensorStateTest), run by `mvn package` in scripts/setup.sh."""

from __future__ import annotations

import statistics
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import configured
from sparkdata import BANDS, event, kafka_records
from streamrun import job_config, job_run
from tables import table_rows
from times import T0, iso

# Threshold 4 (not conf/job.toml's 6) keeps the hand-made numbers small; a TTL of 600 s (not
# 3600) lets a few batches reach it.
DETECTORS = replace(configured().detectors.changed("zscore", threshold=4.0), sensor_ttl_seconds=600.0)


def sec(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


# --- batch after batch, through the job's query ------------------------------------------------

def _batches(spark, out: Path, batches: dict[int, list[tuple]]) -> list[tuple]:
    """Runs the job's query over batches {id: [(guid, seconds after T0, temperature)]}, each in
    a new process (a restart: nothing carried in memory); returns the per-sensor findings as
    (batch_id, guid, detector, event_time, temperature, score). One partition: the rules' clock
    after a batch is the latest event time so far (the event-time clock, 30 s less); Spark's
    watermark, which fires the step's timers, is the rules' clock a batch behind."""
    config = job_config(out, bands=BANDS, watermark_seconds=30.0,
                        detectors=DETECTORS.only("zscore", "stuck", "silent", "level_shift"))
    offset = 0
    for batch_id, readings in sorted(batches.items()):
        lines = [event(g, "CA", v, iso(sec(at))) for g, at, v in readings]
        job_run(spark, config)(kafka_records(spark, lines, first_offset=offset), batch_id)
        offset += len(lines)
    return sorted((r["batch_id"], r["guid"], r["detector"], r["event_time"], r["temperature"],
                   r["score"]) for r in table_rows(out, "anomalies", aware=True))


def test_the_sensor_step_keeps_models_across_batches_restarts_and_evicts_idle_sensors(spark, tmp_path):
    history = [60.0, 61.0] * 5
    z_more = [(100, 60.4), (150, 60.6), (200, 60.5)]
    # k varies by 0.1 °F every second for a minute (no value twice in a row), then sticks at 55.0:
    # 60 changes and no repeat give a repeat rate bounded by 0.0432 (Wilson, z 1.645), so
    # 1 + ceil(ln 1e-15 / ln 0.0432) = 12 equal readings make it stuck.
    k_moving = [("k", i, 55.0 + (i % 6 + 1) * 0.1) for i in range(60)]
    found = _batches(spark, tmp_path / "out", {
        # Batch 0: z has its 10 readings of history; q reports once; e has its history too;
        # nothing is judged yet (no clock yet).
        0: [("z", i, v) for i, v in enumerate(history)] + [("q", 5, 60.0)]
           + [("e", i, v) for i, v in enumerate(history)] + k_moving,
        # Batch 1 judges batch 0's readings (the rules' clock: 59 s, batch 0's latest reading):
        # k's and z's as they come again, e's and q's by their timers (Spark's watermark, after
        # a first batch, is its latest reading). k is stuck from 60 s; time moves on to 200 s.
        1: [("k", 60 + i, 55.0) for i in range(12)] + [("z", t, v) for t, v in z_more],
        # Batch 2 judges z's readings up to 200 s as they come; z's spike comes.
        2: [("z", 210, 75.0)],
        # Batch 3: Spark's watermark, the rules' clock a batch behind, is at 200 s: the timers
        # of e and k fire. e and k are silent (one reading a second: 120 s, after_seconds, is
        # their allowance), k's run is stuck at its 12th reading; z's spike is judged against
        # the 13 readings of its history. z comes back after 510 s, more than 10 of its long
        # intervals (the 90th percentile of its 13: 50 s): batch 4 judges that, one silent row.
        # The rules' clock after batch 3 (720 s) passes e's, k's and q's last reading + TTL
        # (600 s): batch 5's timers drop their models (q, whose cadence is not known, one
        # reading, is silent just before: at the TTL), so e's spike when it comes back (batch 6,
        # judged by batch 7) finds no history to be judged against, and no silence is reported
        # again.
        3: [("z", 720, 60.0)], 4: [("z", 725, 60.2)], 5: [("z", 728, 60.3)],
        6: [("e", 730, 75.0), ("z", 731, 60.5)], 7: [("z", 740, 60.4)],
    })
    kept = history + [v for _, v in z_more]
    z = (75.0 - statistics.mean(kept)) / max(statistics.pstdev(kept), DETECTORS["zscore"]["min_sigma"])
    assert found == [
        (3, "e", "silent", sec(9), 61.0, 120.0),
        (3, "k", "silent", sec(71), 55.0, 120.0),
        (3, "k", "stuck", sec(71), 55.0, 12.0),
        (3, "z", "zscore", sec(210), 75.0, pytest.approx(z)),
        (4, "z", "silent", sec(210), 75.0, 500.0),
        (5, "q", "silent", sec(5), 60.0, pytest.approx(600.0 - 1e-6)),
    ]


def test_a_sensor_that_comes_back_and_goes_silent_again_is_reported_again_on_time(spark, tmp_path):
    found = _batches(spark, tmp_path / "out", {
        0: [("s", i, 60.0 + i % 2) for i in range(10)] + [("w", 0, 60.0)],
        1: [("w", 200, 60.0)],  # the rules' clock after it (200 s) passes s's 9 + 120
        2: [("w", 210, 60.0)],
        3: [("w", 215, 60.0)],  # Spark's watermark, a batch behind the clock, fires s's timer
        4: [("s", 220, 60.0), ("w", 220, 60.0)],  # s is back (judged by batch 5)
        5: [("w", 400, 60.0)],  # due again at 220 + 120 s: the rules' clock after it passes that
        6: [("w", 410, 60.0)],  # Spark's watermark gets there in batch 7
        7: [("w", 420, 60.0)],
    })
    assert [(b, t) for b, g, d, t, _, _ in found if g == "s" and d == "silent"] == [
        (3, sec(9)), (7, sec(220))]
