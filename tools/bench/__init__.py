"""The benchmark (scripts/bench.sh, scripts/bench_soak.sh): figures from outside the measured job.
`python -m tools.bench` is its measuring side (__main__.py); its parts: sources.py (checkpoints,
/proc, Kafka; the monitor), figures.py (the figures of a work folder), report.py (the targets'
verdicts, the markdown), fleet.py (the fleet step) and soak.py (the long run)."""
