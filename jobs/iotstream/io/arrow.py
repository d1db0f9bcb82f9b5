"""Rows as Arrow tables in a table's column order and types, and the driver's one time-zone
convention (naive datetimes are UTC). A conversion, no file: transforms may use it."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema


def arrow_schema(schema: T.StructType) -> pa.Schema:
    """The Arrow schema of a table: Spark's types, timestamps as UTC instants (microseconds)."""
    return to_arrow_schema(schema, timezone="UTC")


def to_arrow(rows: DataFrame | pa.Table | list[dict[str, Any]], schema: T.StructType) -> pa.Table:
    """Rows of a table (a small DataFrame, collected; or rows made on the driver) as Arrow, in
    the table's column order and types. Naive datetimes are UTC."""
    target = arrow_schema(schema)
    if isinstance(rows, list):
        return pa.Table.from_pylist(rows, schema=target)
    if isinstance(rows, pa.Table):
        # A file written before a column was added to the table has it as nulls.
        for name in schema.fieldNames():
            if name not in rows.column_names:
                rows = rows.append_column(name, pa.nulls(rows.num_rows, target.field(name).type))
        return rows.select(schema.fieldNames()).cast(target)
    return rows.select(*schema.fieldNames()).toArrow().cast(target)


def naive(table: pa.Table) -> pa.Table:
    """`table` with its timestamps as naive UTC, the driver's one convention (rows collected with
    Spark's collect() are naive UTC too)."""
    columns = [c.cast(pa.timestamp("us")) if pa.types.is_timestamp(c.type) else c
               for c in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names)


def parquet_bytes(data: pa.Table) -> bytes:
    """`data` as one Parquet file (snappy), in memory."""
    buffer = pa.BufferOutputStream()
    pq.write_table(data, buffer, compression="snappy")
    return buffer.getvalue().to_pybytes()
