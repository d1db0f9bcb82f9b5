#!/usr/bin/env bash
# Runs Apache Kafka's own kafka-console-producer tool (org.apache.kafka.tools.ConsoleProducer) with the jars fetched by
# setup.sh. Every argument is passed through unchanged, exactly as upstream's bin/kafka-console-producer.sh.
# Environment: JARS_DIR, JAVA (see scripts/common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec_kafka_tool org.apache.kafka.tools.ConsoleProducer "$@"
