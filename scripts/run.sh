#!/usr/bin/env bash
# What `make run` does once the broker is up: start the worker, wait until it is ready, run the demo.
#
#   bash scripts/run.sh [worker.properties]       (default config/worker.properties)
#
# 1. starts `node dist/main.js <worker.properties>` (CONNECT_* environment variables override the
#    file, as in Connect's images; KAFKA_BOOTSTRAP_SERVERS becomes CONNECT_BOOTSTRAP_SERVERS)
# 2. waits until GET /health answers 200: the worker has read its state back from Kafka and
#    accepts requests (KIP-1017). The REST port answers earlier (503 "starting"); the demo must not
#    start then. Gives up after RUN_READY_TIMEOUT_S (default 180) or when the worker exits.
# 3. runs scripts/demo.sh against it (DEMO=0 skips it)
# 4. keeps the worker in the foreground until Ctrl-C/SIGTERM, which stop demo and worker in order.
#    RUN_EXIT_AFTER_DEMO=1 instead stops the worker when the demo ends and exits with the demo's
#    status (used by the first-start test, test/integration/first-start.test.ts).
#
# The worker's URL is CONNECT_URL if set, else the first listener (CONNECT_LISTENERS or the file's
# `listeners`), 0.0.0.0 or an empty host read as 127.0.0.1.
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

worker=
demo=
stop_all() {
  trap - EXIT INT TERM
  if [[ -n "$demo" ]] && kill -0 "$demo" 2>/dev/null; then kill -TERM "$demo" 2>/dev/null || true; wait "$demo" 2>/dev/null || true; fi
  if [[ -n "$worker" ]] && kill -0 "$worker" 2>/dev/null; then
    echo "run.sh: stopping the worker (pid $worker)" >&2
    kill -TERM "$worker" 2>/dev/null || true
    for _ in $(seq 1 120); do kill -0 "$worker" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$worker" 2>/dev/null || true
    wait "$worker" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

echo "run.sh: worker on $url/ with bootstrap ${CONNECT_BOOTSTRAP_SERVERS:-from $props} (Ctrl-C to stop)" >&2
node dist/main.js "$props" &
worker=$!

# 200 from /health, not merely an answer on the port: only then is the worker's state read back
healthy() {
  node -e "require('http').get(process.argv[1] + '/health', { timeout: 2000 }, (r) => { r.resume(); process.exit(r.statusCode === 200 ? 0 : 1); }).on('error', () => process.exit(1)).on('timeout', function () { this.destroy(); })" "$url"
}

if [[ -f scripts/demo.sh && "${DEMO:-1}" != 0 ]]; then
  t0=$SECONDS
  until healthy; do
    if ! kill -0 "$worker" 2>/dev/null; then
      wait "$worker" && status=0 || status=$?
      worker=
      echo "run.sh: the worker exited (status $status) before it was ready; demo not run" >&2
      exit "$(( status == 0 ? 1 : status ))"
    fi
    if (( SECONDS - t0 >= ready_timeout )); then
      echo "run.sh: the worker was not ready (GET /health != 200) within ${ready_timeout}s; demo not run" >&2
      if [[ "${RUN_EXIT_AFTER_DEMO:-0}" == 1 ]]; then exit 1; fi
      break
    fi
    sleep 0.5
  done
  if healthy; then
    echo "run.sh: worker is ready after $((SECONDS - t0))s, running scripts/demo.sh" >&2
    bash scripts/demo.sh &
    demo=$!
    if [[ "${RUN_EXIT_AFTER_DEMO:-0}" == 1 ]]; then
      wait "$demo" && status=0 || status=$?
      demo=
      exit "$status"
    fi
  fi
fi

status=0
wait "$worker" || status=$?
worker=
exit "$status"
