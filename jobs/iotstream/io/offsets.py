"""The offset log of a streaming checkpoint (`<checkpoint>/offsets/<batch_id>`), as Spark wrote
it: what the next run starts from, where a batch ends, compared with the end of the topic
(InputEnd), and the last record a batch reads from each partition (BatchTails)."""

from __future__ import annotations

import json
import time
from typing import Any

from pyspark.sql import SparkSession

from iotstream.io.fs import hadoop_fs, put_file, read_bytes


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


def _entry(spark: SparkSession, checkpoint: str, batch_id: int) -> list[str]:
    """The lines of batch `batch_id`'s offset log entry (none when there is no entry)."""
    fs, path = hadoop_fs(spark, checkpoint)
    entry = path(f"{checkpoint.rstrip('/')}/offsets/{batch_id}")
    if not fs.exists(entry):
        return []
    return read_bytes(spark, fs, entry).decode("utf-8").splitlines()


def _metadata(lines: list[str], key: str) -> int | None:
    """A number of the batch's metadata (the entry's second line), or None."""
    for line in lines[1:2]:  # v1, then the batch's metadata
        try:
            return int(json.loads(line)[key])
        except (ValueError, KeyError, TypeError):
            return None
    return None


def _ends(lines: list[str]) -> dict[tuple[str, int], int]:
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


def batch_watermark_ms(spark: SparkSession, checkpoint: str, batch_id: int) -> int | None:
    """Spark's event-time watermark for batch `batch_id` (ms), from its offset log entry."""
    return _metadata(_entry(spark, checkpoint, batch_id), "batchWatermarkMs")


def batch_end_offsets(spark: SparkSession, checkpoint: str, batch_id: int) -> dict[tuple[str, int], int]:
    """Where batch `batch_id` ends in each Kafka partition ((topic, partition) → offset), from
    its offset log entry, which Spark writes before the batch runs; empty when there is none."""
    return _ends(_entry(spark, checkpoint, batch_id))


def driver_consumer(spark: SparkSession, bootstrap_servers: str, kafka_options: dict[str, str],
                    **extra: str) -> Any:
    """A Kafka consumer on the driver (the one Spark's Kafka connector brings), with the job's
    kafka.* options: byte-array records, no group, nothing committed."""
    jvm = spark._jvm
    props = jvm.java.util.Properties()
    props.setProperty("bootstrap.servers", bootstrap_servers)
    for key, value in kafka_options.items():
        if key.startswith("kafka."):
            props.setProperty(key[len("kafka."):], value)
    deserializer = "org.apache.kafka.common.serialization.ByteArrayDeserializer"
    props.setProperty("key.deserializer", deserializer)
    props.setProperty("value.deserializer", deserializer)
    props.setProperty("enable.auto.commit", "false")
    for key, value in extra.items():
        props.setProperty(key.replace("_", "."), value)
    return jvm.org.apache.kafka.clients.consumer.KafkaConsumer(props)


class _DriverReader:
    """What the driver asks of Kafka itself about the job's checkpoint and topics, with one
    consumer of its own (driver_consumer), made when first needed and closed with close()."""

    def __init__(self, checkpoint: str, bootstrap_servers: str, topics: str,
                 kafka_options: dict[str, str]) -> None:
        self.checkpoint = checkpoint
        self.bootstrap_servers = bootstrap_servers
        self.topics = [t.strip() for t in topics.split(",") if t.strip()]
        self.kafka_options = kafka_options
        self._consumer: Any = None

    def consumer(self, spark: SparkSession, **extra: str) -> Any:
        if self._consumer is None:
            self._consumer = driver_consumer(spark, self.bootstrap_servers, self.kafka_options,
                                             **extra)
        return self._consumer

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


