#!/usr/bin/env bash
# Runs Apache Kafka's own kafka-topics tool (org.apache.kafka.tools.TopicCommand) with the jars fetched by
# setup.sh. Every argument is passed through unchanged, exactly as upstream's bin/kafka-topics.sh.
# Environment: JARS_DIR, JAVA (see scripts/common.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec_kafka_tool org.apache.kafka.tools.TopicCommand "$@"
