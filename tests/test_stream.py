"""The streaming source and query setup, with the unit tests' session."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.errors import AnalysisException

from iotstream import stream
from iotstream.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def test_a_session_without_the_connector_is_recognised(spark):
    # The unit tests' session has no connector jars: exactly the mistake a user can make.
    config = load_config(ROOT / "conf" / "job.toml")
    with pytest.raises(AnalysisException) as caught:
        stream.read_kafka(spark, config)
    assert stream.is_missing_kafka_source(caught.value)
    assert not stream.is_missing_kafka_source(AnalysisException("[PATH_NOT_FOUND] no such path"))
