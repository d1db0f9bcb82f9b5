"""rate_of_change through the job's streaming plan, batch after batch with a restart between
(the rule's state is the engine's), the input ended as a bounded run ends it: a spike is one
finding and the reading after it none; a move for good is one finding, at its first reading. The
rule reading by reading is the engine's RateOfChangeRuleTest."""

from __future__ import annotations

from datetime import timedelta

from conftest import configured
from sparkdata import BANDS, event, kafka_records
from streamrun import run_batches
from tables import table_rows
from times import T0, iso

STEP = 2.0  # seconds between the sensor's readings


def test_rate_of_change_reports_a_spike_and_a_move_once_each(spark, tmp_path):
    rule = configured().detectors["rate_of_change"]  # conf/job.toml's settings
    # A spike at 4 (back at once); the next batch (a new process) starts with a move up for good,
    # a jump only from the reading kept in the sensor's state.
    values = [60.0, 60.4, 59.8, 60.3, 72.0, 60.1] + [71.0, 71.4, 70.8, 71.2, 71.0, 70.9]
    lines = [event("j", "CA", v, iso(T0 + timedelta(seconds=i * STEP))) for i, v in enumerate(values)]
    out = tmp_path / "out"
    run_batches(spark, out, [kafka_records(spark, lines[:6]),
                             kafka_records(spark, lines[6:], first_offset=6)], last=True,
                bands=BANDS, detectors=configured().detectors.disabled(
                    "band", "three_sigma", "zscore", "stuck", "silent", "level_shift"))
    # Plain Python: a jump is a change from the last reading that was no jump of more than
    # max_f_per_minute over max(the time between them, min_interval_seconds).
    def jump(i: int, before: int) -> tuple:
        minutes = max((i - before) * STEP, rule["min_interval_seconds"]) / 60
        rate = (values[i] - values[before]) / minutes
        assert abs(rate) > rule["max_f_per_minute"]
        return (T0 + timedelta(seconds=i * STEP)).replace(tzinfo=None), values[i], "rise", rate

    found = [(a["batch_id"], a["event_time"], a["temperature"], a["reason"], a["score"])
             for a in table_rows(out, "anomalies") if a["detector"] == "rate_of_change"]
    # Each batch's readings are judged by the next (the rules' clock is then past them); the
    # last batch's by the batch that ends the input.
    assert sorted(found) == [(1, *jump(4, 3)), (2, *jump(6, 5))]
