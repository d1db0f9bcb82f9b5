"""The streaming source and query setup, with the unit tests' session."""

from __future__ import annotations

import pytest
from pyspark.errors import AnalysisException

from conftest import configured
from iotstream import stream
from iotstream.config import ConfigError
from iotstream.io.fs import qualified


def test_a_session_without_the_connector_is_recognised(spark):
    # The unit tests' session has no connector jars: exactly the mistake a user can make.
    config = configured()
    with pytest.raises(AnalysisException) as caught:
        stream.read_kafka(spark, config)
    assert stream.is_missing_kafka_source(caught.value)
    assert not stream.is_missing_kafka_source(AnalysisException("[PATH_NOT_FOUND] no such path"))


def _config(**knobs):
    return configured().with_overrides(**knobs)


def test_scaling_knobs_become_spark_settings_for_each_cluster_manager():
    # conf/job.toml's shuffle partitions, and nothing else, when no knob is set.
    assert stream.scaling_settings(_config(), "yarn") == {
        "spark.sql.shuffle.partitions": str(configured().shuffle_partitions)}
    knobs = _config(executors=3, executor_cores=2, executor_memory="4g", shuffle_partitions=12)
    common = {"spark.sql.shuffle.partitions": "12", "spark.executor.cores": "2",
              "spark.executor.memory": "4g"}
    for master in ("yarn", "k8s://https://api:6443", "local-cluster[2,1,1024]"):
        assert stream.scaling_settings(knobs, master) == {**common, "spark.executor.instances": "3"}
    # Local mode has no executors to size.
    for master in ("local", "local[*]", "local[2]"):
        assert stream.scaling_settings(knobs, master) == {"spark.sql.shuffle.partitions": "12"}
    # Standalone counts cores, not executors.
    assert stream.scaling_settings(knobs, "spark://h:7077") == {**common, "spark.cores.max": "6"}
    with pytest.raises(ConfigError, match="needs executor_cores too"):
        stream.scaling_settings(_config(executors=3), "spark://h:7077")


def test_output_locations_are_made_absolute_for_the_executors(spark, tmp_path):
    # Hadoop's local file system resolves a relative path against the JVM's working directory.
    jvm_cwd = spark._jvm.java.lang.System.getProperty("user.dir")
    assert qualified(spark, "out/tables") == f"file:{jvm_cwd}/out/tables"
    assert qualified(spark, f"file://{tmp_path}/out") == f"file:{tmp_path}/out"
    assert qualified(spark, "/abs/out") == "file:/abs/out"
