"""The dashboard's panels as plain data (JSON-ready dicts), each one DuckDB query over the tables.

Times are UTC, as ISO text; a `state` or `detector` of None means all of them; `upto` keeps
to batches up to that id (None: every complete batch).
"""

from __future__ import annotations

from typing import Any

from dashboard.data import Tables


def _iso(column: str, alias: str | None = None) -> str:
    return f"strftime({column}, '%Y-%m-%dT%H:%M:%S.%gZ') AS {alias or column}"


def overview(tables: Tables, upto: int | None = None) -> dict[str, Any] | None:
    """The latest batch's totals and the sums since the first batch; None before any batch."""
    rows = tables.query(f"""
        SELECT batch_id, {_iso('batch_time')}, {_iso('watermark')}, messages, seconds,
               running_messages, total_sensors, states,
               sum(consumed) OVER () AS all_consumed, sum(accepted) OVER () AS all_accepted,
               sum(quarantined) OVER () AS all_quarantined,
               sum(duplicates) OVER () AS all_duplicates, sum(late) OVER () AS all_late,
               sum(anomalies) OVER () AS all_anomalies, count(*) OVER () AS batches
        FROM batch_totals ORDER BY batch_id DESC LIMIT 1""", upto=upto)
    return rows[0] if rows else None


def states(tables: Tables, upto: int | None = None) -> list[dict[str, Any]]:
    """Per state: its latest batch's average (the map's colour), and its figures since the start."""
    return tables.query(f"""
        WITH latest AS (
            SELECT state, avg_temperature, min_temperature, max_temperature, messages, sensors,
                   batch_id, {_iso('batch_time')}
            FROM state_stats WHERE avg_temperature IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY state ORDER BY batch_id DESC) = 1),
        since AS (
            SELECT state, messages AS all_messages, sensors AS all_sensors,
                   avg_temperature AS all_avg_temperature
            FROM state_totals WHERE batch_id = (SELECT max(batch_id) FROM state_totals)),
        flagged AS (SELECT state, count(*) AS anomalies FROM anomalies GROUP BY state)
        SELECT latest.*, since.all_messages, since.all_sensors, since.all_avg_temperature,
               coalesce(flagged.anomalies, 0) AS anomalies
        FROM latest LEFT JOIN since USING (state) LEFT JOIN flagged USING (state)
        ORDER BY state""", upto=upto)


def timeline(tables: Tables, batches: int = 200, upto: int | None = None) -> list[dict[str, Any]]:
    """The last `batches` batches, oldest first: volume, duration, ledger and watermark."""
    return tables.query(f"""
        SELECT * FROM (
            SELECT batch_id, {_iso('batch_time')}, messages, consumed, accepted, quarantined,
                   late, duplicates, anomalies, seconds, {_iso('watermark')},
                   epoch(batch_time) - epoch(watermark) AS watermark_delay
            FROM batch_totals ORDER BY batch_id DESC LIMIT ?)
        ORDER BY batch_id""", [batches], upto=upto)


def anomalies(tables: Tables, state: str | None, detector: str | None,
              limit: int = 100, upto: int | None = None) -> dict[str, Any]:
    """The latest `limit` anomalies (newest first), and the count of each detector's findings,
    both for `state`; the feed also for `detector`."""
    feed = tables.query(f"""
        SELECT batch_id, guid, state, {_iso('event_time')}, temperature, detector, reason, score
        FROM anomalies
        WHERE (? IS NULL OR state = ?) AND (? IS NULL OR detector = ?)
        ORDER BY batch_id DESC, event_time DESC, guid, detector LIMIT ?""",
                        [state, state, detector, detector, limit], upto=upto)
    counts = tables.query("""
        SELECT detector, count(*) AS anomalies FROM anomalies WHERE (? IS NULL OR state = ?)
        GROUP BY detector ORDER BY anomalies DESC, detector""", [state, state], upto=upto)
    return {"feed": feed, "by_detector": counts}


def sensors(tables: Tables, state: str | None, limit: int = 30,
            upto: int | None = None) -> list[dict[str, Any]]:
    """Sensors to drill into: those with the most anomalies first, then the others by guid."""
    return tables.query("""
        SELECT s.guid, s.state, count(a.guid) AS anomalies
        FROM sensors s LEFT JOIN anomalies a USING (guid)
        WHERE (? IS NULL OR s.state = ?)
        GROUP BY s.guid, s.state ORDER BY anomalies DESC, s.guid LIMIT ?""",
                        [state, state, limit], upto=upto)


def sensor(tables: Tables, guid: str, readings: int = 1000,
           upto: int | None = None) -> dict[str, Any]:
    """One sensor's latest `readings` readings (oldest first) written today or yesterday (UTC:
    the readings table grows by a row per record, and only those date folders are read), with
    the zscore band each was judged by, and the anomalies found on it since the first of them."""
    series = tables.query(f"""
        SELECT * FROM (
            SELECT {_iso('event_time')}, event_time AS sort_time, state, temperature, late,
                   zscore_mean, zscore_low, zscore_high
            FROM readings WHERE date >= current_date - 1 AND guid = ?
            ORDER BY event_time DESC, batch_id DESC LIMIT ?)
        ORDER BY sort_time""", [guid, readings], upto=upto)
    since = series[0]["sort_time"] if series else None
    for row in series:
        del row["sort_time"]
    found = tables.query(f"""
        SELECT {_iso('event_time')}, temperature, detector, reason, score, batch_id
        FROM anomalies WHERE guid = ? AND (? IS NULL OR event_time >= ?)
        ORDER BY event_time, detector""", [guid, since, since], upto=upto)
    return {"guid": guid, "readings": series, "anomalies": found}


def windows(tables: Tables, state: str | None, per_state: int = 1,
            upto: int | None = None) -> list[dict[str, Any]]:
    """The latest `per_state` closed windows of each state (or of `state`), newest first, each
    as its latest revision (late readings restate a window: window_stats.revision)."""
    return tables.query(f"""
        WITH latest AS (
            SELECT * FROM window_stats WHERE ? IS NULL OR state = ?
            QUALIFY row_number() OVER (PARTITION BY state, window_start
                                       ORDER BY coalesce(revision, 0) DESC, batch_id DESC) = 1)
        SELECT state, {_iso('window_start')}, {_iso('window_end')}, avg_temperature,
               min_temperature, max_temperature, stddev_temperature, messages, sensors, batch_id,
               coalesce(revision, 0) AS revision
        FROM latest
        QUALIFY row_number() OVER (PARTITION BY state ORDER BY window_start DESC) <= ?
        ORDER BY window_start DESC, state""", [state, state, per_state], upto=upto)
