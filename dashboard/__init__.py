"""A live dashboard over the job's Parquet tables (./scripts/dashboard.sh): a US map of the latest
per-state averages, the batches' timeline, the anomalies, one sensor's readings, the windows."""