class BatchTails(_DriverReader):
    """The last record a batch reads from each Kafka partition (the one before the batch's end
    offset, in the offset log), read with the driver's own consumer before the batch runs, and
    Spark's time for the batch. A partition is in the order it was produced: nothing read
    after that record can be older than it, so its time lets the batch judge its own readings
    (pipeline.py). Only partitions the batch reads records from; none in a job's first batch
    (where it starts is not in the log) or when the job reads more than one topic (the clocks
    are kept per partition number)."""

    POLL_MS = 1_000  # at most this long for the partitions' records

    def __init__(self, checkpoint: str, bootstrap_servers: str, topics: str,
                 kafka_options: dict[str, str]) -> None:
        super().__init__(checkpoint, bootstrap_servers, topics, kafka_options)
        # The last batch's ends (batch id, ends): where the next batch starts.
        self._last: tuple[int, dict[tuple[str, int], int]] | None = None

    def __call__(self, spark: SparkSession,
                 batch_id: int) -> tuple[int | None, dict[int, tuple[bytes, int] | None]]:
        """(Spark's time for the batch in ms, {partition the batch reads records from: (its last
        record's value, its Kafka timestamp in ms), or None when it cannot be read}); no
        partitions when the batch's ends are not known."""
        lines = _entry(spark, self.checkpoint, batch_id)
        when, ends = _metadata(lines, "batchTimestampMs"), _ends(lines)
        last, self._last = self._last, (batch_id, ends)
        if len(self.topics) != 1 or batch_id == 0 or when is None or not ends:
            return when, {}
        starts = (last[1] if last is not None and last[0] == batch_id - 1
                  else batch_end_offsets(spark, self.checkpoint, batch_id - 1))
        if not starts:
            return when, {}
        # A partition the batch before did not know (added to the topic) starts at 0.
        moved = {tp: end for tp, end in ends.items()
                 if tp[0] == self.topics[0] and end > starts.get(tp, 0)}
        return when, self._records_before(spark, moved) if moved else {}

    def _records_before(self, spark: SparkSession, ends: dict[tuple[str, int], int]
                        ) -> dict[int, tuple[bytes, int] | None]:
        """The record before each partition's end: (value, Kafka timestamp in ms), or None (a
        control record, a gap, or none within POLL_MS)."""
        jvm = spark._jvm
        consumer = self.consumer(spark, max_partition_fetch_bytes="65536")
        partitions = {tp: jvm.org.apache.kafka.common.TopicPartition(*tp) for tp in ends}
        wanted = jvm.java.util.ArrayList()
        for partition in partitions.values():
            wanted.add(partition)
        consumer.assign(wanted)
        for tp, partition in partitions.items():
            consumer.seek(partition, ends[tp] - 1)
        found: dict[int, tuple[bytes, int] | None] = {}
        deadline = time.monotonic() + self.POLL_MS / 1000
        while len(found) < len(ends) and (left := deadline - time.monotonic()) > 0:
            polled = consumer.poll(jvm.java.time.Duration.ofMillis(max(1, int(left * 1000))))
            for tp, partition in partitions.items():
                records = polled.records(partition)
                if tp[1] in found or records.isEmpty():
                    continue
                record = records.get(0)
                ok = record.offset() == ends[tp] - 1 and record.value() is not None
                found[tp[1]] = (bytes(record.value()), int(record.timestamp())) if ok else None
        return {tp[1]: found.get(tp[1]) for tp in sorted(ends)}


class InputEnd(_DriverReader):
    """Whether a batch reads every partition of the job's topics to its end: its end offsets
    (the offset log) against the topics' latest offsets, asked of Kafka with its own consumer
    (the one Spark's Kafka connector brings, with the job's kafka.* options). For
    --available-now: the batch that reaches the end moves the clocks past every reading read.
    A batch found to end the input is marked so in the checkpoint (`iot-input-end/<batch id>`)
    before it runs: a replay after a crash ends it too, however the topic grew since."""

    MARKS = "iot-input-end"

    def __call__(self, spark: SparkSession, batch_id: int) -> bool:
        fs, path = hadoop_fs(spark, self.checkpoint)
        mark = f"{self.checkpoint.rstrip('/')}/{self.MARKS}/{batch_id}"
        if fs.exists(path(mark)):
            return True
        ends = batch_end_offsets(spark, self.checkpoint, batch_id)
        latest = self.latest_offsets(spark)
        ended = bool(latest) and all(ends.get(tp, -1) >= offset for tp, offset in latest.items())
        if ended:
            put_file(spark, mark, b"")
        return ended

    def latest_offsets(self, spark: SparkSession) -> dict[tuple[str, int], int]:
        """Each partition's end offset now ((topic, partition) → offset)."""
        jvm = spark._jvm
        consumer = self.consumer(spark)
        wanted = jvm.java.util.ArrayList()
        for topic in self.topics:
            for info in consumer.partitionsFor(topic):
                wanted.add(jvm.org.apache.kafka.common.TopicPartition(topic, info.partition()))
        ends = consumer.endOffsets(wanted)
        return {(tp.topic(), tp.partition()): int(ends.get(tp)) for tp in ends.keySet()}
