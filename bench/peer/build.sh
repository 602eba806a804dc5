#!/usr/bin/env bash
# Builds the Kafka Streams peer of the benchmark (bench/peer, docs/benchmarks.md) into
# .cache/peer/kappa-peer.jar: one shaded jar with Kafka Streams, ONNX Runtime and Jackson.
# Maven's build directory is .cache/peer/target, so nothing is written under bench/.
#
#   bash bench/peer/build.sh         (bench/lib/peer.js runs it when the jar is missing or older than the sources)
#
# Environment: MAVEN_REPO_LOCAL (default ~/.m2/repository), MVN (default mvn).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/.cache/peer"
MVN="${MVN:-mvn}"

command -v "$MVN" >/dev/null || { echo "build.sh: $MVN not found (Maven and a JDK 17+ are needed to build the peer)" >&2; exit 1; }
mkdir -p "$OUT"
echo "build.sh: building the Kafka Streams peer (mvn package) ..." >&2
t0=$SECONDS
# (sed: the Debian mvn launcher emits colour resets even in batch/quiet mode)
"$MVN" -B -q -Dstyle.color=never -f "$HERE/pom.xml" \
  -Dmaven.repo.local="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}" \
  -Dpeer.build.dir="$OUT/target" \
  package 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2
cp "$OUT/target/kappa-peer.jar" "$OUT/kappa-peer.jar.tmp"
mv "$OUT/kappa-peer.jar.tmp" "$OUT/kappa-peer.jar"
echo "build.sh: .cache/peer/kappa-peer.jar ($(du -h "$OUT/kappa-peer.jar" | cut -f1)) in $((SECONDS - t0)) s" >&2
