"""The learned detector through the job's streaming plan: the engine's features and forest walk
against the plain-Python reference (learned/features.py, learned/forest.py) on the same readings,
a newer model taken between batches, and no model: off, said once."""

from __future__ import annotations

import io
import random
from datetime import timedelta

import pytest

from conftest import configured
from iotstream.learned import artifact, forest
from iotstream.learned.features import SensorFeatures
from learned_data import trained_model
from sparkdata import BANDS, event, kafka_records
from streamrun import job_config, job_run
from tables import table_rows
from times import T0, iso

PER_SENSOR = 60  # readings of each sensor, 10 s apart; the first 35 in batch 0


def sensor_values() -> dict[str, list[float]]:
    rnd = random.Random(5)
    values = {}
    for s, level in (("L1", 50.0), ("L2", 64.0), ("L3", 71.0)):
        v = [round(level + rnd.gauss(0, 0.7), 2) for _ in range(PER_SENSOR)]
        for i in (17, 30, 41, 52):  # spikes, one right after another at 52
            v[i] += 9.0 if i % 2 else -8.0
        v[53] = v[52]
        values[s] = v
    return values


def expected(values: dict[str, list[float]], models: list[dict], split: int) -> dict:
    """(guid, event time) → score of each finding, computed in plain Python: each sensor's
    features in event order, scored with the batch's model, a run above the threshold once."""
    found = {}
    for guid, series in values.items():
        state = SensorFeatures(artifact.spec(models[0]))
        run = False
        for i, value in enumerate(series):
            features = state.take(value)
            if features is None:
                continue
            model = models[0] if i < split else models[1]
            score = forest.score(model["forest"], features)
            if score > model["threshold"] and not run:
                found[(guid, (T0 + timedelta(seconds=10 * i)).replace(tzinfo=None))] = score
            run = score > model["threshold"]
    return found


def batch_lines(values: dict[str, list[float]], first: int, end: int) -> list[str]:
    return [event(g, "CA", v[i], iso(T0 + timedelta(seconds=10 * i)))
            for i in range(first, end) for g, v in values.items()]


def test_the_stream_scores_as_the_model_does_and_takes_a_newer_model(spark, tmp_path):
    models = tmp_path / "models"
    first = trained_model(tmp_path, models, seed=1, budget=150.0)
    values = sensor_values()
    split = 35
    detectors = configured().detectors.changed("learned", model_dir=str(models))
    out = tmp_path / "out"
    console = io.StringIO()
    run = job_run(spark, job_config(out, bands=BANDS, detectors=detectors), console)
    run(kafka_records(spark, batch_lines(values, 0, split)), 0)
    # Batch 1 ends the input: the rules judge batch 0's readings with the first model.
    rest = kafka_records(spark, batch_lines(values, split, PER_SENSOR),
                         first_offset=split * len(values))
    run.end(rest, 1)
    # Between batches, a newer model (another forest, another threshold): the next batch, which
    # judges batch 1's readings, uses it.
    second = trained_model(tmp_path, models, seed=2, budget=500.0)
    run.after_end(rest.limit(0), 2)
    docs = [artifact.read(first), artifact.read(second)]
    want = expected(values, docs, split)
    got = {(a["guid"], a["event_time"]): (a["batch_id"], a["score"], a["reason"])
           for a in table_rows(out, "anomalies") if a["detector"] == "learned"}
    assert got.keys() == want.keys()
    assert len(want) >= 4 and {b for b, _, _ in got.values()} == {1, 2}  # both models found some
    for key, score in want.items():
        assert got[key][1] == pytest.approx(score, abs=1e-9)
        assert got[key][2] == "outlier"
    said = console.getvalue()
    assert f"learned: scoring with {first.name}" in said
    assert said.count(f"learned: now scoring with {second.name}") == 1


def test_no_model_the_detector_is_off_and_says_so_once(spark, tmp_path):
    values = sensor_values()
    console = io.StringIO()
    detectors = configured().detectors.changed("learned", model_dir=str(tmp_path / "none"))
    run = job_run(spark, job_config(tmp_path / "out", bands=BANDS, detectors=detectors), console)
    run(kafka_records(spark, batch_lines(values, 0, 30)), 0)
    run(kafka_records(spark, batch_lines(values, 30, PER_SENSOR), first_offset=90), 1, last=True)
    assert console.getvalue().count("learned: off: no model in") == 1
    assert [a for a in table_rows(tmp_path / "out", "anomalies") if a["detector"] == "learned"] == []
    # The other detectors still work: the spikes are zscore's.
    assert any(a["detector"] == "zscore" for a in table_rows(tmp_path / "out", "anomalies"))
