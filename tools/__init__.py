"""The project's tools beside the job: the benchmark (bench), the profiling harnesses (harness)
and the measures of detection quality (evaluation). Each is run as a module by its script in
scripts/ (python -m tools.bench ...); they import the job's package (iotstream), which never
imports them (pyproject.toml [tool.importlinter])."""
