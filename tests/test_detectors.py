"""Per-sensor detectors (zscore, stuck, silent): the model reading by reading, then the Spark
step over several micro-batches with saved state, a restart and TTL eviction."""

from __future__ import annotations

import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from iotstream.config import Detectors
from iotstream.detectors import OUTPUT_SCHEMA, STATE_SCHEMA, SensorModel, SensorRules, step
from iotstream.sinks import VersionedState
from sparkdata import BANDS

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# Threshold 4 (not the default 6) keeps the hand-made numbers small.
RULES = SensorRules.of(Detectors(sensor_ttl_seconds=600.0, zscore_threshold=4.0), BANDS)


def sec(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def feed(model: SensorModel, values: list[float], start: float = 0.0, step: float = 1.0,
         rules: SensorRules = RULES) -> list[tuple]:
    found = []
    for i, v in enumerate(values):
        found += model.observe(rules, "g", "CA", sec(start + i * step), v)
    return found


def test_zscore_flags_a_spike_against_the_last_readings_and_keeps_it_out_of_the_model():
    model = SensorModel()
    normal = [60.0, 61.5, 59.0, 62.0, 60.5, 58.5, 61.0, 60.0, 59.5, 62.5]  # min_history = 10
    assert feed(model, normal) == []
    z = (75.0 - statistics.mean(normal)) / statistics.pstdev(normal)
    found = feed(model, [75.0], start=10)
    assert [(f[4], f[5]) for f in found] == [("high", "zscore")]
    assert found[0][6] == pytest.approx(z)
    assert model.history == normal  # the spike did not enter it
    # The next reading is judged against the same history.
    assert feed(model, [45.0], start=11)[0][4:6] == ("low", "zscore")


def test_zscore_waits_for_min_history_and_keeps_only_the_last_n():
    model = SensorModel()
    assert feed(model, [60.0] * 1 + [60.0 + (i % 7) * 0.3 for i in range(40)]) == []
    assert len(model.history) == RULES.history == 30


def test_min_sigma_keeps_a_steady_sensor_from_flagging_noise():
    model = SensorModel()
    values = [60.0 + 0.1 * (i % 2) for i in range(10)]  # standard deviation 0.05
    feed(model, values)
    assert feed(model, [61.5], start=10) == []  # 1.45 °F off: under 4 * min_sigma (2 °F)
    assert feed(model, [62.5], start=11)[0][5] == "zscore"


def test_stuck_is_reported_once_at_the_kth_identical_value():
    model = SensorModel()
    found = feed(model, [58.0, 59.0] + [64.2] * 15)
    stuck = [f for f in found if f[5] == "stuck"]
    assert len(stuck) == 1
    assert stuck[0][2] == sec(2 + 9) and stuck[0][3] == 64.2 and stuck[0][6] == 10.0
    # A new run starts after a different value.
    assert [f[5] for f in feed(model, [64.3] + [64.2] * 10, start=17)] == ["stuck"]


def test_silent_is_reported_when_the_sensor_comes_back_after_more_than_t():
    model = SensorModel()
    feed(model, [60.0], start=0)
    assert feed(model, [60.5], start=120) == []  # exactly T (120 s): not more
    found = feed(model, [61.0], start=241)
    assert [(f[2], f[3], f[5], f[6]) for f in found] == [(sec(120), 60.5, "silent", 120.0)]


def test_disabled_detectors_find_nothing():
    rules = SensorRules.of(Detectors(zscore=False, stuck=False, silent=False), BANDS)
    model = SensorModel()
    assert feed(model, [60.0] * 20 + [500.0], rules=rules) == []
    assert model.observe(rules, "g", "CA", sec(1000), 60.0) == []


# --- batch after batch, on Spark ------------------------------------------------------------

def _batches(spark, state_dir: Path, rules: SensorRules, batches: dict[int, list[tuple]],
             latest: float = float("-inf")) -> list[tuple[int, tuple]]:
    """Runs `step` over batches {id: [(guid, seconds after T0, temperature)]} as the job does:
    the models come from the saved state of the batch before (a fresh VersionedState: nothing
    is carried in memory), the watermark is the latest event time so far (`latest` before the
    first batch) less 30 s."""
    from pyspark.sql import types as T
    schema = T.StructType([
        T.StructField("guid", T.StringType()), T.StructField("state", T.StringType()),
        T.StructField("event_time", T.TimestampType()), T.StructField("temperature", T.DoubleType()),
        T.StructField("kafka_partition", T.IntegerType()), T.StructField("kafka_offset", T.LongType()),
    ])
    got: list[tuple[int, tuple]] = []
    for batch_id, readings in sorted(batches.items()):
        state = VersionedState(str(state_dir), STATE_SCHEMA)
        before = state.load(spark, batch_id)
        latest = max([latest] + [at for _, at, _ in readings])
        df = spark.createDataFrame([(g, "CA", sec(at), v, 0, i)
                                    for i, (g, at, v) in enumerate(readings)], schema)
        with step(df, before, rules, sec(latest - 30)) as (after, found):
            assert found.schema == OUTPUT_SCHEMA and after.schema == STATE_SCHEMA
            # Collected timestamps are naive UTC (TZ=UTC in the tests): make them aware.
            got.extend((batch_id, tuple(v.replace(tzinfo=UTC) if isinstance(v, datetime) else v
                                        for v in r)) for r in found.collect())
            state.save(after, batch_id)
    return got


def test_the_sensor_step_keeps_models_across_batches_restarts_and_evicts_idle_sensors(spark, tmp_path):
    rules = replace(RULES, ttl_seconds=600.0)
    history = [60.0, 61.0] * 5
    z_more = [(100, 60.4), (150, 60.6), (200, 60.5)]
    first = _batches(spark, tmp_path, rules, {
        # Batch 0: z has its 10 readings of history; q reports once; e has its history too.
        0: [("z", i, v) for i, v in enumerate(history)] + [("q", 5, 60.0)]
           + [("e", i, v) for i, v in enumerate(history)],
        # Batch 1: k is stuck; time moves on to 200 s, so the watermark (170 s) passes q's 5 + 120.
        1: [("k", 20 + i, 55.0) for i in range(10)] + [("z", t, v) for t, v in z_more],
    })
    found = sorted((f[0], f[5], f[2], f[3]) for _, f in first)
    assert found == [
        ("e", "silent", sec(9), 61.0),  # e, k and q have sent nothing since: 9/29/5 + 120 <= 170
        ("k", "silent", sec(29), 55.0),
        ("k", "stuck", sec(29), 55.0),
        ("q", "silent", sec(5), 60.0),
    ]
    # Silences are found once the watermark has moved past them (not in batch 0).
    assert [b for b, f in first if f[5] == "stuck"] == [1]
    assert {b for b, f in first if f[5] == "silent"} == {1}

    # Batches 2-5, each from the state saved by the one before (as after a restart): z's spike
    # is judged against the 13 readings kept. z comes back after 490 s: one silent row. The
    # watermark (670 s) then passes e's, k's and q's last reading + TTL (600 s): their models
    # are dropped, so e's spike when it comes back finds no history to be judged against, and
    # no silence is reported again.
    second = _batches(spark, tmp_path, rules, {
        2: [("z", 210, 75.0)], 3: [("z", 700, 60.0)], 4: [("z", 705, 60.2)],
        5: [("e", 710, 75.0), ("z", 711, 60.5)],
    }, latest=200)
    found = sorted((f[0], f[5], f[2], f[3]) for _, f in second)
    assert found == [("z", "silent", sec(210), 75.0), ("z", "zscore", sec(210), 75.0)]
    assert [b for b, f in second if f[5] == "silent"] == [3]
    spike = next(f for _, f in second if f[5] == "zscore")
    kept = history + [v for _, v in z_more]
    sigma = max(statistics.pstdev(kept), rules.min_sigma)
    assert spike[6] == pytest.approx((75.0 - statistics.mean(kept)) / sigma)
