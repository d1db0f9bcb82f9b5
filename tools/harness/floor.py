"""The floor under a batch of the job (`./scripts/harness.sh --floor`): the same prepared batches
read by ever fuller queries, in one session, each a streaming query of its own (available-now,
one batch per file), so each step's cost shows against the one before:

  bare       Kafka columns → from_json with the event schema → Spark's no-op sink (the bench's
             bare reference)
  planned    the job's parse and band rule in the streaming plan → foreachBatch → no-op
             (foreachBatch's own cost, and the parse with every quarantine rule)
  parse      the same parse built in foreachBatch, per batch (as the job did before the engine)
  cached     ... cached, counted (what keeping the batch for two jobs costs)
  aggregate  ... and one aggregation collected (the least a job with figures does)
  step       the job's streaming plan (parse → the per-sensor step) into foreachBatch: cached,
             counted, and one aggregation (the figures query) collected
The job itself is the harness's normal run (__main__.py).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from tools.harness.inputs import read_batches


def run(spark: Any, config: Any, data: Path, work: Path, warmup: int) -> dict[str, float]:
    from pyspark.sql import functions as F

    from iotstream import band_rule, compute, parse, plan, queries
    from iotstream.schema import EVENT_SCHEMA

    def source():
        return read_batches(spark, data)

    def parsed(records):
        return (records.transform(parse.parse_records(config.bands.baselines,
                                                      config.max_record_bytes))
                .transform(band_rule.flag_out_of_band(config.bands)))

    def noop(batch, _):
        parsed(batch).write.format("noop").mode("overwrite").save()

    def planned_noop(batch, _):
        batch.write.format("noop").mode("overwrite").save()

    def cached(batch, _):
        c = parsed(batch).persist()
        c.count()
        c.unpersist()

    def aggregate(batch, _):
        c = parsed(batch).persist()
        c.count()
        c.groupBy("state").agg(F.count_if(F.col("reason").isNull()), F.avg("temperature")).collect()
        c.unpersist()

    def step(batch, _):
        c = batch.persist()
        c.count()
        compute.query_batch(c, queries.FIGURES_SQL).collect()
        c.unpersist()

    event = F.from_json(F.col("value").cast("string"), EVENT_SCHEMA).alias("e")
    bare = source().select(event, "partition", "offset", "timestamp").select(
        "e.guid", "e.destination", "e.state", F.try_to_timestamp("e.eventTime").alias("event_time"),
        "e.payload.format", "e.payload.data.temperature", "partition", "offset", "timestamp")
    variants = {
        "bare": bare.writeStream.format("noop"),
        "planned": parsed(source()).writeStream.foreachBatch(planned_noop),
        "parse": source().writeStream.foreachBatch(noop),
        "cached": source().writeStream.foreachBatch(cached),
        "aggregate": source().writeStream.foreachBatch(aggregate),
        "step": plan.plan(source(), config).writeStream.foreachBatch(step),
    }
    medians = {}
    for name, writer in variants.items():
        query = (writer.option("checkpointLocation", str(work / f"floor-{name}"))
                 .trigger(availableNow=True).start())
        query.awaitTermination()
        times = [p["durationMs"]["triggerExecution"] / 1000 for p in query.recentProgress
                 if p["numInputRows"]][warmup:]
        medians[name] = round(statistics.median(times), 3)
        print(f"floor {name:<10} median batch {medians[name]:.3f} s", flush=True)
    return medians
