#!/usr/bin/env bash
# Makes sure a Prometheus server binary is available for the metrics integration test
# (test/integration/metrics-prometheus.test.ts starts it itself, with its own config, storage under
# .data/ and a loopback port; no systemd service is used).
#
#   bash scripts/prometheus.sh ensure   # prints the binary's path; installs Debian's package when missing
#
# PROMETHEUS_BIN points at another binary.
set -euo pipefail

log() { echo "prometheus.sh: $*" >&2; }
die() { log "$*"; exit 1; }

find_bin() {
  if [[ -n "${PROMETHEUS_BIN:-}" ]]; then
    [[ -x "$PROMETHEUS_BIN" ]] || die "PROMETHEUS_BIN=$PROMETHEUS_BIN is not an executable"
    echo "$PROMETHEUS_BIN"
    return 0
  fi
  command -v prometheus 2>/dev/null || { [[ -x /usr/bin/prometheus ]] && echo /usr/bin/prometheus; } || return 1
}

ensure() {
  local bin
  if bin=$(find_bin); then echo "$bin"; return 0; fi
  log "prometheus not found: installing Debian's prometheus package"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo -n"
  # the package's postinst would start a service: there is no service manager to start it here, and none is wanted
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends prometheus >&2 \
    || { $sudo apt-get update >&2 && $sudo apt-get install -y --no-install-recommends prometheus >&2; } \
    || die "could not install prometheus (apt-get install prometheus); set PROMETHEUS_BIN to a binary instead"
  find_bin || die "prometheus was installed but is not on PATH"
}

case "${1:-ensure}" in
  ensure) ensure ;;
  *) die "usage: $0 ensure" ;;
esac
