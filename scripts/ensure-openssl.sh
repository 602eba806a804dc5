#!/usr/bin/env bash
# The REST security tests make their certificates with the openssl command (and the worker uses it
# to read PKCS12 truststores). Installs it when missing, with apt-get (as root or through sudo).
set -euo pipefail
command -v openssl >/dev/null 2>&1 && exit 0
echo "ensure-openssl: the openssl command is missing; installing it with apt-get" >&2
if [[ $(id -u) == 0 ]]; then sudo=(); elif command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); else
  echo "ensure-openssl: cannot install openssl (not root, no sudo): install the openssl package" >&2; exit 1
fi
"${sudo[@]}" apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq openssl >&2
command -v openssl >/dev/null
