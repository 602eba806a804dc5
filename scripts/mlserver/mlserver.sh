#!/usr/bin/env bash
# A real Open Inference Protocol v2 server for the remote-model tests and the bench: MLServer with
# its scikit-learn runtime (PyPI), in a venv under .cache/, serving the models of a directory
# (default test/fixtures/mlserver, made by scripts/mlserver/make_model.py). Nothing is mocked: it
# is a separate Python process on 127.0.0.1.
#
#   scripts/mlserver/mlserver.sh install   create .cache/mlserver-venv with the pinned packages of
#                                          scripts/mlserver/requirements.txt (once; pip caches its
#                                          downloads in ~/.cache/pip)
#   scripts/mlserver/mlserver.sh start     install, start in the background, wait until
#                                          /v2/health/ready; prints the base URL on stdout
#   scripts/mlserver/mlserver.sh stop      SIGTERM, wait (SIGKILL after a timeout)
#   scripts/mlserver/mlserver.sh status    exit 0 if running (prints the URL)
#   scripts/mlserver/mlserver.sh python    print the venv's python (to run make_model.py)
#
# Environment:
#   MLSERVER_PORT           HTTP port (default 18090); the metrics server is off
#   MLSERVER_GRPC_PORT      gRPC port (default MLSERVER_PORT+1; MLServer cannot switch it off)
#   MLSERVER_MODELS         directory of model folders (default test/fixtures/mlserver)
#   MLSERVER_START_TIMEOUT  seconds to wait for readiness (default 90)
#   MLSERVER_PYTHON         the python that makes the venv (default python3; 3.11 tested)
#
# Its log and pid file are in .data/mlserver-<port>/, so servers on different ports (one per test
# file) do not meet. Diagnostics go to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PORT="${MLSERVER_PORT:-18090}"
GRPC_PORT="${MLSERVER_GRPC_PORT:-$((PORT + 1))}"
MODELS="$(cd "${MLSERVER_MODELS:-$ROOT/test/fixtures/mlserver}" && pwd)"
START_TIMEOUT="${MLSERVER_START_TIMEOUT:-90}"
PYTHON="${MLSERVER_PYTHON:-python3}"
HOST=127.0.0.1
URL="http://$HOST:$PORT"

VENV="$ROOT/.cache/mlserver-venv"
REQUIREMENTS="$ROOT/scripts/mlserver/requirements.txt"
DATA="$ROOT/.data/mlserver-$PORT"
PIDFILE="$DATA/mlserver.pid"
LOGFILE="$DATA/mlserver.log"

log() { echo "mlserver.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=../lib/service.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/service.sh"

# ---------------------------------------------------------------- install
install() {
  # the stamp holds the requirements' checksum: a changed pin reinstalls
  local want
  want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
  [[ -x "$VENV/bin/mlserver" && "$(cat "$VENV/.complete" 2>/dev/null)" == "$want" ]] && return 0
  command -v "$PYTHON" >/dev/null || die "$PYTHON not found (MLServer needs Python 3.9-3.12)"
  local t0=$SECONDS
  log "installing MLServer into ${VENV#"$ROOT"/} ($("$PYTHON" --version 2>&1), pinned in ${REQUIREMENTS#"$ROOT"/}) ..."
  # built in place (a venv's scripts name its own path); the stamp is written last, so an
  # interrupted install is redone
  rm -rf "$VENV"
  if ! "$PYTHON" -m venv "$VENV" >&2; then
    rm -rf "$VENV"
    # Debian's python3 keeps venv (ensurepip) in a package of its own
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
      log "$PYTHON -m venv failed: installing python3-venv with apt-get"
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; } >&2 || die "apt-get install python3-venv failed"
      "$PYTHON" -m venv "$VENV" >&2 || { rm -rf "$VENV"; die "$PYTHON -m venv failed"; }
    else
      die "$PYTHON -m venv failed (on Debian: apt-get install python3-venv)"
    fi
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQUIREMENTS" >&2 \
    || { rm -rf "$VENV"; die "pip could not install ${REQUIREMENTS#"$ROOT"/}"; }
  echo "$want" >"$VENV/.complete"
  log "installed in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- helpers
running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
     && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'mlserver start'; then
    echo "$pid"
    return 0
  fi
  rm -f "$PIDFILE"
  return 1
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

ready() {
  node -e "require('http').get(process.argv[1],r=>{r.resume();process.exit(r.statusCode===200?0:1)}).on('error',()=>process.exit(1))" "$URL/v2/health/ready"
}

# ---------------------------------------------------------------- start/stop
start() {
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid) at $URL"
    echo "$URL"
    return 0
  fi
  if port_open "$HOST" "$PORT" || port_open "$HOST" "$GRPC_PORT"; then
    die "port $PORT or $GRPC_PORT already in use by another process; set MLSERVER_PORT or stop it"
  fi
  install
  mkdir -p "$DATA"
  log "starting MLServer on $URL (models in ${MODELS#"$ROOT"/}), log in ${LOGFILE#"$ROOT"/}"
  local launcher=()
  command -v setsid >/dev/null && launcher=(setsid)
  # parallel workers off: one process, quick to start and to stop; models load at startup
  (cd "$MODELS" && MLSERVER_HOST="$HOST" MLSERVER_HTTP_PORT="$PORT" MLSERVER_GRPC_PORT="$GRPC_PORT" \
      MLSERVER_METRICS_ENDPOINT= MLSERVER_PARALLEL_WORKERS=0 MLSERVER_DEBUG=false \
      exec nohup "${launcher[@]}" "$VENV/bin/mlserver" start "$MODELS" >"$LOGFILE" 2>&1 </dev/null) &
  pid=$!
  echo "$pid" >"$PIDFILE"
  mlserver_ready() { port_open "$HOST" "$PORT" && ready; }
  svc_wait_ready mlserver "$pid" "$START_TIMEOUT" mlserver_ready stop "$LOGFILE"
  log "ready in ${SVC_READY_SECONDS}s (pid $pid)"
  echo "$URL"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    return 0
  fi
  svc_stop mlserver "$pid" 15
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "$URL"
    return 0
  fi
  return 1
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  python) install; echo "$VENV/bin/python" ;;
  *) echo "usage: $0 {install|start|stop|restart|status|python}" >&2; exit 2 ;;
esac
