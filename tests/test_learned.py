"""The learned detector without Spark: its features (the reference LearnedRule.java must equal),
the forest as data against scikit-learn's own scores, training from a readings table into an
artifact, and how the driver picks the artifact a batch scores with."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest

from conftest import configured
from iotstream.learned import artifact, forest
from iotstream.learned.features import NAMES, FeatureSpec, sensor_features
from iotstream.models import ModelWatch
from learned_data import noisy_readings, train, trained_model, write_readings

LEARNED = configured().detectors["learned"]  # conf/job.toml's [detectors.learned]
SPEC = FeatureSpec.of(LEARNED)


def settings(**changed):
    return {**LEARNED, **changed}


def test_features_are_spread_scaled_distances_before_the_reading_joins():
    # The same numbers as LearnedRuleTest: spans 3 and 7 (weights 0.5, 0.25), warm after 2.
    spec = FeatureSpec(fast_span=3, slow_span=7, warmup=2, min_sigma=0.5)
    got = list(sensor_features([10.0, 12.0, 14.0], spec))
    assert got[:2] == [None, None]
    slow_spread = math.sqrt(0.75)
    assert got[2] == pytest.approx((3.0, 2.0, 3.5 / slow_spread, math.log(1.0 / slow_spread)),
                                   abs=1e-12)
    flat = list(sensor_features([20.0] * 5 + [21.0], spec))
    assert flat[-1] == pytest.approx((2.0, 2.0, 2.0, 0.0), abs=1e-12)  # min_sigma, not 0


def test_the_exported_forest_scores_as_scikit_learn_does():
    rnd = np.random.default_rng(3)
    X = rnd.normal(size=(2000, len(NAMES))) * [1, 2, 0.5, 0.1]
    # max_features < 1: each tree sees some features, in its own order (the export maps them).
    model = IsolationForest(n_estimators=40, max_features=0.75, random_state=1).fit(X)
    data = forest.export(model, len(NAMES))
    probe = np.vstack([X[:300], rnd.normal(size=(100, len(NAMES))) * 6])
    ours = [forest.score(data, row) for row in probe]
    assert np.allclose(ours, -model.score_samples(probe), rtol=0, atol=1e-12)
    assert forest.average_path_length(256) == pytest.approx(
        2 * (math.log(255) + 0.5772156649015329) - 2 * 255 / 256)


def test_training_writes_an_artifact_with_its_metadata(tmp_path):
    models = tmp_path / "models"
    path = trained_model(tmp_path, models, budget=30.0)
    assert path.parent == models and artifact.PATTERN.match(path.name)
    doc = artifact.read(path)
    assert doc["features"]["names"] == list(NAMES)
    assert artifact.spec(doc) == SPEC
    t = doc["training"]
    readings = noisy_readings(12, 120, 0)
    assert (t["readings"], t["sensors"]) == (len(readings), 12)
    assert t["rows"] == len(readings) - 12 * SPEC.warmup  # each sensor warms up first
    assert t["first_event_time"] == min(r["event_time"] for r in readings).isoformat()
    assert t["last_event_time"] == max(r["event_time"] for r in readings).isoformat()
    days = 12 * 119 * 10 / 86_400  # each sensor's span: 119 intervals of 10 s
    assert doc["budget"] == {"findings_per_sensor_day": 30.0, "sensor_days": pytest.approx(days)}
    assert doc["parameters"]["trees"] == 50
    assert set(doc["libraries"]) == {"python", "numpy", "scikit-learn", "pyarrow"}
    # The threshold is the lowest above which the training readings give at most 30 findings
    # per sensor-day (a sensor's run above it is one), at it and at every higher threshold:
    # recompute the scores from the artifact, and the findings at each candidate by brute force.
    by_sensor: dict[str, list[float]] = {}
    for r in readings:
        by_sensor.setdefault(r["guid"], []).append(r["temperature"])
    scored = [[forest.score(doc["forest"], f) for f in sensor_features(values, SPEC)
               if f is not None] for values in by_sensor.values()]

    def findings(t: float) -> int:
        return sum(s > t and (i == 0 or series[i - 1] <= t)
                   for series in scored for i, s in enumerate(series))

    allowed = 30.0 * days
    candidates = sorted({s for series in scored for s in series})
    counts = [findings(t) for t in candidates]
    first = next(k for k in range(len(candidates)) if max(counts[k:]) <= allowed)
    assert doc["threshold"] == pytest.approx(candidates[first], abs=1e-12)
    assert 0 < counts[first] <= allowed < counts[first - 1]
    assert doc["figures"]["training"]["findings"] == findings(doc["threshold"])
    assert doc["figures"]["training"]["above_threshold"] == sum(
        s > doc["threshold"] for series in scored for s in series)


def test_measured_figures_are_kept_in_the_artifact(tmp_path, capsys):
    out, models = tmp_path / "out", tmp_path / "models"
    write_readings(out, noisy_readings(4, 100, 3))
    figures = tmp_path / "realdata.json"
    figures.write_text(json.dumps({"check": {"union": {"windows": 4, "of": 6}}}))
    assert train.main(["--output-dir", str(out), "--model-dir", str(models),
                       "--figures", str(figures)]) == 0
    (path,) = models.glob("learned-*.json")
    assert artifact.read(path)["figures"]["measured"] == {"check": {"union": {"windows": 4, "of": 6}}}
    assert train.main(["--output-dir", str(out), "--model-dir", str(models),
                       "--figures", str(tmp_path / "missing.json")]) == 1
    assert "cannot read --figures" in capsys.readouterr().err


def test_training_says_what_is_wrong_with_a_missing_or_empty_table(tmp_path, capsys):
    assert train.main(["--output-dir", str(tmp_path / "nothing"), "--model-dir", str(tmp_path / "m")]) == 1
    assert "no readings table in" in capsys.readouterr().err
    late = [dict(r, late=True) for r in noisy_readings(2, 50, 1)]  # none reached the detectors
    write_readings(tmp_path / "out", late)
    assert train.main(["--output-dir", str(tmp_path / "out"), "--model-dir", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert "0 readings to learn from" in err and "at least 256" in err
    assert not (tmp_path / "m").exists()


def test_the_driver_takes_the_newest_usable_model_ships_it_and_says_so(spark, tmp_path):
    from pyspark import SparkFiles

    from iotstream.pipeline import model_files

    models = tmp_path / "models"
    out = io.StringIO()
    files = model_files(spark)  # the job's: Hadoop's FileSystem, addFile

    def shipped(name: str) -> str:
        """The copy the tasks read (SparkFiles), its text."""
        return Path(SparkFiles.get(name)).read_text()

    watch = ModelWatch(settings(model_dir=models.as_uri()), out)
    assert watch.location(files) == "" and watch.location(files) == ""
    assert out.getvalue().count(f"learned: off: no model in {models.as_uri()}") == 1  # said once
    first = trained_model(tmp_path, models, seed=1)
    assert watch.location(files) == first.name
    assert shipped(first.name) == first.read_text()
    assert f"learned: scoring with {first.name}" in out.getvalue()
    second = trained_model(tmp_path, models, seed=2)
    assert second.name > first.name
    assert watch.location(files) == second.name and shipped(second.name) == second.read_text()
    assert f"learned: now scoring with {second.name}" in out.getvalue()
    # A newer artifact trained with other feature settings is refused; the one before stays.
    doc = json.loads(second.read_text())
    doc["trained_at"] = "2099-01-01T00:00:00.000000Z"
    doc["features"]["fast_span"] = 12
    refused = artifact.write(models, doc)
    assert watch.location(files) == second.name
    said = out.getvalue()
    assert f"cannot use it: model {models.as_uri()}/{refused.name}" in said
    assert f"still scoring with {second.name}" in said
    assert watch.location(files) == second.name
    assert out.getvalue().count("cannot use it") == 1
    # Disabled: nothing is scored, whatever the folder holds.
    disabled = ModelWatch(settings(enabled=False, model_dir=str(models)), out)
    assert disabled.location(files) == ""


def test_an_artifact_of_another_format_is_refused_by_name(tmp_path):
    bad = tmp_path / "learned-20260101T000000Z.json"
    bad.write_text(json.dumps({"format": 7, "method": "isolation_forest"}))
    with pytest.raises(artifact.ArtifactError, match="not an artifact of this job's version"):
        artifact.read(bad)


def test_training_and_the_driver_take_any_uri_the_job_s_hadoop_configuration_reads(spark, tmp_path):
    """viewfs:// (Hadoop's mount table: a scheme pyarrow does not read) over two local folders:
    train.sh reads the readings table and writes the artifact through Hadoop, as it would on
    hdfs:// or s3a://, and the job's driver finds it there."""
    from iotstream.pipeline import model_files

    out, models, local_models = tmp_path / "out", tmp_path / "models", tmp_path / "local"
    models.mkdir()
    write_readings(out, noisy_readings(6, 100, 4))
    hadoop = spark._jsc.hadoopConfiguration()
    hadoop.set("fs.viewfs.mounttable.iot-train.link./data", out.as_uri())
    hadoop.set("fs.viewfs.mounttable.iot-train.link./models", models.as_uri())
    assert train.main(["--output-dir", "viewfs://iot-train/data", "--model-dir",
                       "viewfs://iot-train/models", "--findings-per-sensor-day", "30"]) == 0
    (path,) = models.glob("learned-*.json")
    doc = artifact.read(path)
    # The same readings as pyarrow reads from the folder itself: the same model.
    _, local = train.train(train.parse_args(["--output-dir", str(out), "--model-dir",
                                             str(local_models), "--findings-per-sensor-day", "30"]))
    assert doc["forest"] == local["forest"] and doc["threshold"] == local["threshold"]
    assert doc["training"]["output_dir"] == "viewfs://iot-train/data"
    said = io.StringIO()
    watch = ModelWatch(settings(model_dir="viewfs://iot-train/models"), said)
    assert watch.location(model_files(spark)) == path.name
    assert f"learned: scoring with {path.name}" in said.getvalue()
