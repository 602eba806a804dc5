# Shared by scripts/kafka.sh and scripts/registry/registry.sh: waiting for a background service to
# become ready, and stopping it. The caller defines log() and die() and a readiness function.

# svc_wait_ready WHAT PID TIMEOUT_S READY_FN STOP_FN LOG...
#   Polls READY_FN every 0.5 s until it succeeds. If the process dies first, prints the last lines
#   of the LOG files and fails; after TIMEOUT_S it calls STOP_FN and fails. Prints the time taken.
svc_wait_ready() {
  local what="$1" pid="$2" timeout="$3" ready_fn="$4" stop_fn="$5"
  shift 5
  local t0=$SECONDS f
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      log "$what exited during startup; last lines of its logs:"
      for f in "$@"; do tail -n 30 "$f" >&2 2>/dev/null || true; done
      die "$what did not start"
    fi
    "$ready_fn" && break
    if (( SECONDS - t0 >= timeout )); then
      log "not ready after ${timeout}s; last lines of its log:"
      for f in "$@"; do tail -n 30 "$f" >&2 2>/dev/null || true; done
      "$stop_fn"
      die "$what did not become ready"
    fi
    sleep 0.5
  done
  SVC_READY_SECONDS=$((SECONDS - t0))
}

# svc_stop WHAT PID GRACE_S: SIGTERM, up to GRACE_S for a clean shutdown, then SIGKILL; removes $PIDFILE.
svc_stop() {
  local what="$1" pid="$2" grace="$3" i
  log "stopping $what (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  rm -f "$PIDFILE"
  log "stopped"
}
