"""The simulator's clocks: event times from the real UTC clock or from a simulated one, and
their text form (ISO-8601, microseconds, trailing Z)."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

DEFAULT_START_TIME = "2026-01-01T00:00:00Z"
DEFAULT_EVENT_INTERVAL_S = 0.01
MICROSECONDS_PER_SECOND = 1_000_000
ONE_MICROSECOND = timedelta(microseconds=1)


def wall_clock() -> Iterator[datetime]:
    """Yield true UTC now on each request, strictly increasing (a tie is bumped by 1 µs)."""
    last = datetime.min.replace(tzinfo=UTC)
    while True:
        now = datetime.now(UTC)
        last = now if now > last else last + ONE_MICROSECOND
        yield last


def simulated_clock(start: datetime, interval_s: float) -> Iterator[datetime]:
    """Yield start, start + interval, ... in exact integer microseconds (no float drift)."""
    step = timedelta(microseconds=round(interval_s * MICROSECONDS_PER_SECOND))
    return (start + i * step for i in itertools.count())


def format_utc(moment: datetime) -> str:
    """An aware UTC datetime as ISO-8601 with exactly 6 fractional digits and a trailing Z."""
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_utc(text: str) -> datetime:
    """ISO-8601 instant ('Z' allowed, naive means UTC) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
