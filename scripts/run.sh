#!/usr/bin/env bash
# What `make run` does once the broker is up: start the worker(s), wait until ready, run the demo.
#
#   bash scripts/run.sh [worker.properties]       (default config/worker.properties)
#   WORKERS=3 bash scripts/run.sh                 (a cluster of 3 workers, ports 8083-8085)
#
# 1. starts `node dist/main.js <worker.properties>` (CONNECT_* environment variables override the
#    file, as in Connect's images; KAFKA_BOOTSTRAP_SERVERS becomes CONNECT_BOOTSTRAP_SERVERS).
#    With WORKERS=N (1-9) it starts N workers with the same group.id, the i-th listening on the
#    listener's port + i (8083, 8084, ...); their log lines start with "[worker <port>]".
# 2. waits until GET /health answers 200 on every worker: each has read its state back from Kafka
#    and accepts requests (KIP-1017). The REST port answers earlier (503 "starting"); the demo must
#    not start then. Gives up after RUN_READY_TIMEOUT_S (default 180) or when a worker exits.
# 3. runs scripts/demo.sh against the first worker (DEMO=0 skips it); with several workers the
#    demo also gets all their URLs (DEMO_WORKER_URLS) and shows how the tasks are spread
# 4. keeps the workers in the foreground until Ctrl-C/SIGTERM, which stop demo and workers in
#    order, or until one worker exits. RUN_EXIT_AFTER_DEMO=1 instead stops the workers when the
#    demo ends and exits with the demo's status (used by test/integration/first-start.test.ts).
#
# The first worker's URL is CONNECT_URL if set, else the first listener (CONNECT_LISTENERS or the
# file's `listeners`), 0.0.0.0 or an empty host read as 127.0.0.1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

props="${1:-config/worker.properties}"
[[ -f "$props" ]] || { echo "run.sh: $props does not exist" >&2; exit 2; }
[[ -f dist/main.js ]] || { echo "run.sh: dist/ is not built (make build)" >&2; exit 2; }
if [[ -n "${KAFKA_BOOTSTRAP_SERVERS:-}" && -z "${CONNECT_BOOTSTRAP_SERVERS:-}" ]]; then
  export CONNECT_BOOTSTRAP_SERVERS="$KAFKA_BOOTSTRAP_SERVERS"
fi

listener="${CONNECT_LISTENERS:-$(sed -n 's/^[[:space:]]*listeners[[:space:]]*[=:][[:space:]]*//p' "$props" | tail -n 1)}"
listener="${listener%%,*}"
listener="${listener:-http://127.0.0.1:8083}"
listener="$(sed -E 's#^(http://)(0\.0\.0\.0|\[::\])?:#\1127.0.0.1:#' <<<"$listener")"
url="${CONNECT_URL:-${listener%/}}"
export CONNECT_URL="$url"
ready_timeout="${RUN_READY_TIMEOUT_S:-180}"
count="${WORKERS:-1}"
[[ "$count" =~ ^[1-9]$ ]] || { echo "run.sh: WORKERS must be 1-9, not '$count'" >&2; exit 2; }
scheme_host="${url%:*}"
port0="${url##*:}"
port0="${port0%%/*}"
[[ "$port0" =~ ^[0-9]+$ ]] || { echo "run.sh: cannot read a port from $url" >&2; exit 2; }
urls=()
for ((i = 0; i < count; i++)); do urls+=("$scheme_host:$((port0 + i))"); done
export DEMO_WORKER_URLS="${urls[*]}"

workers=()
demo=
stop_all() {
  trap - EXIT INT TERM
  if [[ -n "$demo" ]] && kill -0 "$demo" 2>/dev/null; then kill -TERM "$demo" 2>/dev/null || true; wait "$demo" 2>/dev/null || true; fi
  local pid alive=()
  for pid in "${workers[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
  if ((${#alive[@]} > 0)); then
    echo "run.sh: stopping the worker(s) (pid ${alive[*]})" >&2
    kill -TERM "${alive[@]}" 2>/dev/null || true
    for _ in $(seq 1 120); do
      local any=0
      for pid in "${alive[@]}"; do kill -0 "$pid" 2>/dev/null && any=1; done
      ((any)) || break
      sleep 0.25
    done
    kill -KILL "${alive[@]}" 2>/dev/null || true
    for pid in "${alive[@]}"; do wait "$pid" 2>/dev/null || true; done
  fi
  workers=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

if ((count == 1)); then
  echo "run.sh: worker on $url/ with bootstrap ${CONNECT_BOOTSTRAP_SERVERS:-from $props} (Ctrl-C to stop)" >&2
  node dist/main.js "$props" &
  workers+=($!)
else
  echo "run.sh: $count workers on ${urls[*]} (one group, bootstrap ${CONNECT_BOOTSTRAP_SERVERS:-from $props}; Ctrl-C to stop)" >&2
  for u in "${urls[@]}"; do
    port="${u##*:}"
    # each worker its own listener, which is also the REST URL it advertises to the others;
    # the log prefix says which one speaks
    CONNECT_LISTENERS="$u" node dist/main.js "$props" > >(sed -u "s/^/[worker $port] /") 2> >(sed -u "s/^/[worker $port] /" >&2) &
    workers+=($!)
  done
fi

# 200 from /health, not merely an answer on the port: only then is the worker's state read back
healthy() {
  node -e "require('http').get(process.argv[1] + '/health', { timeout: 2000 }, (r) => { r.resume(); process.exit(r.statusCode === 200 ? 0 : 1); }).on('error', () => process.exit(1)).on('timeout', function () { this.destroy(); })" "$1"
}
all_healthy() {
  local u
  for u in "${urls[@]}"; do healthy "$u" || return 1; done
}
# the status of the first worker that has exited, or nothing while all run
exited_worker() {
  local i
  for i in "${!workers[@]}"; do
    if ! kill -0 "${workers[$i]}" 2>/dev/null; then
      local st=0
      wait "${workers[$i]}" || st=$?
      echo "run.sh: the worker on ${urls[$i]} exited (status $st)" >&2
      return 0
    fi
  done
  return 1
}

if [[ -f scripts/demo.sh && "${DEMO:-1}" != 0 ]]; then
  t0=$SECONDS
  until all_healthy; do
    if exited_worker; then
      echo "run.sh: a worker exited before all were ready; demo not run" >&2
      exit 1
    fi
    if (( SECONDS - t0 >= ready_timeout )); then
      echo "run.sh: not every worker was ready (GET /health != 200) within ${ready_timeout}s; demo not run" >&2
      if [[ "${RUN_EXIT_AFTER_DEMO:-0}" == 1 ]]; then exit 1; fi
      break
    fi
    sleep 0.5
  done
  if all_healthy; then
    if ((count == 1)); then echo "run.sh: worker is ready after $((SECONDS - t0))s, running scripts/demo.sh" >&2
    else echo "run.sh: $count workers are ready after $((SECONDS - t0))s, running scripts/demo.sh" >&2; fi
    bash scripts/demo.sh &
    demo=$!
    if [[ "${RUN_EXIT_AFTER_DEMO:-0}" == 1 ]]; then
      wait "$demo" && status=0 || status=$?
      demo=
      exit "$status"
    fi
  fi
fi

# in the foreground until a worker exits (or Ctrl-C); then the others are stopped too
status=0
wait -n "${workers[@]}" || status=$?
exit "$status"
