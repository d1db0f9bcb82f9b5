"""runner._wait, the loop that waits for the job's query, on stand-in queries (no Spark): a
query that fails between two of its looks is still reported as failed (a clean-clone CI run saw
the job exit 0 after its query failed at start: it ended between the loop's two checks)."""

from __future__ import annotations

import pytest

from iotstream.runner import StopRequest, _wait


class Failed(Exception):
    pass


class EndsWhileLookedAt:
    """A query that is active at its first look and has failed by the next one."""

    def __init__(self) -> None:
        self.looks = 0
        self.error = Failed("the query failed at its start")

    @property
    def isActive(self) -> bool:  # noqa: N802 (pyspark's name)
        self.looks += 1
        return self.looks == 1

    def awaitTermination(self, timeout: float | None = None) -> bool:  # noqa: N802
        if self.looks > 1:
            raise self.error  # as pyspark does for a query that failed
        return False

    def exception(self) -> Exception | None:
        return self.error if self.looks > 1 else None


class EndsWell(EndsWhileLookedAt):
    def awaitTermination(self, timeout: float | None = None) -> bool:  # noqa: N802
        return True

    def exception(self) -> Exception | None:
        return None


def test_a_query_that_fails_between_two_looks_is_reported():
    with pytest.raises(Failed):
        _wait([EndsWhileLookedAt()], StopRequest())


def test_a_query_that_ends_well_ends_the_wait():
    assert _wait([EndsWell()], StopRequest()) is False
