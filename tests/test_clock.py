"""The event-time clock judged per Kafka partition (idle partitions let go of it), re-sends across
partitions, and late readings restating their window within the horizon: through the main query's
batch handler, against hand-computed values."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest

from sparkdata import BANDS, BATCH_TIME, event, kafka_records
from streamrun import job_config, job_run
from tables import table_rows
from times import at, ts


@pytest.fixture
def run(spark, tmp_path):
    config = job_config(tmp_path / "out", bands=BANDS, window_seconds=60.0,
                        watermark_seconds=30.0, idle_timeout_seconds=60.0,
                        restate_horizon_seconds=120.0)

    def table(name: str) -> list[dict]:
        return table_rows(config.output_dir, name)

    return job_run(spark, config), table


def batch(spark, parts: dict[int, list[str]], offsets: dict[int, int], seconds: float,
          produced_at: datetime | None = None):
    """One micro-batch's records: lines per Kafka partition, at BATCH_TIME + seconds (produced
    at their event time, or at `produced_at`)."""
    frames = []
    for partition, lines in parts.items():
        frames.append(kafka_records(spark, lines, partition=partition,
                                    first_offset=offsets.get(partition, 0),
                                    batch_time=BATCH_TIME + timedelta(seconds=seconds),
                                    produced_at=produced_at))
        offsets[partition] = offsets.get(partition, 0) + len(lines)
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


def test_the_slowest_partition_holds_the_clock_until_it_goes_idle(spark, run):
    step, table = run
    offsets: dict[int, int] = {}
    # Partition 0 runs five minutes ahead of partition 1 (a backlog read in slices).
    step(batch(spark, {0: [event("x", "CA", 60.0, at("05:00")), event("x", "CA", 61.0, at("05:10"))],
                       1: [event("y", "AK", 20.0, at("00:40"))]}, offsets, 0), 0)
    # Partition 1 goes on where it was: nothing of it is late. The re-send of x's 05:00 reading,
    # on partition 1 this time, is recognised.
    step(batch(spark, {0: [event("x", "CA", 62.0, at("05:20"))],
                       1: [event("y", "AK", 21.0, at("01:20")), event("x", "CA", 60.0, at("05:00"))]},
               offsets, 3), 1)
    # Partition 1 sends nothing for 120 s (idle_timeout 60 s): partition 0 alone moves the clock.
    step(batch(spark, {0: [event("x", "CA", 63.0, at("05:40"))]}, offsets, 123), 2)
    # Partition 1 comes back behind the clock: its reading is late (and restates its window).
    step(batch(spark, {1: [event("y", "AK", 22.0, at("03:30"))]}, offsets, 126), 3)

    totals = {r["batch_id"]: r for r in table("batch_totals")}
    # min over active partitions of their latest event time, less 30 s; never back.
    assert [totals[b]["watermark"] for b in range(4)] == [ts("00:10"), ts("00:50"), ts("05:10"),
                                                         ts("05:10")]
    assert [totals[b]["late"] for b in range(4)] == [0, 0, 0, 1]
    assert [totals[b]["duplicates"] for b in range(4)] == [0, 1, 0, 0]
    dups = table("duplicates")
    assert [(r["guid"], r["event_time"], r["kind"], r["kafka_partition"]) for r in dups] == [
        ("x", ts("05:00"), "resend", 1)]
    written = sorted((r["batch_id"], r["window_start"], r["state"], r["messages"], r["revision"])
                     for r in table("window_stats"))
    assert written == [(2, ts("00:00"), "AK", 1, 0), (2, ts("01:00"), "AK", 1, 0),
                       (3, ts("03:00"), "AK", 1, 0)]


def test_late_readings_restate_their_window_within_the_horizon(spark, run):
    step, table = run
    offsets: dict[int, int] = {}
    step(batch(spark, {0: [event("a", "CA", 60.0, at("00:10")), event("b", "CA", 62.0, at("00:20")),
                           event("c", "AK", 20.0, at("02:40"))]}, offsets, 0), 0)
    # Clock 02:10: window 00:00 (ended 01:00) is within the 120 s horizon. a is in it already,
    # d is not; AK's window 01:00 was never written.
    step(batch(spark, {0: [event("a", "CA", 64.0, at("00:30")), event("d", "CA", 50.0, at("00:40")),
                           event("e", "AK", 30.0, at("01:30")),
                           event("c", "AK", 21.0, at("05:40"))]}, offsets, 3), 1)
    # Clock 05:10: window 00:00 ended more than 120 s before it: late, no restatement. A sensor
    # whose clock reset to 1970 (produced now): accepted, late, no finding, the clock unmoved.
    step(batch(spark, {0: [event("a", "CA", 66.0, at("00:45")),
                           event("b", "CA", 61.0, "1970-01-01T00:00:05.000000Z")]}, offsets, 6,
               produced_at=ts("05:45").replace(tzinfo=UTC)), 2)

    totals = {r["batch_id"]: r for r in table("batch_totals")}
    assert [totals[b]["watermark"] for b in range(3)] == [ts("02:10"), ts("05:10"), ts("05:10")]
    assert [totals[b]["late"] for b in range(3)] == [0, 3, 2]
    assert (totals[2]["accepted"], totals[2]["quarantined"]) == (2, 0)
    # b's 1970 reading raises nothing (nor does b's silence since 00:20: with one reading, its
    # cadence is not known, and it would be silent only at the TTL).
    assert [a for a in table("anomalies") if a["guid"] == "b"] == []
    assert [totals[b]["restated"] for b in range(3)] == [0, 2, 0]
    written = sorted((r["batch_id"], r["window_start"], r["state"], r["messages"], r["sensors"],
                      r["avg_temperature"], r["stddev_temperature"], r["revision"])
                     for r in table("window_stats"))
    ca = [60.0, 62.0, 64.0, 50.0]
    assert written == [
        (0, ts("00:00"), "CA", 2, 2, 61.0, pytest.approx(statistics.stdev(ca[:2])), 0),
        (1, ts("00:00"), "CA", 4, 3, pytest.approx(statistics.mean(ca)),
         pytest.approx(statistics.stdev(ca)), 1),
        (1, ts("01:00"), "AK", 1, 1, 30.0, None, 0),
        (1, ts("02:00"), "AK", 1, 1, 20.0, None, 0),
    ]
    late = sorted((r["batch_id"], r["guid"], r["event_time"]) for r in table("late_events"))
    assert late == [(1, "a", ts("00:30")), (1, "d", ts("00:40")), (1, "e", ts("01:30")),
                    (2, "a", ts("00:45")), (2, "b", datetime(1970, 1, 1, 0, 0, 5))]


def test_partitions_join_with_their_first_reading_and_the_clock_never_goes_back():
    from iotstream import windows

    t = BATCH_TIME.replace(tzinfo=None)
    clocks = windows.partition_clocks([], {0: ts("05:00"), 1: ts("03:00")}, t)
    assert windows.next_clock(None, clocks, t, 30.0, 60.0) == ts("02:30")
    # A partition added to the topic joins with its first reading; behind the clock, it cannot
    # move it back.
    later = t + timedelta(seconds=3)
    clocks = windows.partition_clocks(clocks, {1: ts("04:00"), 2: ts("01:00")}, later)
    assert [c["kafka_partition"] for c in clocks] == [0, 1, 2]
    assert windows.next_clock(ts("02:30"), clocks, later, 30.0, 60.0) == ts("02:30")
    # Every partition idle: the clock stays where it is.
    quiet = later + timedelta(seconds=60)
    assert windows.next_clock(ts("02:30"), clocks, quiet, 30.0, 60.0) == ts("02:30")
    # Only partition 2 reads on: the others idle, it alone moves the clock.
    clocks = windows.partition_clocks(clocks, {2: ts("06:00.250")}, quiet)
    assert windows.next_clock(ts("02:30"), clocks, quiet, 30.0, 60.0) == ts("05:30.250")


def test_a_batch_judges_its_own_readings_up_to_the_last_record_of_each_partition():
    from iotstream import windows

    t = BATCH_TIME.replace(tzinfo=None)
    before = windows.partition_clocks([], {0: ts("05:00"), 1: ts("03:00")}, t)
    later = t + timedelta(seconds=3)
    # Partition 0's last record in the batch is at 05:10, partition 1's at 05:20: the batch
    # judges its readings up to 05:10 (every partition is read past it).
    assert windows.judged_in_batch(ts("03:00"), before, {0: ts("05:10"), 1: ts("05:20")}, later,
                                   60.0) == ts("05:10")
    # Partition 1 brings nothing: it holds the clock at its 03:00 until it is idle.
    assert windows.judged_in_batch(ts("03:00"), before, {0: ts("05:10")}, later,
                                   60.0) == ts("03:00")
    quiet = t + timedelta(seconds=61)
    assert windows.judged_in_batch(ts("03:00"), before, {0: ts("05:10")}, quiet,
                                   60.0) == ts("05:10")
    # A last record that tells no time counts with its partition's clock before the batch; in a
    # partition without a clock yet, it keeps the rules' clock where it was.
    assert windows.judged_in_batch(ts("03:00"), before, {0: ts("05:10"), 1: None}, later,
                                   60.0) == ts("03:00")
    assert windows.judged_in_batch(ts("03:00"), before, {0: ts("05:10"), 1: ts("05:20"),
                                                         2: None}, later, 60.0) == ts("03:00")
    # Never back.
    assert windows.judged_in_batch(ts("04:00"), before, {1: ts("03:30")}, later,
                                   60.0) == ts("04:00")


@pytest.mark.parametrize(("value", "kafka", "policy", "expected"), [
    (b'{"eventTime": "2026-12-05T06:00:00Z"}', "2026-12-05T06:00:01Z", "quarantine",
     datetime(2026, 12, 5, 6, 0)),
    (b'{"eventTime": "2026-12-05T07:00:00.250+01:00"}', "2026-12-05T06:00:01Z", "quarantine",
     datetime(2026, 12, 5, 6, 0, 0, 250000)),
    (b'{"eventTime": "2026-12-05 06:00:00"}', "2026-12-05T06:00:01Z", "quarantine",
     datetime(2026, 12, 5, 6, 0)),
    (b'{"eventTime": "2006-11-14T19:48:05"}', "2026-12-05T06:00:01Z", "quarantine",
     datetime(2006, 11, 14, 19, 48, 5)),  # history: no max_past_seconds
    # More than max_future_seconds (300) after its Kafka timestamp: quarantined, or adjusted.
    (b'{"eventTime": "2099-01-01T00:00:00Z"}', "2026-12-05T06:00:01Z", "quarantine", None),
    (b'{"eventTime": "2099-01-01T00:00:00Z"}', "2026-12-05T06:00:01Z", "adjust",
     datetime(2026, 12, 5, 6, 0, 1)),
    (b'{"eventTime": "noon"}', "2026-12-05T06:00:01Z", "quarantine", None),
    (b'{"eventTime": 5}', "2026-12-05T06:00:01Z", "quarantine", None),
    (b'["eventTime"]', "2026-12-05T06:00:01Z", "quarantine", None),
    (b'\xff\xfe', "2026-12-05T06:00:01Z", "quarantine", None),
])
def test_the_time_of_a_partitions_last_record_is_the_one_the_job_gives_it(value, kafka, policy,
                                                                          expected):
    from iotstream.parse import TimePolicy, record_time

    kafka_ms = int(datetime.fromisoformat(kafka).timestamp() * 1000)
    assert record_time(value, kafka_ms, TimePolicy(300.0, 0.0, policy)) == expected


def test_the_last_records_time_is_never_one_the_job_would_not_give(spark):
    """Against the job's own parse (Spark): where record_time gives a time, the job accepts the
    record with that event time."""
    from iotstream import parse

    produced = datetime(2026, 12, 5, 6, 0, 1, tzinfo=UTC)
    times = ["2026-12-05T06:00:00Z", "2026-12-05T06:00:00.123456Z", "2026-12-05T07:00:00+01:00",
             "2026-12-05 06:00:00", "2026-12-05T06:00", "2026-12-05", "2006-11-14T19:48:05",
             "20261205T060000", "2026-12-5T06:00:00", "2026-12-05T06:00:00.1234567Z",
             "2099-01-01T00:00:00Z", "2026-12-05T06:00:00 UTC", "2026-12-05T24:00:00"]
    lines = [event("s", "CA", 60.0, t) for t in times]
    for action in ("quarantine", "adjust"):
        policy = parse.TimePolicy(300.0, 0.0, action)
        parsed = (kafka_records(spark, lines, produced_at=produced)
                  .transform(parse.parse_records(BANDS.baselines, 10_000, policy))
                  .orderBy("kafka_offset").collect())
        kafka_ms = int(produced.timestamp() * 1000)
        given = [parse.record_time(line.encode(), kafka_ms, policy) for line in lines]
        assert any(g is not None for g in given) and any(g is None for g in given)
        for text, mine, row in zip(times, given, parsed, strict=True):
            if mine is not None:
                assert row["reject_reason"] is None and row["event_time"] == mine, (action, text)
