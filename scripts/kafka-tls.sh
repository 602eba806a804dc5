#!/usr/bin/env bash
# Test certificates for the broker's SASL_SSL listener (scripts/kafka.sh with KAFKA_SASL_SSL_PORT):
# a throw-away CA and a broker certificate for 127.0.0.1 and localhost (subjectAltName), made with
# openssl (installed with apt-get when missing). Nothing here is meant for production.
#
#   scripts/kafka-tls.sh DIR PASSWORD
#
# writes into DIR:
#   ca.pem, ca.key         the CA (clients trust ca.pem)
#   truststore.p12         ca.pem as a PKCS12 truststore, password PASSWORD
#   broker.pem, broker.key the broker's certificate (signed by the CA) and key
#   broker.p12             the broker's keystore: key + chain as PKCS12, password PASSWORD
set -euo pipefail

dir="${1:?usage: kafka-tls.sh DIR PASSWORD}"
password="${2:?usage: kafka-tls.sh DIR PASSWORD}"
log() { echo "kafka-tls.sh: $*" >&2; }

if ! command -v openssl >/dev/null; then
  command -v apt-get >/dev/null || { log "error: openssl not found and no apt-get to install it"; exit 1; }
  log "installing openssl (apt-get)"
  { apt-get install -y -q openssl || { apt-get update -q && apt-get install -y -q openssl; }; } >&2
fi

mkdir -p "$dir"
cd "$dir"
# 30 days: a broker's data dir lives for a test run or a development session
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj "/CN=kappa-test-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" -keyout broker.key -out broker.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >broker.ext
openssl x509 -req -sha256 -days 30 -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -extfile broker.ext -out broker.pem 2>/dev/null
openssl pkcs12 -export -name broker -in broker.pem -inkey broker.key -certfile ca.pem -out broker.p12 -passout "pass:$password"
openssl pkcs12 -export -nokeys -in ca.pem -out truststore.p12 -passout "pass:$password"
rm -f broker.csr broker.ext ca.srl
