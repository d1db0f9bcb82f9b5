"""The benchmark's bare reference (scripts/bench.sh): the least a Structured Streaming query can do
with the topic. Kafka → from_json with the job's event schema → every field, to Spark's no-op
sink; drained with availableNow on the same micro-batch sizing as the job. Its checkpoint records
when each batch started and ended, which is how the benchmark times it.

    spark-submit --jars ... --py-files .build/iotstream.zip jobs/bench_reference.py \\
        BROKERS TOPIC CHECKPOINT_DIR MAX_OFFSETS_PER_TRIGGER
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from iotstream.schema import EVENT_SCHEMA  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: bench_reference.py BROKERS TOPIC CHECKPOINT_DIR MAX_OFFSETS_PER_TRIGGER",
              file=sys.stderr)
        return 2
    brokers, topic, checkpoint, max_offsets = argv
    spark = SparkSession.builder.appName("iot-bench-reference").getOrCreate()
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", brokers)
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
    )
    if int(max_offsets) > 0:
        reader = reader.option("maxOffsetsPerTrigger", max_offsets)
    event = F.from_json(F.col("value").cast("string"), EVENT_SCHEMA).alias("e")
    parsed = reader.load().select(event, "partition", "offset", "timestamp").select(
        "e.guid", "e.destination", "e.state", F.try_to_timestamp("e.eventTime").alias("event_time"),
        "e.payload.format", "e.payload.data.temperature", "partition", "offset", "timestamp")
    query = (
        parsed.writeStream.format("noop")
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    rows = sum(p["numInputRows"] for p in query.recentProgress)
    print(f"bench-reference: {rows} records in {len(query.recentProgress)} batches", flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
