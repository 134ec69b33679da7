#!/usr/bin/env bash
# Local single-node Apache Kafka broker (KRaft, combined broker+controller) for tests and development.
#
#   scripts/kafka.sh start|stop|status|fetch|reset
#
# The broker jars come from Maven Central through Maven and are cached outside the repository
# (CHIMERA_CACHE_DIR, default ~/.cache/chimera). Data lives in a temporary directory: `stop` keeps it, so a
# stop/start pair is a broker restart with its topics and offsets intact; `reset` stops and removes it.
# Listens on 127.0.0.1 only. `start` is a no-op when the broker already answers.
set -euo pipefail

KAFKA_VERSION="${CHIMERA_KAFKA_VERSION:-4.1.1}"
SCALA_VERSION="2.13"
KAFKA_PORT="${CHIMERA_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${CHIMERA_KAFKA_CONTROLLER_PORT:-9093}"
CACHE_DIR="${CHIMERA_CACHE_DIR:-$HOME/.cache/chimera}"
JARS_DIR="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
RUN_DIR="${CHIMERA_KAFKA_RUN_DIR:-${TMPDIR:-/tmp}/chimera-kafka-$KAFKA_PORT}"
PID_FILE="$RUN_DIR/kafka.pid"
LOG_FILE="$RUN_DIR/kafka.log"
START_TIMEOUT_S="${CHIMERA_KAFKA_START_TIMEOUT_S:-90}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }

fetch() {
  if [ -f "$JARS_DIR/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is needed to fetch the Kafka jars: apt-get install maven"; exit 1; }
  command -v java >/dev/null || { log "Java 17+ is needed to run Kafka: apt-get install openjdk-17-jre-headless"; exit 1; }
  log "fetching org.apache.kafka:kafka_$SCALA_VERSION:$KAFKA_VERSION into $JARS_DIR"
  local pom_dir="$CACHE_DIR/kafka-$KAFKA_VERSION/pom"
  mkdir -p "$pom_dir" "$JARS_DIR"
  cat >"$pom_dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>chimera.local</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$SCALA_VERSION</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  mvn -q -B -f "$pom_dir/pom.xml" dependency:copy-dependencies -DoutputDirectory="$JARS_DIR" -DincludeScope=runtime >&2
  touch "$JARS_DIR/.complete"
}

answers() {
  # The broker answers when a client can list topics through it.
  node "$HERE/kafka-ping.mjs" "127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1
}

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid; pid="$(cat "$PID_FILE")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

start() {
  if answers; then log "broker already answers on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  if running_pid >/dev/null; then
    log "broker process is up but not answering yet; waiting"
  else
    fetch
    mkdir -p "$RUN_DIR/data"
    cat >"$RUN_DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$RUN_DIR/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=24
PROPS
    cat >"$RUN_DIR/log4j2.properties" <<L4J
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $RUN_DIR/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
L4J
    local cp="$JARS_DIR/*"
    local java_opts=(-Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true "-Dlog4j2.configurationFile=$RUN_DIR/log4j2.properties")
    if [ ! -f "$RUN_DIR/data/meta.properties" ]; then
      local cluster_id
      cluster_id="$(java -cp "$cp" "${java_opts[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
      java -cp "$cp" "${java_opts[@]}" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$RUN_DIR/server.properties" >"$RUN_DIR/format.log" 2>&1 \
        || { log "storage format failed:"; cat "$RUN_DIR/format.log" >&2; exit 1; }
    fi
    nohup java -cp "$cp" "${java_opts[@]}" kafka.Kafka "$RUN_DIR/server.properties" >"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
    log "started broker pid $(cat "$PID_FILE") on 127.0.0.1:$KAFKA_PORT (data in $RUN_DIR)"
  fi
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until answers; do
    if ! running_pid >/dev/null; then log "broker exited during start-up; last log lines:"; tail -n 40 "$LOG_FILE" "$RUN_DIR/server.log" >&2 2>/dev/null || true; exit 1; fi
    if [ "$SECONDS" -ge "$deadline" ]; then log "broker did not answer within ${START_TIMEOUT_S}s"; tail -n 40 "$LOG_FILE" >&2; exit 1; fi
    sleep 1
  done
  log "broker answers on 127.0.0.1:$KAFKA_PORT"
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then log "broker did not stop in 30s; killing"; kill -9 "$pid" 2>/dev/null || true; fi
    log "stopped broker pid $pid"
  else
    log "no broker started by this script is running"
  fi
}

reset() {
  stop
  rm -rf "$RUN_DIR"
}

status() {
  if answers; then echo "kafka: up on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  echo "kafka: down on 127.0.0.1:$KAFKA_PORT"; return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  fetch) fetch ;;
  reset) reset ;;
  *) echo "usage: scripts/kafka.sh start|stop|status|fetch|reset" >&2; exit 2 ;;
esac
