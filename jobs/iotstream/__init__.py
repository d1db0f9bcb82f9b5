"""The streaming job's library: config, schema, transforms, sinks. Shipped to Spark with --py-files."""
