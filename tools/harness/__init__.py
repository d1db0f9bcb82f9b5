"""The profiling harnesses (scripts/harness.sh): the job's real streaming query in this process
on prepared micro-batches (`python -m tools.harness`, __main__.py; its input: inputs.py; the
reference queries under it: floor.py), and one merge of a table's files timed the ways the sink
can do it (compaction.py)."""
