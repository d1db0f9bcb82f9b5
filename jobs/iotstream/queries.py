"""The SQL a batch runs over its rows (compute.py): the figures, the side pass, the clock errors.

The batch's rows are a temporary view while a batch is computed. The queries are SQL text:
Spark parses each in one call, where the same query built from Python Column objects takes
about a hundred calls into the JVM, 1 ms each here (measured: 0.1-0.2 s per batch).
"""

from __future__ import annotations

from iotstream.contract import CONFLICT, DUPLICATE, IMPOSSIBLE, QUARANTINED, READING
from iotstream.detectors import REGISTRY

VIEW = "iot_batch"
_PLAUSIBLE = f"(reason IS NULL OR reason <> '{IMPOSSIBLE}')"
FIGURES_SQL = f"""
SELECT state, window_start, late, kafka_partition,
       count_if(ok) AS messages, count(t) AS readings, sum(t) AS total,
       sum(t * t) AS total_sq, min(t) AS low, max(t) AS high,
       count_if(ok AND first_in_state) AS state_sensors,
       count_if(ok AND first_of_sensor) AS sensors,
       count_if(ok AND first_in_window) AS window_sensors,
       count_if(kind IN ('{READING}', '{QUARANTINED}', '{DUPLICATE}')) AS consumed,
       count_if(kind = '{QUARANTINED}') AS quarantined, count_if(kind = '{DUPLICATE}') AS duplicates,
       count_if(kind = '{DUPLICATE}' AND duplicate_kind = '{CONFLICT}') AS conflicts,
       count_if(ok AND clock IS NOT NULL) AS time_adjusted,
       count_if(kind IN ('{READING}', '{QUARANTINED}') AND clock IS NOT NULL) AS clock_errors,
       max(CASE WHEN kind IN ('{READING}', '{QUARANTINED}', '{DUPLICATE}') THEN batch_time END)
           AS batch_time,
       max(batch_time) AS step_time,
       max(CASE WHEN ok THEN event_time END) AS max_event_time,
       count_if(ok AND new_sensor) AS new_sensors,
       {", ".join(f"count_if({d.wanted}) AS hits_{n}" for n, d in REGISTRY.items()
                  if not d.side_only)}
FROM (SELECT *, CASE WHEN ok AND {_PLAUSIBLE} THEN temperature END AS t
      FROM (SELECT *, kind = '{READING}' AS ok FROM {VIEW}))
GROUP BY state, window_start, late, kafka_partition
"""
# The side pass: the rows that carry a finding of some detector (`finds_<name>`: the
# registry's `wanted`, with the detector on), the late and quarantined records and duplicates
# whose tables the driver writes (unless Spark does), and new sensors: `wanted_by_driver` marks
# them all; and, with :readings, every accepted reading (for the readings table). `sigma_z` is
# three_sigma's z: :limits holds its (mean, stddev) per 'state|window start in µs', as JSON.
# The side rows' columns: the record's and the step's that the tables need, then each detector's.
SIDE_COLUMNS = tuple(dict.fromkeys((
    "kind", "guid", "state", "event_time", "temperature", "band_low", "band_high", "reason",
    "sigma_z", "new_sensor", "late", "window_start", "kafka_partition", "kafka_offset",
    "kafka_timestamp", "raw", "reject_reason", "duplicate_kind", "kept_temperature",
    *(c for d in REGISTRY.values() for c in d.columns))))
_FINDS = ",\n             ".join(f"(({d.wanted}) AND :{d.name}) AS finds_{d.name}"
                           for d in REGISTRY.values())
SIDE_SQL = f"""
SELECT * FROM (
SELECT {", ".join(SIDE_COLUMNS)},
       {", ".join(f"finds_{n}" for n in REGISTRY)},
       {" OR ".join(f"finds_{name}" for name in REGISTRY)}
       OR (kind = '{QUARANTINED}' AND :quarantine)
       OR (kind = '{DUPLICATE}' AND :duplicates)
       OR (kind = '{READING}' AND (new_sensor OR (late AND :late))) AS wanted_by_driver
FROM (SELECT *,
             {_FINDS}
      FROM (SELECT *, CASE WHEN kind = '{READING}' AND NOT late AND {_PLAUSIBLE}
                                AND abs(z) > :sigma_k THEN z END AS sigma_z
            FROM (SELECT *, (temperature - limit[0]) / limit[1] AS z
                  FROM (SELECT *, try_element_at(
                                      from_json(:limits, 'map<string, array<double>>'),
                                      concat_ws('|', state, unix_micros(window_start))) AS limit
                        FROM {VIEW})))))
WHERE wanted_by_driver OR (kind = '{READING}' AND :readings)
"""
# A sensor's readings whose clock is off, per batch (only run when the figures count some).
CLOCK_SQL = f"""
SELECT guid, state, clock AS error,
       CASE WHEN kind = '{QUARANTINED}' THEN 'quarantined' ELSE 'adjusted' END AS action,
       count(*) AS readings, max(abs(clock_skew)) AS max_skew_seconds,
       max(timestamp_micros(unix_micros(kafka_timestamp) + CAST(round(clock_skew * 1e6) AS BIGINT)))
           AS latest_event_time
FROM {VIEW}
WHERE kind IN ('{READING}', '{QUARANTINED}') AND clock IS NOT NULL
GROUP BY guid, state, clock, kind
"""
