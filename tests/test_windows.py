"""Event-time windows, the watermark, late records, three_sigma and totals since the start,
through the main query's batch handler, against hand-computed values (restarts included)."""

from __future__ import annotations

import io
import statistics

import pytest

from conftest import configured
from sparkdata import BANDS, event, kafka_records
from streamrun import StreamRun, job_config, job_run
from tables import table_rows
from times import at, ts


@pytest.fixture
def make(spark, tmp_path):
    # The late reading of the first test restates its window: within the horizon set here.
    config = job_config(tmp_path / "out", bands=BANDS, window_seconds=60.0, watermark_seconds=30.0,
                        restate_horizon_seconds=3600.0,
                        detectors=configured().detectors.changed("three_sigma", enabled=True, k=1.5,
                                                                     min_readings=5))

    def new_process() -> tuple[StreamRun, io.StringIO]:
        out = io.StringIO()
        return job_run(spark, config, out), out

    return new_process, tmp_path / "out"


def test_windows_close_at_the_watermark_and_late_records_are_kept(spark, make):
    new_process, out = make
    first, _ = new_process()
    first(kafka_records(spark, [
        event("a", "CA", 60.0, at("00:10")), event("b", "CA", 62.0, at("00:20")),
        event("a", "CA", 64.0, at("00:50")), event("c", "AK", 20.0, at("01:10")),
    ]), 0)
    # Restarted in the middle of window 00:00-00:01: its partial sums come from the saved state.
    second, _ = new_process()
    second(kafka_records(spark, [event("b", "CA", 66.0, at("00:55")),
                                 event("a", "CA", 70.0, at("01:40"))], first_offset=4), 1)
    second(kafka_records(spark, [event("e", "CA", 61.0, at("00:59")),
                                 event("d", "AK", 22.0, at("02:45"))], first_offset=6), 2)

    totals = {r["batch_id"]: r for r in table_rows(out, "batch_totals")}
    # Watermark = latest event time so far - 30 s.
    assert [totals[b]["watermark"] for b in (0, 1, 2)] == [ts("00:40"), ts("01:10"), ts("02:15")]
    assert [totals[b]["late"] for b in (0, 1, 2)] == [0, 0, 1]
    assert [totals[b]["total_sensors"] for b in (0, 1, 2)] == [3, 3, 5]

    windows = sorted((r["batch_id"], r["window_start"], r["window_end"], r["state"], r["messages"],
                      r["sensors"], r["avg_temperature"], r["min_temperature"], r["max_temperature"],
                      r["stddev_temperature"], r["revision"])
                     for r in table_rows(out, "window_stats"))
    ca = [60.0, 62.0, 64.0, 66.0]
    # The late reading (e, 00:59) restates its window: revision 1 over all five readings.
    assert windows == [
        (1, ts("00:00"), ts("01:00"), "CA", 4, 2, 63.0, 60.0, 66.0, pytest.approx(statistics.stdev(ca)), 0),
        (2, ts("00:00"), ts("01:00"), "CA", 5, 3, pytest.approx(statistics.mean([*ca, 61.0])),
         60.0, 66.0, pytest.approx(statistics.stdev([*ca, 61.0])), 1),
        (2, ts("01:00"), ts("02:00"), "AK", 1, 1, 20.0, 20.0, 20.0, None, 0),
        (2, ts("01:00"), ts("02:00"), "CA", 1, 1, 70.0, 70.0, 70.0, None, 0),
    ]
    assert [totals[b]["restated"] for b in (0, 1, 2)] == [0, 0, 1]
    late = table_rows(out, "late_events")
    assert [(r["batch_id"], r["guid"], r["event_time"], r["window_start"], r["watermark"],
             r["kafka_offset"]) for r in late] == [(2, "e", ts("00:59"), ts("00:00"), ts("01:10"), 6)]
    # A late record still counts where processing time is concerned.
    assert totals[2]["accepted"] == totals[2]["messages"] == 2

    since = {(r["batch_id"], r["state"]): (r["messages"], r["sensors"], r["avg_temperature"])
             for r in table_rows(out, "state_totals")}
    assert since[(2, "CA")] == (6, 3, pytest.approx((60 + 62 + 64 + 66 + 70 + 61) / 6))
    assert since[(2, "AK")] == (2, 2, pytest.approx(21.0))
    assert since[(0, "CA")] == (3, 2, pytest.approx(62.0))
    sensors = sorted((r["guid"], r["state"], r["batch_id"]) for r in table_rows(out, "sensors"))
    assert sensors == [("a", "CA", 0), ("b", "CA", 0), ("c", "AK", 0), ("d", "AK", 2), ("e", "CA", 2)]


