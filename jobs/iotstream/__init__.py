"""The streaming job's library: config, schema, transforms, io/ (files, tables, the job's state).
Shipped to Spark with --py-files."""
