"""The IoT telemetry simulator (run it as ./iotsimulator.py; `-h` tells how). One module per concern:

    clock     event times: the real UTC clock or a simulated one, and their ISO-8601 text
    fleet     the sensors and the bounded walk of their temperatures
    faults    the event stream, with labelled point anomalies, incidents and level shifts
    output    events as JSON lines on stdout, flat out or paced
    producer  events into Kafka (kafka-python, imported only when used)
    cli       the command line; it reads the states table with the job's iotstream.states, so
              jobs/ must be on sys.path (iotsimulator.py puts it there)

Importing the package needs only the standard library; it offers the names below, the ones
tests use to check the model.
"""
from __future__ import annotations

from simulator.clock import (
    DEFAULT_START_TIME,
    format_utc,
    parse_utc,
    simulated_clock,
    wall_clock,
)
from simulator.faults import (
    ANOMALY_KINDS,
    DRIFT_MAX_F,
    DRIFT_MIN_F,
    DRIFT_READINGS,
    IMPOSSIBLE_MAX_F,
    IMPOSSIBLE_MIN_F,
    INCIDENT_KINDS,
    LABEL_COLUMNS,
    LABEL_KINDS,
    SHIFT_MAX_F,
    SHIFT_MIN_F,
    SILENT_SECONDS,
    SPIKE_MAX_F,
    SPIKE_MIN_F,
    STUCK_READINGS,
    AnomalyLabel,
    events,
)
from simulator.fleet import (
    DEFAULT_STATES_FILE,
    NORMAL_MAX_DEVIATION,
    ROUNDING_SLACK_F,
    START_SPREAD_F,
    WALK_BOUND_F,
    Sensor,
    make_sensors,
)

__all__ = [
    "ANOMALY_KINDS", "DEFAULT_START_TIME", "DEFAULT_STATES_FILE", "DRIFT_MAX_F", "DRIFT_MIN_F",
    "DRIFT_READINGS", "IMPOSSIBLE_MAX_F", "IMPOSSIBLE_MIN_F", "INCIDENT_KINDS", "LABEL_COLUMNS",
    "LABEL_KINDS", "NORMAL_MAX_DEVIATION", "ROUNDING_SLACK_F", "SHIFT_MAX_F", "SHIFT_MIN_F",
    "SILENT_SECONDS", "SPIKE_MAX_F", "SPIKE_MIN_F", "START_SPREAD_F", "STUCK_READINGS",
    "WALK_BOUND_F", "AnomalyLabel", "Sensor", "events", "format_utc", "make_sensors", "parse_utc",
    "simulated_clock", "wall_clock",
]
