"""Spark SQL over the job's Parquet output: every table the job writes (iotstream.schema.TABLES:
state_stats, batch_totals, anomalies, quarantine, window_stats, ...; docs/tables.md lists them) is
a view under its own name, an empty one until the job writes it.

    ./scripts/query.sh [--output-dir DIR] [--limit N] ["SELECT ... FROM state_stats ..."]

With no SQL, prints the canned reports of iotstream/views.py. See docs/tables.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from iotstream.schema import TABLES  # noqa: E402
from iotstream.views import REPORTS, find_tables, register_views  # noqa: E402

# Tries of a query whose files a merge of the running job's files may remove meanwhile.
ATTEMPTS = 3


def _gone(e: Exception) -> bool:
    """Whether Spark failed because a file it was given is gone."""
    text = str(e)
    return any(sign in text for sign in ("FileNotFoundException", "FILE_NOT_EXIST",
                                         "PATH_NOT_FOUND"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="query.sh",
        description="Spark SQL over the job's Parquet tables: each one a view under its own name "
        f"({', '.join(TABLES)}).",
        epilog='example: ./scripts/query.sh "SELECT state, avg(avg_temperature) FROM state_stats '
        'GROUP BY state"',
    )
    p.add_argument("sql", nargs="?", help="a query; with none, prints the canned reports")
    p.add_argument("--output-dir", default="output", help="the job's --output-dir (default: output)")
    p.add_argument("--limit", type=int, default=100, help="rows printed per result (default: 100)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.limit < 1:
        print("error: --limit must be >= 1", file=sys.stderr)
        return 2
    tables = find_tables(args.output_dir)
    if not tables:  # checked before any JVM starts
        print(f"error: no tables in {args.output_dir}; run the job first, or pass "
              "--output-dir DIR", file=sys.stderr)
        return 1
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.appName("iot-query")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    try:
        queries = {"": args.sql} if args.sql else REPORTS
        fresh = False
        for title, sql in queries.items():
            if title:
                print(f"-- {title}")
            for attempt in range(ATTEMPTS):
                try:
                    if not fresh:
                        register_views(spark, args.output_dir)
                        fresh = True
                    spark.sql(sql).show(args.limit, truncate=False)
                    break
                except (PySparkException, Py4JJavaError) as e:
                    # A merge of the job's files ended since the views were made: files they
                    # list are gone, their rows are in the merged file. Read the tables afresh.
                    if attempt == ATTEMPTS - 1 or not _gone(e):
                        raise
                    fresh = False
        return 0
    except (PySparkException, Py4JJavaError) as e:
        first = str(e).strip().splitlines()[0]
        print(f"error: {first}\n(tables found in {args.output_dir}: {', '.join(tables)})",
              file=sys.stderr)
        return 1
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
