"""The SQL a batch runs over its rows (compute.py): the figures, the side pass, the clock errors.

The batch's rows are a temporary view while a batch is computed. The queries are SQL text:
Spark parses each in one call, where the same query built from Python Column objects takes
about a hundred calls into the JVM, 1 ms each here (measured: 0.1-0.2 s per batch).
"""

from __future__ import annotations

from iotstream.contract import CONFLICT, DUPLICATE, IMPOSSIBLE, QUARANTINED, READING
from iotstream.detectors import WINDOW_RULES
from iotstream.schema import TABLES

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
       count_if(findings IS NOT NULL) AS found
FROM (SELECT *, CASE WHEN ok AND {_PLAUSIBLE} THEN temperature END AS t
      FROM (SELECT *, kind = '{READING}' AS ok FROM {VIEW}))
GROUP BY state, window_start, late, kafka_partition
"""
# The side pass: the rows that carry a finding (the step's `findings`, every per-sensor rule's;
# `found_<rule>`, each window rule's: the reading's z, when it is a finding), the late and
# quarantined records and duplicates whose tables the driver writes (unless Spark does), and
# new sensors:
# `wanted_by_driver` marks them all; and, with :readings, every accepted reading (for the
# readings table). A window rule <r> judges an on-time, possible reading by its z against its
# window: :limits_<r> holds the windows' (mean, stddev) per 'state|window start in µs', as JSON;
# :k_<r> is how many standard deviations make a finding.
SIDE_COLUMNS = (
    "kind", "guid", "state", "event_time", "temperature", "band_low", "band_high", "reason",
    "new_sensor", "late", "window_start", "kafka_partition", "kafka_offset", "kafka_timestamp",
    "raw", "reject_reason", "duplicate_kind", "kept_temperature", "findings",
    *(f"found_{name}" for name in WINDOW_RULES))
SIDE_COLUMNS += tuple(c for c in TABLES["readings"].names[2:] if c not in SIDE_COLUMNS)


def _each(template: str) -> str:
    """`template` once per window rule ({r}: its name), each after a comma."""
    return "".join(", " + template.format(r=name) for name in WINDOW_RULES)


_WINDOW_FOUND = (f"CASE WHEN :{{r}} AND kind = '{READING}' AND NOT late AND {_PLAUSIBLE} "
                 "AND abs(z_{r}) > :k_{r} THEN z_{r} END AS found_{r}")
SIDE_SQL = f"""
SELECT * FROM (
SELECT {", ".join(SIDE_COLUMNS)},
       findings IS NOT NULL{"".join(f" OR found_{n} IS NOT NULL" for n in WINDOW_RULES)}
       OR (kind = '{QUARANTINED}' AND :quarantine)
       OR (kind = '{DUPLICATE}' AND :duplicates)
       OR (kind = '{READING}' AND (new_sensor OR (late AND :late))) AS wanted_by_driver
FROM (SELECT *{_each(_WINDOW_FOUND)}
      FROM (SELECT *{_each("(temperature - limit_{r}[0]) / limit_{r}[1] AS z_{r}")}
            FROM (SELECT *{_each("try_element_at(from_json(:limits_{r}, 'map<string, array<double>>'), "
                                 "concat_ws('|', state, unix_micros(window_start))) AS limit_{r}")}
                  FROM {VIEW}))))
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
