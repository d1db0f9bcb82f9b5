"""Detection quality, measured without Spark: precision and recall against the simulator's labels
(quality.py, scripts/quality.sh) and against the labelled real series of NAB (realdata.py,
scripts/realdata.sh)."""
