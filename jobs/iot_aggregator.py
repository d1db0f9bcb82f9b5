"""Per-state IoT temperature statistics from Kafka, every micro-batch, to the console and Parquet.

    spark-submit --master spark://HOST:7077 \\
        --jars "$(ls .jars/spark/*.jar .jars/engine/iot-engine.jar | paste -sd, -)" \\
        --py-files .build/iotstream.zip \\
        --driver-java-options "-Dlog4j2.configurationFile=file:conf/log4j2.properties" \\
        jobs/iot_aggregator.py localhost:9092 iotmsgs [--output-dir DIR] [--available-now] ...

`./scripts/submit.sh` runs that (and builds .build/iotstream.zip). `--help` lists the options.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run from a source checkout without --py-files, the library sits next to this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from iotstream.cli import main  # noqa: E402

if __name__ == "__main__":
    # conf/job.toml of the checkout; a driver started elsewhere (--deploy-mode cluster) uses the
    # copy packaged in the zip.
    checkout_config = Path(__file__).resolve().parent.parent / "conf" / "job.toml"
    sys.exit(main(default_config=checkout_config if checkout_config.is_file() else None))
