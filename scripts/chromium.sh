#!/usr/bin/env bash
# Debian's Chromium for the console test (test/integration/console-ui.test.ts drives it with
# playwright-core, which never downloads a browser of its own). Does nothing when the browser is
# there; otherwise installs the `chromium` package with apt-get (as root, or through sudo without a
# password). KAPPA_CHROMIUM names another browser binary (the test reads it too).
set -euo pipefail
chromium="${KAPPA_CHROMIUM:-/usr/bin/chromium}"
[[ -x "$chromium" ]] && exit 0
if [[ -n "${KAPPA_CHROMIUM:-}" ]]; then
  echo "chromium.sh: KAPPA_CHROMIUM=$chromium is not an executable" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium.sh: $chromium is missing and there is no apt-get: install Chromium, or set KAPPA_CHROMIUM to a Chromium binary" >&2
  exit 1
fi
as_root=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "chromium.sh: $chromium is missing; installing it needs root: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi
echo "chromium.sh: installing Debian's chromium with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y -qq chromium >/dev/null 2>&1 || {
  # a fresh machine may not have the package lists yet
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq chromium
}
[[ -x "$chromium" ]] || { echo "chromium.sh: apt-get installed chromium but $chromium is not there" >&2; exit 1; }
