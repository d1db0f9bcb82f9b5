"""State written by the engine before rules had state sections of their own (b8869d4, format 2:
one byte array per sensor) loads in today's engine, which keeps typed state per rule: a
checkpoint the old job left after reading part 1 of a topic (fixture: tests/data/state-b8869d4)
is resumed by today's job through spark-submit, on the real broker fed by the real console
producer, and the sensors' state goes on where it was: zscore judges a spike by the history read
before, stuck counts the repeats read before, and no sensor of before is new. Each sensor was
converted once: its bytes are gone, and Spark's state reader shows its typed state variables
(the sensor's core, and one per rule).
"""

from __future__ import annotations

import json
import shutil
import statistics
from datetime import datetime
from pathlib import Path

import pytest

from conftest import ROOT, run_script
from tables import table_rows

pytestmark = pytest.mark.e2e

FIXTURE = ROOT / "tests" / "data" / "state-b8869d4"
TOPIC = "iot-compat"  # the topic the fixture's checkpoint read (its offsets name it)
WRITTEN_AT = "file:/tmp/compat/output/"  # where the old job wrote it (in Spark's operator metadata)


def _copy_fixture(to: Path) -> Path:
    """The fixture's output folder copied to `to`, Spark's metadata pointed at the copy."""
    output = to / "output"
    shutil.copytree(FIXTURE / "output", output)
    metadata = output / "_checkpoint" / "state" / "0" / "_metadata" / "v2" / "0"
    metadata.write_text(metadata.read_text().replace(WRITTEN_AT, f"file:{output}/"))
    (metadata.parent / ".0.crc").unlink()  # Hadoop's checksum of the text before
    return output


def _readings(part: str) -> list[dict]:
    return [json.loads(line) for line in (FIXTURE / part).read_text().splitlines()]


def _state(spark, checkpoint: Path, variable: str) -> dict:
    """A state variable of the step (operator 0) as Spark's state reader shows it, by guid."""
    rows = spark.read.format("statestore").option("stateVarName", variable).load(str(checkpoint))
    return {r["key"]["value"]: r["value"] for r in rows.collect()}


def test_state_of_the_engine_before_loads_and_goes_on(broker, spark, tmp_path):
    broker.create_topic(TOPIC)
    broker.produce_file(TOPIC, FIXTURE / "part1.jsonl")
    broker.produce_file(TOPIC, FIXTURE / "part2.jsonl")
    output = _copy_fixture(tmp_path)
    # The old state kept no repeat rate of the sensors: stuck takes such a sensor to repeat
    # often (0.95) until it has one. A chance of 0.7 asks no more than `repeats` (10) even then,
    # so the repeats read before can be seen to count.
    config = tmp_path / "job.toml"
    config.write_text((ROOT / "conf" / "job.toml").read_text().replace(
        "chance = 1e-15", "chance = 0.7").replace('states_file = "states.csv"',
                                                  f'states_file = "{ROOT / "conf" / "states.csv"}"'))
    run_script("submit.sh", "--conf", "spark.ui.enabled=false", "--", broker.bootstrap, TOPIC,
               "--output-dir", str(output), "--available-now", "--config", str(config))

    part1, part2 = _readings("part1.jsonl"), _readings("part2.jsonl")
    totals = {t["batch_id"]: t for t in table_rows(output, "batch_totals")}
    # Resumed at part 2 (batch 1), which reaches the end of the input: batch 2 judges it.
    assert sorted(totals) == [0, 1, 2] and totals[1]["messages"] == len(part2)
    # Only s10 is new: the ten sensors of part 1 are known from the old state.
    sensors = table_rows(output, "sensors")
    assert sorted((s["batch_id"], s["guid"]) for s in sensors if s["batch_id"] == 1) == [(1, "s10")]
    assert len({s["guid"] for s in sensors}) == 11
    found = {(a["guid"], a["detector"]): a for a in table_rows(output, "anomalies") if a["batch_id"] >= 1}
    # zscore: s0's 72.0 against its 15 readings of part 1 (a fresh model has no history: no score).
    history = [r["payload"]["data"]["temperature"] for r in part1 if r["guid"] == "s0"]
    z = (72.0 - statistics.mean(history)) / max(statistics.pstdev(history), 0.5)  # min_sigma
    assert found[("s0", "zscore")]["score"] == pytest.approx(z, rel=1e-12)
    # stuck: s1's 61.0 six times in part 1 and four in part 2: the tenth (repeats = 10).
    repeats = [r for r in part1 + part2 if r["guid"] == "s1"][-10:]
    assert {r["payload"]["data"]["temperature"] for r in repeats} == {61.0}
    assert found[("s1", "stuck")]["score"] == 10.0
    assert found[("s1", "stuck")]["event_time"] == datetime.fromisoformat(
        repeats[-1]["eventTime"].rstrip("Z"))
    assert {key for key in found if key[1] not in ("three_sigma",)} == {("s0", "zscore"),
                                                                        ("s1", "stuck")}
    # Converted: no sensor keeps the bytes of before; each has its core and its rules' state.
    checkpoint = output / "_checkpoint"
    _ = spark.streams.active  # Spark's state reader needs the coordinator a streaming session starts
    assert _state(spark, checkpoint, "sensor") == {}
    core = _state(spark, checkpoint, "core")
    assert sorted(core) == sorted({s["guid"] for s in sensors})
    assert core["s1"]["lastValue"] == 61.0 and core["s1"]["state"] == repeats[-1]["state"]
    zscore = _state(spark, checkpoint, "zscore")["s0"]
    assert zscore["history"] == history and zscore["run"] == [72.0] and zscore["runReported"]
    assert _state(spark, checkpoint, "stuck")["s1"]["repeats"] == 10
