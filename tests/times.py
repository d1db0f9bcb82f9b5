"""Time helpers of the tests: the simulator's eventTime text and back, and the short clocks the
hand-made cases are written in (all UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 1, 1, tzinfo=UTC)  # where the hand-made cases' clocks start
EVENT_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the simulator's eventTime, to the microsecond


def iso(t: datetime) -> str:
    """`t` as an eventTime (a naive `t` is taken as UTC)."""
    return t.strftime(EVENT_TIME_FORMAT)


def parse_iso(text: str) -> datetime:
    """An eventTime ("...Z") as an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def after(seconds: float) -> str:
    """The eventTime `seconds` after T0."""
    return iso(T0 + timedelta(seconds=seconds))


def ts(clock: str) -> datetime:
    """A clock "MM:SS[.fff]" in T0's hour, as the tables' timestamps are collected: naive UTC."""
    return datetime.fromisoformat(f"{T0:%Y-%m-%dT%H}:{clock}")


def at(clock: str) -> str:
    """A clock "MM:SS" in T0's hour as an eventTime."""
    return iso(ts(clock))


def micros(t: datetime) -> int:
    """An aware `t` as microseconds since the epoch (Spark's and the engine's timestamps)."""
    return round((t - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)
