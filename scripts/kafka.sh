#!/usr/bin/env bash
# Single-node Apache Kafka broker (KRaft, combined broker+controller) for
# development, tests and CI. Jars come from Maven Central; no Docker.
#
#   scripts/kafka.sh fetch    download the broker jars into .cache/kafka/<version>/libs
#   scripts/kafka.sh start    fetch, format a fresh .data/kafka, start in background, wait until ready
#   scripts/kafka.sh stop     SIGTERM, wait (SIGKILL after a timeout), remove the pid file
#   scripts/kafka.sh resume   start again on the data it has (a broker restart; fault tests use it)
#   scripts/kafka.sh status   exit 0 if running (prints the bootstrap address)
#   scripts/kafka.sh logs     tail the broker log
#
# Environment:
#   KAFKA_VERSION          broker version (default 4.1.2)
#   KAFKA_PORT             PLAINTEXT listener port (default 19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (default KAFKA_PORT+1)
#   KAFKA_START_TIMEOUT    seconds to wait for readiness (default 60)
#   KAFKA_HEAP_OPTS        JVM heap options (default -Xms256m -Xmx1g)
#   KAFKA_GC_OPTS          JVM garbage collector options (default -XX:+UseG1GC -XX:MaxGCPauseMillis=20)
#   KAFKA_DATA_DIR         broker state dir (default .data/kafka; wiped on every start)
#   KAFKA_SASL_SSL_PORT    also listen with SASL_SSL (SCRAM-SHA-512 and SCRAM-SHA-256) on this port
#                          (default: no such listener); certificates by scripts/kafka-tls.sh in
#                          <data dir>/tls (ca.pem, truststore.p12), store password KAFKA_TLS_PASSWORD
#   KAFKA_SCRAM_USERS      SCRAM users of that listener, user:password,... (default kappa:kappa-secret)
#   KAFKA_TLS_PASSWORD     password of the broker keystore and of truststore.p12 (default kappa-store)
#
# All diagnostics go to stderr; `start` and `status` print the bootstrap
# address (host:port) on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_GC_OPTS="${KAFKA_GC_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20}"
KAFKA_SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-}"
KAFKA_SCRAM_USERS="${KAFKA_SCRAM_USERS:-kappa:kappa-secret}"
KAFKA_TLS_PASSWORD="${KAFKA_TLS_PASSWORD:-kappa-store}"
HOST=127.0.0.1
BOOTSTRAP="$HOST:$KAFKA_PORT"

