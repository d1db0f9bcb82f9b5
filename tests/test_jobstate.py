"""The job's own versioned state (io.jobstate.VersionedState): Python's file calls on a local
checkpoint, Hadoop's FileSystem elsewhere; each reads what the other wrote."""

from __future__ import annotations

from datetime import datetime

from iotstream import windows
from iotstream.io.arrow import to_arrow
from iotstream.io.jobstate import VersionedState


def rows(n: int) -> list[dict]:
    return [{"kafka_partition": p, "max_event_time": datetime(2016, 11, 16, 13, n, p),
             "last_read": datetime(2026, 1, 1, 0, 0, n)} for p in range(3)]


def test_local_and_hadoop_saves_read_each_other_and_keep_two_versions(spark, tmp_path):
    local = VersionedState(str(tmp_path / "state"), windows.PARTITION_STATE_SCHEMA)
    hadoop = VersionedState(f"file://{tmp_path / 'state'}", windows.PARTITION_STATE_SCHEMA)
    hadoop.local = None  # as on hdfs:// or s3a://: every call through Hadoop's FileSystem
    assert local.local is not None
    assert local.load(spark, 0).num_rows == 0
    schema = windows.PARTITION_STATE_SCHEMA
    for batch_id, writer in enumerate((local, hadoop, local, hadoop)):
        writer.save(to_arrow(rows(batch_id), schema), batch_id, spark)
        for reader in (local, hadoop):
            got = reader.load(spark, batch_id + 1)
            assert got.equals(to_arrow(rows(batch_id), schema)), (batch_id, reader.local)
    # A replayed batch 3 reads what batch 2 left; only the last two versions are kept.
    assert local.load(spark, 3).equals(to_arrow(rows(2), schema))
    assert sorted(p.name for p in (tmp_path / "state").iterdir() if p.name.startswith("v=")) == [
        "v=2", "v=3"]
