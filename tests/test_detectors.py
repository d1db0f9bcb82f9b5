"""Per-sensor detectors (zscore, stuck, silent): the model reading by reading (the engine's Java
class, called from here through the tests' JVM), then the job's streaming query over several
micro-batches, restarts and TTL eviction included."""

from __future__ import annotations

import io
import statistics
import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from py4j.java_gateway import get_field

from iotstream.config import Detectors, load_config
from iotstream.io.tables import ParquetSink
from iotstream.pipeline import BatchProcessor
from iotstream.views import read_table
from sparkdata import BANDS, event, kafka_records
from streamrun import StreamRun

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 1, 1, tzinfo=UTC)
# Threshold 4 (not the default 6) keeps the hand-made numbers small.
DETECTORS = Detectors(sensor_ttl_seconds=600.0, zscore_threshold=4.0)


def sec(n: float) -> datetime:
    return T0 + timedelta(seconds=n)


def micros(t: datetime) -> int:
    return round((t - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)


class Model:
    """One sensor's model in the engine (iot.engine.SensorModel), fed as the step feeds it."""

    def __init__(self, spark, detectors: Detectors = DETECTORS) -> None:
        engine = spark._jvm.iot.engine
        d = detectors
        self.rules = engine.SensorStep.rules(
            60_000_000, d.zscore, d.zscore_history, d.zscore_min_history,
            float(d.zscore_threshold), float(d.zscore_min_sigma), d.stuck, d.stuck_repeats,
            d.silent, round(d.silent_seconds * 1e6), round(d.sensor_ttl_seconds * 1e6),
            d.level_shift, d.level_shift_readings, 3_600_000_000)
        self.silent_seconds = d.silent_seconds
        self.java = engine.SensorModel()

    def observe(self, state: str, when: datetime, value: float) -> list[tuple]:
        """One reading → what it raised, as anomaly rows: (state, event_time, temperature,
        reason, detector, score)."""
        plausible = BANDS.physical_min <= value <= BANDS.physical_max
        f = self.java.observe(self.rules, state, micros(when), float(value), plausible)
        found = []
        if get_field(f, "silent"):
            found.append((get_field(f, "silentState"),
                          T0 + timedelta(microseconds=get_field(f, "silentTime") - micros(T0)),
                          get_field(f, "silentValue"), "silent", "silent", self.silent_seconds))
        if get_field(f, "stuck"):
            found.append((state, when, value, "stuck", "stuck", get_field(f, "stuckScore")))
        if get_field(f, "zReason") is not None:
            found.append((state, when, value, get_field(f, "zReason"), "zscore",
                          get_field(f, "zScore")))
        if get_field(f, "shift"):
            size = get_field(f, "shiftSize")
            found.append((state, T0 + timedelta(microseconds=get_field(f, "shiftTime") - micros(T0)),
                          get_field(f, "shiftValue"), "up" if size > 0 else "down",
                          "level_shift", abs(size)))
        return found

    @property
    def history(self) -> list[float]:
        return list(self.java.history())


def feed(model: Model, values: list[float], start: float = 0.0, step: float = 1.0) -> list[tuple]:
    found = []
    for i, v in enumerate(values):
        found += model.observe("CA", sec(start + i * step), v)
    return found


def test_zscore_flags_a_spike_against_the_last_readings_and_keeps_it_out_of_the_model(spark):
    model = Model(spark)
    normal = [60.0, 61.5, 59.0, 62.0, 60.5, 58.5, 61.0, 60.0, 59.5, 62.5]  # min_history = 10
    assert feed(model, normal) == []
    z = (75.0 - statistics.mean(normal)) / statistics.pstdev(normal)
    found = feed(model, [75.0], start=10)
    assert [(f[3], f[4]) for f in found] == [("high", "zscore")]
    assert found[0][5] == pytest.approx(z)
    assert model.history == normal  # the spike did not enter it
    # The next reading is judged against the same history.
    assert feed(model, [45.0], start=11)[0][3:5] == ("low", "zscore")


def test_zscore_waits_for_min_history_and_keeps_only_the_last_n(spark):
    model = Model(spark)
    values = [60.0] * 1 + [60.0 + (i % 7) * 0.3 for i in range(40)]
    assert feed(model, values) == []
    assert len(model.history) == DETECTORS.zscore_history == 30
    assert model.history == values[-30:]


def test_min_sigma_keeps_a_steady_sensor_from_flagging_noise(spark):
    model = Model(spark)
    values = [60.0 + 0.1 * (i % 2) for i in range(10)]  # standard deviation 0.05
    feed(model, values)
    assert feed(model, [61.5], start=10) == []  # 1.45 °F off: under 4 * min_sigma (2 °F)
    assert feed(model, [62.5], start=11)[0][4] == "zscore"


def test_stuck_is_reported_once_at_the_kth_identical_value(spark):
    model = Model(spark)
    found = feed(model, [58.0, 59.0] + [64.2] * 15)
    stuck = [f for f in found if f[4] == "stuck"]
    assert len(stuck) == 1
    assert stuck[0][1] == sec(2 + 9) and stuck[0][2] == 64.2 and stuck[0][5] == 10.0
    # A new run starts after a different value.
    assert [f[4] for f in feed(model, [64.3] + [64.2] * 10, start=17)] == ["stuck"]


def test_silent_is_reported_when_the_sensor_comes_back_after_more_than_t(spark):
    model = Model(spark)
    feed(model, [60.0], start=0)
    assert feed(model, [60.5], start=120) == []  # exactly T (120 s): not more
    found = feed(model, [61.0], start=241)
    assert [(f[1], f[2], f[4], f[5]) for f in found] == [(sec(120), 60.5, "silent", 120.0)]


def test_disabled_detectors_find_nothing(spark):
    model = Model(spark, Detectors(zscore=False, stuck=False, silent=False))
    assert feed(model, [60.0] * 20 + [500.0]) == []
    assert model.observe("CA", sec(1000), 60.0) == []


# --- batch after batch, through the job's query ------------------------------------------------

def _batches(spark, out: Path, batches: dict[int, list[tuple]]) -> list[tuple]:
    """Runs the job's query over batches {id: [(guid, seconds after T0, temperature)]}, each in
    a new process (a restart: nothing carried in memory); returns the per-sensor findings as
    (batch_id, guid, detector, event_time, temperature, score). The watermark is the latest
    event time so far less 30 s."""
    base = load_config(ROOT / "conf" / "job.toml")
    config = replace(base, bands=BANDS, output_dir=str(out), alerts_topic="",
                     watermark_seconds=30.0,
                     detectors=replace(DETECTORS, band=False, three_sigma=False))
    offset = 0
    for batch_id, readings in sorted(batches.items()):
        lines = [event(g, "CA", v, sec(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
                 for g, at, v in readings]
        processor = BatchProcessor(config, ParquetSink(config.output_dir), io.StringIO())
        StreamRun(spark, config, processor)(kafka_records(spark, lines, first_offset=offset),
                                            batch_id)
        offset += len(lines)
    if not (out / "anomalies").exists():
        return []
    return sorted((r.batch_id, r.guid, r.detector, r.event_time.replace(tzinfo=UTC),
                   r.temperature, r.score)
                  for r in read_table(spark, str(out), "anomalies").collect())


def test_the_sensor_step_keeps_models_across_batches_restarts_and_evicts_idle_sensors(spark, tmp_path):
    history = [60.0, 61.0] * 5
    z_more = [(100, 60.4), (150, 60.6), (200, 60.5)]
    found = _batches(spark, tmp_path / "out", {
        # Batch 0: z has its 10 readings of history; q reports once; e has its history too.
        0: [("z", i, v) for i, v in enumerate(history)] + [("q", 5, 60.0)]
           + [("e", i, v) for i, v in enumerate(history)],
        # Batch 1: k is stuck; time moves on to 200 s: the clock after it (170 s) passes
        # q's 5 + 120 s, e's 9 + 120 and k's 29 + 120.
        1: [("k", 20 + i, 55.0) for i in range(10)] + [("z", t, v) for t, v in z_more],
        # Batch 2 judges by that clock, and z's spike against the 13 readings of its history.
        2: [("z", 210, 75.0)],
        # Spark's watermark, which fires the step's timers, follows the clock a batch behind:
        # batch 3 reports e, k and q silent. z comes back after 490 s: one silent row. The clock
        # after batch 3 (670 s) passes e's, k's and q's last reading + TTL (600 s): batch 5's
        # timers drop their models, so e's spike when it comes back (batch 6) finds no history
        # to be judged against, and no silence is reported again.
        3: [("z", 700, 60.0)], 4: [("z", 705, 60.2)], 5: [("z", 708, 60.3)],
        6: [("e", 710, 75.0), ("z", 711, 60.5)],
    })
    kept = history + [v for _, v in z_more]
    z = (75.0 - statistics.mean(kept)) / max(statistics.pstdev(kept), DETECTORS.zscore_min_sigma)
    assert found == [
        (1, "k", "stuck", sec(29), 55.0, 10.0),
        (2, "z", "zscore", sec(210), 75.0, pytest.approx(z)),
        (3, "e", "silent", sec(9), 61.0, 120.0),
        (3, "k", "silent", sec(29), 55.0, 120.0),
        (3, "q", "silent", sec(5), 60.0, 120.0),
        (3, "z", "silent", sec(210), 75.0, 120.0),
    ]


def test_a_sensor_that_comes_back_and_goes_silent_again_is_reported_again_on_time(spark, tmp_path):
    found = _batches(spark, tmp_path / "out", {
        0: [("s", i, 60.0 + i % 2) for i in range(10)] + [("w", 0, 60.0)],
        1: [("w", 200, 60.0)],  # the clock after it (170 s) passes s's 9 + 120
        2: [("w", 210, 60.0)],  # Spark's watermark, a batch behind the clock, gets there
        3: [("w", 215, 60.0)],  # s reported silent; its timer moves on to its TTL (609 s)
        4: [("s", 220, 60.0), ("w", 220, 60.0)],  # s is back: due again at 220 + 120
        5: [("w", 400, 60.0)],  # the clock after it (370 s) passes 340 s
        6: [("w", 410, 60.0)],
        7: [("w", 420, 60.0)],
    })
    assert [(b, t) for b, g, d, t, _, _ in found if g == "s" and d == "silent"] == [
        (3, sec(9)), (7, sec(220))]


def test_a_shorter_history_setting_applies_to_a_saved_model(spark):
    model = Model(spark)  # history 30
    feed(model, [60.0 + (i % 7) * 0.3 for i in range(30)])
    assert len(model.history) == 30
    model.rules = Model(spark, replace(DETECTORS, zscore_history=20)).rules
    assert model.observe("CA", sec(100), 61.1) == []
    assert len(model.history) == 20 and model.history[-1] == 61.1


# --- level shifts -------------------------------------------------------------------------------

STEADY = [60.0, 61.0, 60.5, 59.5, 60.0, 61.0, 60.5, 59.5, 60.0, 61.0]  # mean 60.3, sd 0.51


def test_a_new_level_is_reported_once_at_its_first_reading_and_zscore_learns_it(spark):
    model = Model(spark)  # threshold 4: a run is readings beyond 2 sd, 10 of them a new level
    feed(model, STEADY)
    moved = [80.0, 80.5, 79.5, 80.0, 81.0, 80.0, 79.5, 80.5, 80.0, 80.5]
    found = feed(model, moved, start=10)
    size = statistics.mean(moved) - statistics.mean(STEADY)
    # zscore: the run's first reading only; level_shift: once, at that reading, by the size.
    assert [(f[1], f[2], f[3], f[4]) for f in found] == [
        (sec(10), 80.0, "high", "zscore"), (sec(10), 80.0, "up", "level_shift")]
    assert [f for f in found if f[4] == "level_shift"][0][5] == pytest.approx(size)
    # The history moved by the size, its spread kept: the new level is normal at once...
    assert model.history == pytest.approx([v + size for v in STEADY])
    assert feed(model, [80.3, 79.8, 80.9] * 20, start=20) == []
    # ... and a spike is judged against it.
    assert feed(model, [95.0], start=80)[0][3:5] == ("high", "zscore")


def test_a_short_excursion_is_one_zscore_finding_and_no_shift(spark):
    model = Model(spark)
    feed(model, STEADY)
    found = feed(model, [75.0, 76.0, 75.5, 60.5, 60.0], start=10)
    assert [(f[1], f[4]) for f in found] == [(sec(10), "zscore")]
    assert model.history == STEADY + [60.5, 60.0]  # the excursion stayed out of it


def test_a_return_to_the_level_before_a_shift_is_quiet_and_restores_its_history(spark):
    model = Model(spark)
    feed(model, STEADY)
    drift = [40.0 + (i % 3) * 0.5 for i in range(15)]  # a 20 °F drift, shorter than 2 × history
    found = feed(model, drift, start=10)
    assert [(f[1], f[3], f[4]) for f in found] == [
        (sec(10), "low", "zscore"), (sec(10), "down", "level_shift")]
    assert feed(model, [60.2, 60.8, 60.0], start=25) == []  # back: no finding
    assert model.history[:len(STEADY)] == STEADY  # the history of before, and the readings since


def test_level_shift_disabled_still_learns_the_new_level_without_reporting_it(spark):
    model = Model(spark, replace(DETECTORS, level_shift=False))
    feed(model, STEADY)
    found = feed(model, [80.0 + (i % 2) * 0.5 for i in range(10)], start=10)
    assert [f[4] for f in found] == ["zscore"]
    assert feed(model, [80.2, 80.4], start=20) == []


def test_a_model_saved_by_the_engine_before_re_sends_and_runs_loads(spark):
    # Format 1 (the engine before this one): flags (has a model), history, last value, repeats,
    # last time, timer, state, windows; nothing after them.
    history = [60.0, 61.0] * 5
    saved = (struct.pack(">bbi", 1, 1, len(history)) + struct.pack(f">{len(history)}d", *history)
             + struct.pack(">diqq", 61.0, 1, micros(sec(9)), 0) + struct.pack(">i", 2) + b"CA"
             + struct.pack(">iq", 1, 0))
    codec = spark._jvm.iot.engine.SensorCodec
    java = codec.fromBytes(bytearray(saved))
    model = Model(spark)
    model.java = java
    assert model.history == history
    assert feed(model, [75.0], start=10)[0][3:5] == ("high", "zscore")
    again = codec.fromBytes(codec.toBytes(java))  # saved in today's format, and back
    assert list(again.history()) == history
