"""The offset log of a streaming checkpoint (`<checkpoint>/offsets/<batch_id>`), as Spark wrote
it: what the next run starts from, and where a batch ends, compared with the end of the topic
(InputEnd)."""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import SparkSession

from iotstream.io.fs import hadoop_fs, read_bytes


def last_offsets_entry(spark: SparkSession, checkpoint: str) -> str | None:
    """The text of the newest entry of a streaming checkpoint's offset log (None if none)."""
    fs, path = hadoop_fs(spark, checkpoint)
    folder = path(f"{checkpoint.rstrip('/')}/offsets")
    if not fs.exists(folder):
        return None
    batches = [int(s.getPath().getName()) for s in fs.listStatus(folder)
               if s.getPath().getName().isdigit()]
    if not batches:
        return None
    return read_bytes(spark, fs, path(folder, str(max(batches)))).decode("utf-8")


def batch_end_offsets(spark: SparkSession, checkpoint: str, batch_id: int) -> dict[tuple[str, int], int]:
    """Where batch `batch_id` ends in each Kafka partition ((topic, partition) → offset), from
    its offset log entry, which Spark writes before the batch runs; empty when there is none."""
    fs, path = hadoop_fs(spark, checkpoint)
    entry = path(f"{checkpoint.rstrip('/')}/offsets/{batch_id}")
    if not fs.exists(entry):
        return {}
    lines = read_bytes(spark, fs, entry).decode("utf-8").splitlines()
    ends: dict[tuple[str, int], int] = {}
    for line in lines[2:]:  # v1, the batch's metadata, then one line per source
        try:
            source = json.loads(line)
        except ValueError:
            continue
        if isinstance(source, dict):
            for topic, partitions in source.items():
                if isinstance(partitions, dict):
                    ends.update({(topic, int(p)): int(o) for p, o in partitions.items()})
    return ends


class InputEnd:
    """Whether a batch reads every partition of the job's topics to its end: its end offsets
    (the offset log) against the topics' latest offsets, asked of Kafka with its own consumer
    (the one Spark's Kafka connector brings, with the job's kafka.* options). For
    --available-now: the batch that reaches the end moves the clocks past every reading read."""

    def __init__(self, checkpoint: str, bootstrap_servers: str, topics: str,
                 kafka_options: dict[str, str]) -> None:
        self.checkpoint = checkpoint
        self.bootstrap_servers = bootstrap_servers
        self.topics = [t.strip() for t in topics.split(",") if t.strip()]
        self.kafka_options = kafka_options
        self._consumer: Any = None

    def __call__(self, spark: SparkSession, batch_id: int) -> bool:
        ends = batch_end_offsets(spark, self.checkpoint, batch_id)
        latest = self.latest_offsets(spark)
        return bool(latest) and all(ends.get(tp, -1) >= offset for tp, offset in latest.items())

    def latest_offsets(self, spark: SparkSession) -> dict[tuple[str, int], int]:
        """Each partition's end offset now ((topic, partition) → offset)."""
        jvm = spark._jvm
        if self._consumer is None:
            props = jvm.java.util.Properties()
            props.setProperty("bootstrap.servers", self.bootstrap_servers)
            for key, value in self.kafka_options.items():
                if key.startswith("kafka."):
                    props.setProperty(key[len("kafka."):], value)
            deserializer = "org.apache.kafka.common.serialization.ByteArrayDeserializer"
            props.setProperty("key.deserializer", deserializer)
            props.setProperty("value.deserializer", deserializer)
            self._consumer = jvm.org.apache.kafka.clients.consumer.KafkaConsumer(props)
        wanted = jvm.java.util.ArrayList()
        for topic in self.topics:
            for info in self._consumer.partitionsFor(topic):
                wanted.add(jvm.org.apache.kafka.common.TopicPartition(topic, info.partition()))
        ends = self._consumer.endOffsets(wanted)
        return {(tp.topic(), tp.partition()): int(ends.get(tp)) for tp in ends.keySet()}

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