LIBS="$ROOT/.cache/kafka/$KAFKA_VERSION/libs"
DATA="${KAFKA_DATA_DIR:-$ROOT/.data/kafka}"
case "$DATA" in /*) ;; *) DATA="$PWD/$DATA" ;; esac
PIDFILE="$DATA/kafka.pid"
LOGFILE="$DATA/server.log"

log() { echo "kafka.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=lib/service.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/service.sh"

# ---------------------------------------------------------------- fetch
fetch() {
  if [[ -f "$LIBS/.complete" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (Maven is needed to fetch the Kafka jars)"
  local tmp="$LIBS.tmp.$$" t0=$SECONDS
  rm -rf "$tmp"
  mkdir -p "$tmp"
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central..."
  # (sed: the Debian mvn launcher emits colour resets even in batch/quiet mode)
  if ! mvn -B -q -Dstyle.color=never -f "$ROOT/scripts/kafka-pom.xml" \
        -Dkafka.version="$KAFKA_VERSION" -Dkafka.libs="$tmp" \
        dependency:copy-dependencies 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
    rm -rf "$tmp"
    die "maven could not resolve kafka_2.13:$KAFKA_VERSION"
  fi
  ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "kafka_2.13 jar missing after fetch"; }
  touch "$tmp/.complete"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  log "fetched $(ls "$LIBS"/*.jar | wc -l) jars into ${LIBS#"$ROOT"/} in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- helpers
# pid of our running broker, or nothing (and a stale pid file is removed)
running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
     && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
    echo "$pid"
    return 0
  fi
  log "removing stale pid file (pid ${pid:-?} is not a running broker)"
  rm -f "$PIDFILE"
  return 1
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Kafka's Uuid: 16 random bytes, URL-safe base64 without padding, not starting with '-'
random_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && { echo "$id"; return; }
  done
}

write_config() {
  local listeners="PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT"
  local advertised="PLAINTEXT://$HOST:$KAFKA_PORT"
  local protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [[ -n "$KAFKA_SASL_SSL_PORT" ]]; then
    listeners+=",SASL_SSL://$HOST:$KAFKA_SASL_SSL_PORT"
    advertised+=",SASL_SSL://$HOST:$KAFKA_SASL_SSL_PORT"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  cat >"$DATA/server.properties" <<EOF
# generated by scripts/kafka.sh: single-node KRaft (combined broker + controller)
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=$listeners
advertised.listeners=$advertised
listener.security.protocol.map=$protocols
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA/logs

# single node: every internal topic has one replica
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1

# test friendliness
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
num.partitions=1
delete.topic.enable=true

# keep the disk small
log.retention.hours=2
log.retention.bytes=268435456
log.segment.bytes=67108864
log.retention.check.interval.ms=60000

# small machine
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
  if [[ -n "$KAFKA_SASL_SSL_PORT" ]]; then
    # clients authenticate with SCRAM over TLS; brokers and the controller talk PLAINTEXT among
    # themselves. The users are created at format time (format_scram_args).
    cat >>"$DATA/server.properties" <<EOF

# SASL_SSL listener for clients (KAFKA_SASL_SSL_PORT)
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$DATA/tls/broker.p12
listener.name.sasl_ssl.ssl.keystore.password=$KAFKA_TLS_PASSWORD
listener.name.sasl_ssl.ssl.key.password=$KAFKA_TLS_PASSWORD
EOF
  fi

  # log4j2: everything to .data/kafka/server.log, nothing to the terminal
  cat >"$DATA/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $LOGFILE
appender.file.filePattern = $LOGFILE.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
logger.zk.name = org.apache.kafka.raft
logger.zk.level = WARN
EOF
}

# --add-scram arguments of the formatter: every user of KAFKA_SCRAM_USERS for both SCRAM mechanisms
format_scram_args() {
  SCRAM_ARGS=()
  [[ -n "$KAFKA_SASL_SSL_PORT" ]] || return 0
  local entry user pass entries
  IFS=',' read -r -a entries <<<"$KAFKA_SCRAM_USERS"
  for entry in "${entries[@]}"; do
    user="${entry%%:*}"
    pass="${entry#*:}"
    [[ -n "$user" && "$entry" == *:* ]] || die "KAFKA_SCRAM_USERS: expected user:password,... (got an entry without ':')"
    SCRAM_ARGS+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$pass]" --add-scram "SCRAM-SHA-256=[name=$user,password=$pass]")
  done
}

# the JVM command line (an array, so that the classpath wildcard reaches java unexpanded)
java_cmd() {
  local heap
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  local gc
  read -r -a gc <<<"$KAFKA_GC_OPTS"
  JAVA_CMD=(java "${heap[@]}" "${gc[@]}" -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$DATA/log4j2.properties" "-Dkafka.logs.dir=$DATA"
    -cp "$LIBS/*")
}

# is the broker answering Kafka requests? (metadata via kafkajs when available)
kafka_ready() {
  if [[ -f "$ROOT/node_modules/kafkajs/package.json" ]] && command -v node >/dev/null; then
    node "$ROOT/scripts/kafka-smoke.js" --ping --brokers "$BOOTSTRAP" >/dev/null 2>&1
  else
    # no kafkajs yet (node_modules not installed): the broker's own "started" line + open port
    grep -q 'Kafka Server started' "$LOGFILE" 2>/dev/null && port_open "$KAFKA_PORT"
  fi
}

# ---------------------------------------------------------------- start/stop
start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid) at $BOOTSTRAP"
    echo "$BOOTSTRAP"
    return 0
  fi
  command -v java >/dev/null || die "java not found (Java 17+ is needed)"
  if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT" || { [[ -n "$KAFKA_SASL_SSL_PORT" ]] && port_open "$KAFKA_SASL_SSL_PORT"; }; then
    die "port $KAFKA_PORT, $KAFKA_CONTROLLER_PORT${KAFKA_SASL_SSL_PORT:+ or $KAFKA_SASL_SSL_PORT} already in use by another process; set KAFKA_PORT or stop it"
  fi
  fetch

  local cluster_id
  java_cmd
  if [[ "${1:-}" == resume ]]; then
    [[ -f "$DATA/server.properties" && -d "$DATA/logs" ]] || die "no broker data in $DATA to resume from (use start)"
    cluster_id="$(sed -n 's/^cluster.id=//p' "$DATA/logs/meta.properties" 2>/dev/null || true)"
  else
    [[ "$DATA" != "/" && "$DATA" != "$ROOT" ]] || die "refusing to use $DATA as the broker data dir"
    rm -rf "$DATA"
    mkdir -p "$DATA/logs"
    write_config
    if [[ -n "$KAFKA_SASL_SSL_PORT" ]]; then
      bash "$ROOT/scripts/kafka-tls.sh" "$DATA/tls" "$KAFKA_TLS_PASSWORD" || die "making the test certificates failed"
    fi
    format_scram_args
    cluster_id="$(random_cluster_id)"
    if ! "${JAVA_CMD[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$DATA/server.properties" "${SCRAM_ARGS[@]}" \
          >"$DATA/format.log" 2>&1; then
      cat "$DATA/format.log" >&2
      die "formatting the KRaft log dir failed"
    fi
  fi

  log "starting Kafka $KAFKA_VERSION (KRaft, cluster $cluster_id) on $BOOTSTRAP, log in ${LOGFILE#"$ROOT"/}"
  # setsid: own session, so a Ctrl-C in the calling terminal does not hit the broker
  # directly; `stop` shuts it down cleanly. stdout/stderr only get JVM-level output.
  local launcher=()
  command -v setsid >/dev/null && launcher=(setsid)
  nohup "${launcher[@]}" "${JAVA_CMD[@]}" kafka.Kafka "$DATA/server.properties" \
    >"$DATA/stdout.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDFILE"

  broker_ready() { port_open "$KAFKA_PORT" && kafka_ready && { [[ -z "$KAFKA_SASL_SSL_PORT" ]] || port_open "$KAFKA_SASL_SSL_PORT"; }; }
  svc_wait_ready broker "$pid" "$KAFKA_START_TIMEOUT" broker_ready stop "$DATA/stdout.log" "$LOGFILE"
  log "ready in ${SVC_READY_SECONDS}s (pid $pid)"
  echo "$BOOTSTRAP"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    return 0
  fi
  svc_stop broker "$pid" 30
}

status() {
  local pid
  if pid="$(running_pid)"; then
    log "running (pid $pid) at $BOOTSTRAP"
    echo "$BOOTSTRAP"
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  resume) start resume ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  logs) tail -n "${2:-100}" "$LOGFILE" ;;
  *) echo "usage: $0 {fetch|start|resume|stop|restart|status|logs [N]}" >&2; exit 2 ;;
esac
