"""The job's input and output, one module per concern: `layout` (the output's tables, columns,
folders and file names: plain Python, the dashboard reads it too), `arrow` (rows as Arrow, in a
table's types: a pure conversion), `fs` (files through Hadoop's FileSystem), `offsets` (the
streaming checkpoint's offset log), `tables` (the Parquet tables: writes idempotent by batch id,
reads, compaction) and `jobstate` (the job's own state in the checkpoint).

Nothing is imported here: importing one module brings only what it needs (the dashboard must not
load pyspark)."""
