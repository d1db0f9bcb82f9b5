#!/usr/bin/env bash
# Installs everything the project needs, idempotently; a fast no-op when nothing changed.
#   - .venv with the Python packages pinned in pyproject.toml (pyspark, kafka-python, pytest, ...)
#   - .jars/spark: the official Spark Kafka connector (spark-sql-kafka-0-10) and its dependencies
#   - .jars/kafka: an Apache Kafka broker (KRaft) and its command-line tools
#   - .jars/engine/iot-engine.jar: the job's per-sensor step, built from engine/ with mvn
# The jars come from Maven Central with mvn, as pom.xml and engine/pom.xml declare them.
# Java 17+ and Maven are installed with apt-get when missing (needs root).
#
# Environment: VENV, JARS_DIR (see scripts/common.sh); PYTHON (default: python3).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

usage() {
    cat <<USAGE
usage: ./scripts/setup.sh [-h] [--force]

Installs the Python environment ($VENV) and the Java jars ($JARS_DIR) this project needs.
Safe to run any number of times; does nothing when already up to date.
  --force   reinstall even if up to date
USAGE
}

force=0
for arg in "$@"; do
    case "$arg" in
    -h | --help) usage; exit 0 ;;
    --force) force=1 ;;
    *) usage >&2; echo "error: unknown option: $arg" >&2; exit 1 ;;
    esac
done

PYTHON="${PYTHON:-python3}"
stamp="$VENV/.setup-stamp"
# What is installed depends on the pinned lists in pyproject.toml and on pom.xml, nothing else.
pins() { sed -n -e '/^dependencies = \[/,/^\]/p' -e '/^test = \[/,/^\]/p' "$ROOT/pyproject.toml"; }
# The engine's sources, its contract with the job, and conf/job.toml (its JUnit tests read it).
engine_sources() {
    find "$ROOT/engine/pom.xml" "$ROOT/engine/src" "$ROOT/jobs/iotstream/step_contract.json" \
        "$ROOT/conf/job.toml" -type f | sort | xargs cat
}
want="$({ pins; cat "$ROOT/pom.xml"; engine_sources; } | sha256sum | cut -d' ' -f1)"
if [[ $force == 0 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] &&
    ls "$JARS_DIR"/spark/spark-sql-kafka-*.jar "$JARS_DIR"/kafka/kafka_*.jar \
        "$JARS_DIR"/engine/iot-engine.jar >/dev/null 2>&1; then
    echo "setup: up to date ($VENV, $JARS_DIR)"
    exit 0
fi

apt_install() {
    [[ $(id -u) == 0 ]] || die "$* is missing; install it (needs root), then run ./scripts/setup.sh again"
    echo "setup: installing $* with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- system tools ---------------------------------------------------------------------------
java_major() { "$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
if ! command -v "$JAVA" >/dev/null || [[ "$(java_major)" -lt 17 ]]; then
    apt_install openjdk-17-jdk-headless
fi
command -v mvn >/dev/null || apt_install maven
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "Python 3.11+ is needed ($PYTHON is $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11"

# --- versions must agree ----------------------------------------------------------------------
pyspark_pin="$(sed -n 's/.*"pyspark==\([^"]*\)".*/\1/p' "$ROOT/pyproject.toml")"
spark_pom="$(sed -n 's:.*<spark.version>\(.*\)</spark.version>.*:\1:p' "$ROOT/pom.xml")"
[[ "$pyspark_pin" == "$spark_pom" ]] ||
    die "pyspark pin ($pyspark_pin, pyproject.toml) differs from spark.version ($spark_pom, pom.xml); make them equal"
spark_engine="$(sed -n 's:.*<spark.version>\(.*\)</spark.version>.*:\1:p' "$ROOT/engine/pom.xml")"
[[ "$pyspark_pin" == "$spark_engine" ]] ||
    die "pyspark pin ($pyspark_pin, pyproject.toml) differs from spark.version ($spark_engine, engine/pom.xml); make them equal"

# --- Python environment -------------------------------------------------------------------------
[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
requirements="$("$VENV/bin/python" - "$ROOT/pyproject.toml" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f)["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["test"]))
PY
)"
echo "setup: installing Python packages into $VENV"
# shellcheck disable=SC2086 # one requirement per word
"$VENV/bin/pip" install -q --disable-pip-version-check $requirements

# --- Java jars ----------------------------------------------------------------------------------
fetch_jars() { # profile, destination
    local tmp="$JARS_DIR/.$2.tmp"
    rm -rf "$tmp"
    echo "setup: fetching $1 jars into $JARS_DIR/$2"
    if ! mvn -B -q -ntp -Dstyle.color=never -f "$ROOT/pom.xml" -P "$1" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" >"$JARS_DIR/mvn-$2.log" 2>&1; then
        tail -n 20 "$JARS_DIR/mvn-$2.log" >&2
        die "mvn could not fetch the $1 jars (is Maven Central reachable? log: $JARS_DIR/mvn-$2.log)"
    fi
    rm -rf "${JARS_DIR:?}/$2"
    mv "$tmp" "$JARS_DIR/$2"
}
mkdir -p "$JARS_DIR"
fetch_jars spark-connector spark
fetch_jars kafka kafka

echo "setup: building the job's engine ($JARS_DIR/engine/iot-engine.jar)"
if ! mvn -B -q -ntp -Dstyle.color=never -f "$ROOT/engine/pom.xml" package \
    >"$JARS_DIR/mvn-engine.log" 2>&1; then
    tail -n 20 "$JARS_DIR/mvn-engine.log" >&2
    die "mvn could not build the engine (log: $JARS_DIR/mvn-engine.log)"
fi
mkdir -p "$JARS_DIR/engine"
cp "$ROOT/engine/target/iot-engine.jar" "$JARS_DIR/engine/iot-engine.jar.tmp"
mv "$JARS_DIR/engine/iot-engine.jar.tmp" "$JARS_DIR/engine/iot-engine.jar"

echo "$want" >"$stamp"
echo "setup: done (Python packages in $VENV, jars in $JARS_DIR)"
