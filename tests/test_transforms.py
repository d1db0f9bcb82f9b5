"""Unit tests of the pure DataFrame transforms, on small batch DataFrames (one shared session)."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import functions as F

from iotstream import band_rule, parse
from sparkdata import BANDS, MAX_RECORD_BYTES, event, kafka_records

T1 = datetime(2026, 1, 1, 0, 0, 1)  # the default event time of sparkdata.event


def PARSE(records):
    """The parse transform under test (Columns can only be built once a session exists)."""
    return parse.parse_records(BANDS.baselines, MAX_RECORD_BYTES)(records)


def test_parse_reads_every_field_of_a_good_event(spark):
    line = event("g1", "CA", 61.5, "2026-03-04T05:06:07.123456Z")
    got = kafka_records(spark, [line], partition=2, first_offset=40).transform(PARSE).collect()
    assert len(got) == 1
    row = got[0].asDict()
    assert row["guid"] == "g1"
    assert row["destination"] == "0-AAA00000001"
    assert row["state"] == "CA"
    assert row["temperature"] == 61.5
    assert row[parse.REJECT_REASON] is None
    # The session is UTC, so the collected naive datetime is the UTC wall time.
    assert row["event_time"] == datetime(2026, 3, 4, 5, 6, 7, 123456)


def test_parse_names_why_a_record_cannot_be_used(spark):
    good = event("g", "CA", 60.0)
    cases = {
        None: "null_value",
        b"\xff\xfe{not utf-8": "not_utf8",
        "": "empty",
        "   ": "empty",
        '{"guid": "' + "x" * 1_000_000 + '"}': "too_long",  # a 1 MB line
        "not json at all": "not_json",
        good[:40]: "not_json",  # truncated
        "[1, 2, 3]": "not_object",
        "42": "not_object",
        '"a string"': "not_object",
        good.replace('"guid": "g", ', ""): "missing_field:guid",
        good.replace('"guid": "g"', '"guid": null'): "missing_field:guid",
        good.replace('"state": "CA", ', ""): "missing_field:state",
        good.replace('"eventTime": "2026-01-01T00:00:01.000000Z", ', ""): "missing_field:eventTime",
        good.replace('"temperature": 60.0', '"t": 60.0'): "missing_field:temperature",
        good.replace("60.0", '"hot"'): "bad_type:temperature",
        # A bad type in a record that otherwise parses: an object where text belongs is refused;
        # a bare number where text belongs is taken as its text (Spark's JSON reader does so).
        good.replace('"guid": "g"', '"guid": 7'): None,
        good.replace('"state": "CA"', '"state": {"code": "CA"}'): "bad_type:state",
        event("g", "CA", 60.0, event_time="yesterday"): "bad_value:eventTime",
        event("g", "ZZ", 60.0): "unknown_state",
        good.replace("60.0", "NaN"): "bad_value:temperature",
        good.replace("60.0", "Infinity"): "bad_value:temperature",
        good.replace("60.0", "1e999"): "bad_value:temperature",
        good: None,
    }
    got = kafka_records(spark, list(cases)).transform(PARSE).select(parse.REJECT_REASON).collect()
    assert [r[0] for r in got] == list(cases.values())


def test_quarantine_keeps_the_record_and_where_it_came_from(spark):
    lines = [event("g", "CA", 60.0), b"\xff\xfe", "oops", None]
    parsed = kafka_records(spark, lines, partition=4, first_offset=100).transform(PARSE)
    got = parsed.where(~parse.is_usable()).select(
        "kafka_partition", "kafka_offset", "kafka_timestamp", "raw",
        F.col(parse.REJECT_REASON).alias("reason")).collect()
    assert [(r.kafka_partition, r.kafka_offset, r.raw, r.reason) for r in got] == [
        (4, 101, "base64://4=", "not_utf8"),
        (4, 102, "oops", "not_json"),
        (4, 103, None, "null_value"),
    ]
    assert all(r.kafka_timestamp is not None for r in got)


def test_usable_keeps_only_accepted_events(spark):
    lines = [event("a", "CA", 60.0), "garbage", event("b", "ZZ", 1.0), event("c", "AK", 20.0)]
    got = kafka_records(spark, lines).transform(PARSE).where(parse.is_usable())
    assert sorted(r.guid for r in got.collect()) == ["a", "c"]
    assert {"guid", "destination", "state", "event_time", "temperature"} <= set(got.columns)


def _flagged(spark, readings):
    lines = [event(f"g{i}", s, t) for i, (s, t) in enumerate(readings)]
    return (
        kafka_records(spark, lines)
        .transform(PARSE)
        .transform(band_rule.flag_out_of_band(BANDS))
    )


def test_bands_use_the_state_baseline_and_per_state_tolerance(spark):
    got = _flagged(spark, [("CA", 60.0), ("AK", 26.0)]).select("band_low", "band_high").collect()
    assert [tuple(r) for r in got] == [(45.0, 75.0), (1.0, 51.0)]


def test_anomaly_reasons_at_and_beyond_the_band_edges(spark):
    readings = {
        ("CA", 75.0): None,          # on the edge: inside
        ("CA", 45.0): None,
        ("CA", 75.1): "above_band",
        ("CA", 44.9): "below_band",
        ("AK", 0.5): "below_band",   # AK's own tolerance (25): band 1..51
        ("AK", 50.0): None,          # inside AK's band, would be out with the default 15
        ("CA", 140.0): "above_band",  # physically possible, out of CA's band
        ("CA", 140.1): "impossible",  # impossible wins over the band
        ("AK", -130.5): "impossible",
    }
    got = _flagged(spark, list(readings)).select("reason").collect()
    assert [r.reason for r in got] == list(readings.values())

