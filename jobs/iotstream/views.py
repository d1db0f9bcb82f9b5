"""The Parquet output as Spark SQL views, and the canned reports of `scripts/query.sh`."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from iotstream.config import local_path
from iotstream.io.layout import PARTITION_COLUMN, table_path
from iotstream.io.tables import OutputFiles
from iotstream.schema import TABLES

# Title → SQL, printed by query.sh when it is given no SQL of its own.
REPORTS = {
    "Latest batch by state": """
        SELECT batch_id, state, round(avg_temperature, 2) AS avg_temperature, min_temperature,
               max_temperature, messages, sensors
        FROM state_stats
        WHERE batch_id = (SELECT max(batch_id) FROM state_stats)
        ORDER BY avg_temperature DESC""",
    "All batches by state": """
        SELECT state, round(sum(avg_temperature * readings) / sum(readings), 2) AS avg_temperature,
               min(min_temperature) AS min_temperature, max(max_temperature) AS max_temperature,
               sum(messages) AS messages
        FROM state_stats GROUP BY state ORDER BY state""",
    "Since the start, by state": """
        SELECT state, messages, sensors, round(avg_temperature, 2) AS avg_temperature
        FROM state_totals
        WHERE batch_id = (SELECT max(batch_id) FROM state_totals)
        ORDER BY state""",
    "Latest closed windows": """
        SELECT window_start, window_end, state, round(avg_temperature, 2) AS avg_temperature,
               min_temperature, max_temperature, messages, sensors, revision
        FROM window_stats_latest
        WHERE window_start = (SELECT max(window_start) FROM window_stats_latest)
        ORDER BY state""",
    "Windows restated by late readings": """
        SELECT window_start, state, revision, messages, sensors,
               round(avg_temperature, 2) AS avg_temperature, batch_id
        FROM window_stats_latest WHERE revision > 0
        ORDER BY window_start DESC, state LIMIT 20""",
    "Anomalies by detector": """
        SELECT detector, reason, count(*) AS anomalies, count(DISTINCT guid) AS sensors,
               min(event_time) AS first_seen, max(event_time) AS last_seen
        FROM anomalies GROUP BY detector, reason ORDER BY detector, anomalies DESC, reason""",
    "Anomalies by state": """
        SELECT state, count(*) AS anomalies, count(DISTINCT guid) AS sensors,
               min(event_time) AS first_seen, max(event_time) AS last_seen
        FROM anomalies GROUP BY state ORDER BY anomalies DESC, state""",
    "Quarantined records by reason": """
        SELECT reason, count(*) AS records, min(kafka_timestamp) AS first_seen,
               max(kafka_timestamp) AS last_seen
        FROM quarantine GROUP BY reason ORDER BY records DESC, reason""",
    "Sensors with broken clocks": """
        SELECT guid, state, error, action, sum(readings) AS readings,
               max(max_skew_seconds) AS max_skew_seconds, max(latest_event_time) AS latest_sent
        FROM clock_errors GROUP BY guid, state, error, action ORDER BY readings DESC, guid""",
    "Re-sent readings by sensor": """
        SELECT guid, state, count(*) AS duplicates, count_if(kind = 'conflict') AS conflicts,
               min(event_time) AS first_seen, max(event_time) AS last_seen
        FROM duplicates GROUP BY guid, state ORDER BY duplicates DESC, guid""",
    "Totals": """
        SELECT count(*) AS batches, sum(consumed) AS consumed, sum(accepted) AS accepted,
               sum(quarantined) AS quarantined, sum(duplicates) AS duplicates, sum(late) AS late,
               max(total_sensors) AS sensors,
               sum(anomalies) AS anomalies,
               min(batch_time) AS first_batch, max(batch_time) AS last_batch
        FROM batch_totals""",
}


# window_stats as its latest revision of each window (a late reading restates a window: a new
# row, revision + 1, with the figures over every reading of the window). A row written before
# the column existed is revision 0.
LATEST_WINDOWS_VIEW = "window_stats_latest"
LATEST_WINDOWS_SQL = """
    SELECT * EXCEPT (revision, newest), coalesce(revision, 0) AS revision
    FROM (SELECT *, row_number() OVER (PARTITION BY state, window_start
                                       ORDER BY coalesce(revision, 0) DESC, batch_id DESC) AS newest
          FROM window_stats)
    WHERE newest = 1"""


def find_tables(output_dir: str) -> list[str]:
    """The tables present under `output_dir` (all of them for a remote store)."""
    return [table for table in TABLES if _exists(table_path(output_dir, table))]


def last_complete_batch(spark: SparkSession, output_dir: str) -> int:
    """The last batch with its batch_totals row (io.layout's rule 2); -1 before any."""
    files = OutputFiles(spark, output_dir).readable("batch_totals")
    if not files:
        return -1
    [row] = spark.read.schema(TABLES["batch_totals"]).parquet(*files).agg(
        F.max("batch_id")).collect()
    return -1 if row[0] is None else row[0]


def read_table(spark: SparkSession, output_dir: str, table: str,
               upto: int | None = None) -> DataFrame:
    """A table with its declared schema (and `date`), read by io.layout's reader rule: its
    committed files, less those a merged file holds, rows of batches up to `upto` (the last
    complete batch when not given). Empty when it has no file (yet, or any more: a replayed
    batch can remove its own rows). What `spark.read.parquet(path)` of the folder would also
    read: a batch being written or cut short by a kill, and a merged batch twice while a
    compaction is under way or was killed."""
    schema = T.StructType(TABLES[table].fields + [T.StructField(PARTITION_COLUMN, T.DateType())])
    # The last complete batch first, the table's files then: a batch that completes in between
    # has its rows in them.
    last = last_complete_batch(spark, output_dir) if upto is None else upto
    files = OutputFiles(spark, output_dir).readable(table)
    if not files:
        return spark.createDataFrame([], schema)
    return (spark.read.schema(schema).option("basePath", table_path(output_dir, table))
            .parquet(*files).where(F.col("batch_id") <= last))


def register_views(spark: SparkSession, output_dir: str) -> list[str]:
    """Registers every table as a temp view, read by io.layout's reader rule (read_table): those
    found under `output_dir` from their Parquet, the others (e.g. no anomaly yet) empty, so that
    every query names existing views; and `window_stats_latest`. All of them as of one moment:
    the last complete batch then. Returns the names of the tables found."""
    found = find_tables(output_dir)
    last = last_complete_batch(spark, output_dir) if found else -1
    for table, schema in TABLES.items():
        if table in found:
            df = read_table(spark, output_dir, table, last)
        else:
            df = spark.createDataFrame([], schema).withColumn(PARTITION_COLUMN, F.current_date())
        df.createOrReplaceTempView(table)
    spark.sql(LATEST_WINDOWS_SQL).createOrReplaceTempView(LATEST_WINDOWS_VIEW)
    return found


def _exists(path: str) -> bool:
    local = local_path(path)
    return True if local is None else local.is_dir()  # remote stores: Spark says if it is there
