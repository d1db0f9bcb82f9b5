"""The one declared event schema, and the Parquet tables' schemas for Spark (made from the columns
that table_columns.py declares: the contract for users' SQL)."""

from __future__ import annotations

from pyspark.sql import types as T

from iotstream.table_columns import TABLE_COLUMNS, Column

# One JSON object per Kafka record, as iotsimulator.py writes it. eventTime stays a string here so
# that a malformed time is seen (and reported) instead of silently becoming null.
EVENT_SCHEMA = T.StructType(
    [
        T.StructField("guid", T.StringType()),
        T.StructField("destination", T.StringType()),
        T.StructField("state", T.StringType()),
        T.StructField("eventTime", T.StringType()),
        T.StructField(
            "payload",
            T.StructType(
                [
                    T.StructField("format", T.StringType()),
                    T.StructField(
                        "data", T.StructType([T.StructField("temperature", T.DoubleType())])
                    ),
                ]
            ),
        ),
    ]
)

# Spark's type for each of io.layout's type names.
_SPARK_TYPES = {"string": T.StringType, "bigint": T.LongType, "int": T.IntegerType,
                "double": T.DoubleType, "timestamp": T.TimestampType, "boolean": T.BooleanType}


def _spark_schema(columns: tuple[Column, ...]) -> T.StructType:
    return T.StructType([T.StructField(c.name, _SPARK_TYPES[c.type](), c.nullable)
                         for c in columns])


# Table name → schema (the columns of table_columns.TABLE_COLUMNS, where each is explained).
TABLES = {table: _spark_schema(columns) for table, columns in TABLE_COLUMNS.items()}