def test_three_sigma_scores_against_the_window_so_far_across_batches(spark, make):
    new_process, out = make
    first, _ = new_process()
    first(kafka_records(spark, [event(g, "CA", 60.0, at(f"00:0{i}")) for i, g in enumerate("abcde")]), 0)
    second, console = new_process()  # a restart: the window's first five readings are state now
    second(kafka_records(spark, [event("f", "CA", 70.0, at("00:30"))], first_offset=5), 1)
    window = [60.0] * 5 + [70.0]
    z = (70.0 - statistics.mean(window)) / statistics.stdev(window)
    assert z > 1.5  # k in this test
    found = table_rows(out, "anomalies")
    assert [(r["batch_id"], r["guid"], r["detector"], r["reason"]) for r in found] == [
        (1, "f", "three_sigma", "high")]
    assert found[0]["score"] == pytest.approx(z)
    assert "three_sigma" in console.getvalue()


def test_a_reading_can_be_flagged_by_band_and_three_sigma(spark, make):
    new_process, out = make
    processor, _ = new_process()
    window = [60.0] * 6 + [90.0]  # 90 is above CA's band (60 ± 15)
    processor(kafka_records(spark, [event(f"s{i}", "CA", v, at(f"00:0{i}"))
                                    for i, v in enumerate(window)]), 0, last=True)
    found = {(r["guid"], r["detector"]): r for r in table_rows(out, "anomalies")}
    assert set(found) == {("s6", "band"), ("s6", "three_sigma")}
    assert found[("s6", "band")]["score"] == pytest.approx(15.0)  # °F above the band
    z = (90.0 - statistics.mean(window)) / statistics.stdev(window)
    assert found[("s6", "three_sigma")]["score"] == pytest.approx(z)
    # three_sigma judges a reading as it arrives; band's run rule once the rules' clock reaches
    # it: here in the batch that ends the input.
    assert {r["batch_id"]: r["anomalies"] for r in table_rows(out, "batch_totals")} == {0: 1, 1: 1}


def test_a_replayed_batch_reads_the_window_state_its_first_try_read(spark, make):
    new_process, out = make
    first, _ = new_process()
    first(kafka_records(spark, [event("a", "CA", 60.0, at("00:10"))]), 0)
    first(kafka_records(spark, [event("a", "CA", 62.0, at("00:20")),
                                event("b", "CA", 64.0, at("01:40"))], first_offset=1), 1)
    replay, _ = new_process()  # batch 1 again, after a crash before Spark committed it
    replay(kafka_records(spark, [event("a", "CA", 62.0, at("00:20")),
                                 event("b", "CA", 64.0, at("01:40"))], first_offset=1), 1)
    windows = [(r["batch_id"], r["state"], r["messages"], r["avg_temperature"])
               for r in table_rows(out, "window_stats")]
    assert windows == [(1, "CA", 2, 61.0)]
    sensors = sorted(r["guid"] for r in table_rows(out, "sensors"))
    assert sensors == ["a", "b"]
    totals = {r["batch_id"]: r["total_sensors"] for r in table_rows(out, "batch_totals")}
    assert totals == {0: 1, 1: 2}
