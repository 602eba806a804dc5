#!/usr/bin/env bash
# `make run` demo (scripts/run.sh starts it once GET /health answers 200): online learning through Kafka.
#
#   1. waits for the worker to be ready (GET /health 200), then creates the topics banknote-events,
#      banknote-labels, banknote-predictions and waits until every partition has a leader
#   2. posts connectors/learn-banknote.json (KafkaTopicSink + the Learn transform, SCW-I) unless it exists
#      (an existing connector is kept: its learner resumes from its compacted state topic)
#   3. streams shuffled banknote events (Fisher-Yates on mulberry32, seeds DEMO_SEED, +1, ...) at
#      DEMO_RATE events/s, each label DEMO_DELAY events later on banknote-labels
#   4. prints the prequential accuracy from GET /learners/learn-banknote every DEMO_PRINT_S seconds,
#      and ends once the learner has learned every label sent (exit 1 if it has not after DEMO_SETTLE_S)
#   5. with several workers (DEMO_WORKER_URLS, set by `make run WORKERS=3`): creates the 6-partition
#      topics demo-cluster-events and demo-cluster-copies and the connector cluster-copy
#      (KafkaTopicSink, one task per worker), sends every event there too, prints which worker runs
#      each task as every worker reports it, and the number of records copied (exit 1 if the
#      workers disagree or a record is missing after DEMO_SETTLE_S)
#
# On a first start the broker is busy creating topics and loading its group coordinator: broker
# errors that say "try again" (a partition whose leader is not known yet, "does not host this
# topic-partition", coordinator loading or not available, timeouts, connection refused) are retried
# with backoff for up to DEMO_READY_TIMEOUT_S; any other error ends the demo with its message.
#
# Environment: KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:19092), CONNECT_URL (default
# http://127.0.0.1:8083), DEMO_SEED (0), DEMO_PASSES (3), DEMO_EVENTS (events per pass, default all
# 1372), DEMO_RATE (200), DEMO_DELAY (50), DEMO_PRINT_S (3), DEMO_READY_TIMEOUT_S (120),
# DEMO_SETTLE_S (60). Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."
export KAFKA_BOOTSTRAP_SERVERS="${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:19092}"
export CONNECT_URL="${CONNECT_URL:-http://127.0.0.1:8083}"
export DEMO_DIST="${DEMO_DIST:-$PWD/dist}"
[[ -f "$DEMO_DIST/ml/online/index.js" ]] || { echo "demo: $DEMO_DIST is not built (make build)" >&2; exit 1; }

exec node - <<'NODE'
const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');
const { permutation } = require(process.env.DEMO_DIST + '/ml/online');
const { parseNumericCsv } = require(process.env.DEMO_DIST + '/ml/online/datasets');

const env = (k, d) => (process.env[k] !== undefined && process.env[k] !== '' ? process.env[k] : d);
const url = env('CONNECT_URL', 'http://127.0.0.1:8083');
const seed0 = Number(env('DEMO_SEED', '0'));
const passes = Number(env('DEMO_PASSES', '3'));
const eventsPerPass = Number(env('DEMO_EVENTS', '0')); // 0: the whole data set
const rate = Number(env('DEMO_RATE', '200'));
const delay = Number(env('DEMO_DELAY', '50'));
const printEvery = Number(env('DEMO_PRINT_S', '3')) * 1000;
const readyTimeout = Number(env('DEMO_READY_TIMEOUT_S', '120')) * 1000;
const settleTimeout = Number(env('DEMO_SETTLE_S', '60')) * 1000;
const body = JSON.parse(fs.readFileSync('connectors/learn-banknote.json', 'utf8'));
const name = body.name;
const workerUrls = env('DEMO_WORKER_URLS', url).split(/[\s,]+/).filter(Boolean);
const cluster = workerUrls.length > 1;
const clusterConnector = 'cluster-copy';
const clusterTopics = ['demo-cluster-events', 'demo-cluster-copies'];
const topics = ['banknote-events', 'banknote-labels', 'banknote-predictions'];
const log = (...a) => console.log('[demo]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Broker errors that mean "not yet": kafkajs marks most as retriable; some arrive wrapped or as text only. */
function retriable(e) {
  const transient = /does not host this topic-partition|not the leader|leader not available|There is no leader|coordinator|is loading|not available|timed? ?out|ECONNREFUSED|ECONNRESET|Connection error|Closed connection|socket hang up|fetch failed|HTTP (5\d\d|409)/i;
  for (let x = e, depth = 0; x && depth < 5; x = x.originalError || x.cause, depth++) {
    if (x.retriable === true || transient.test(String(x.message || ''))) return true;
    if (Array.isArray(x.errors) && x.errors.length > 0 && x.errors.every(retriable)) return true;
  }
  return false;
}

/** Runs fn until it succeeds; retriable errors are retried with backoff until the readiness deadline. */
async function retrying(what, fn) {
  const deadline = Date.now() + readyTimeout;
  let wait = 200, last = '';
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!retriable(e) || Date.now() + wait > deadline) throw new Error(`${what}: ${e.message}`);
      if (e.message !== last) log(`${what}: ${e.message} (not ready yet, retrying)`);
      last = e.message;
      await sleep(wait);
      wait = Math.min(wait * 2, 3000);
    }
  }
}

async function http(method, path, json, base = url) {
  const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json', accept: 'application/json' }, body: json === undefined ? undefined : JSON.stringify(json), signal: AbortSignal.timeout(30000) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function fmt(s) {
  if (!s) return 'learner not running yet';
  const c = s.cumulative, w = s.windowed || {};
  const f = (v) => (v === null || v === undefined ? '  -  ' : v.toFixed(4));
  return `learned ${String(s.learned).padStart(5)} | accuracy ${f(c.accuracy)} (last ${s.window}: ${f(w.accuracy)}) | precision ${f(c.precision)} recall ${f(c.recall)} F1 ${f(c.f1)} | pending ${s.pending.events}`;
}

async function learner() {
  const r = await http('GET', `/learners/${encodeURIComponent(name)}`);
  return r.status === 200 ? r.body : null;
}

/** The cluster part: one copying task per worker, spread by the group leader. */
async function createClusterConnector() {
  const config = {
    'connector.class': 'io.kappa.connect.kafka.KafkaTopicSinkConnector',
    'tasks.max': String(workerUrls.length),
    topics: clusterTopics[0],
    'target.topic': clusterTopics[1],
    'target.partition': 'key',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
  };
  // posted to the last worker: a follower forwards it to the leader, as in Connect
  const via = workerUrls[workerUrls.length - 1];
  await retrying(`creating connector ${clusterConnector}`, async () => {
    const got = await http('GET', `/connectors/${clusterConnector}`, undefined, via);
    if (got.status === 200) { log(`connector ${clusterConnector} exists: keeping it`); return; }
    const r = await http('POST', '/connectors', { name: clusterConnector, config }, via);
    if (r.status === 201) { log(`connector ${clusterConnector} created through ${via}: ${config['tasks.max']} tasks copying ${clusterTopics[0]} (6 partitions) to ${clusterTopics[1]}`); return; }
    throw new Error(`HTTP ${r.status} ${JSON.stringify(r.body)}`);
  });
}

/** Records on the copy topic (the sum of its partitions' end offsets). */
async function countCopies(admin) {
  const offsets = await retrying('reading the copy topic', () => admin.fetchTopicOffsets(clusterTopics[1]));
  return offsets.reduce((n, p) => n + Number(p.high), 0);
}

/** Which worker runs each task, as every worker reports it; then the copy count. */
async function showCluster(admin, expected) {
  const deadline = Date.now() + settleTimeout;
  let views, agree, copied;
  for (;;) {
    views = await Promise.all(workerUrls.map((w) => http('GET', `/connectors/${clusterConnector}/status`, undefined, w).then((r) => r.body, (e) => ({ error: e.message }))));
    const key = (v) => JSON.stringify((v?.tasks ?? []).map((t) => [t.id, t.state, t.worker_id]));
    agree = views.every((v) => key(v) === key(views[0]));
    copied = await countCopies(admin);
    const running = (views[0]?.tasks ?? []).filter((t) => t.state === 'RUNNING').length;
    if (agree && running === workerUrls.length && copied >= expected) break;
    if (Date.now() > deadline) break;
    await sleep(500);
  }
  log(`cluster: tasks of ${clusterConnector} as each worker reports them`);
  for (const [i, v] of views.entries()) {
    const tasks = (v?.tasks ?? []).map((t) => `task ${t.id} ${t.state} on ${t.worker_id}`).join(', ');
    log(`  ${workerUrls[i]}: connector on ${v?.connector?.worker_id ?? '?'}; ${tasks || JSON.stringify(v)}`);
  }
  const owners = new Set((views[0]?.tasks ?? []).map((t) => t.worker_id));
  log(`cluster: ${owners.size} worker(s) run the ${(views[0]?.tasks ?? []).length} tasks; every worker ${agree ? 'agrees' : 'does NOT agree'}; ${copied} of ${expected} records copied`);
  if (!agree || copied < expected) throw new Error(`the cluster part did not complete: ${agree ? '' : 'the workers disagree on the status; '}${copied} of ${expected} records copied`);
}

(async () => {
  const allTopics = cluster ? [...topics, ...clusterTopics] : topics;
  await retrying('waiting for the worker', async () => {
    const r = await http('GET', '/health');
    if (r.status !== 200) throw new Error(`GET /health: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  });

  const kafka = new Kafka({ clientId: 'kappa-demo', brokers: process.env.KAFKA_BOOTSTRAP_SERVERS.split(','), logLevel: logLevel.NOTHING, retry: { retries: 5 } });
  const admin = kafka.admin();
  await retrying('connecting to Kafka', () => admin.connect());
  await retrying('creating the topics', async () => {
    const existing = new Set(await admin.listTopics());
    const want = allTopics.filter((t) => !existing.has(t));
    if (want.length === 0) return;
    try {
      await admin.createTopics({ topics: want.map((topic) => ({ topic, numPartitions: clusterTopics.includes(topic) ? 6 : 1, replicationFactor: 1 })), waitForLeaders: true });
    } catch (e) {
      if (!(e.errors || []).every((x) => x.type === 'TOPIC_ALREADY_EXISTS')) throw e;
    }
  });
  // a created topic is not writable before every partition has a leader the broker knows about
  await retrying('waiting for the topics\' leaders', async () => {
    const md = await admin.fetchTopicMetadata({ topics: allTopics });
    const leaderless = md.topics.flatMap((t) => t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}-${p.partitionId}`));
    if (leaderless.length > 0) throw Object.assign(new Error(`no leader yet for ${leaderless.join(', ')}`), { retriable: true });
  });
  log(`topics ready: ${allTopics.join(', ')}`);

  await retrying(`creating connector ${name}`, async () => {
    const got = await http('GET', `/connectors/${encodeURIComponent(name)}`);
    if (got.status === 200) { log(`connector ${name} exists: keeping it (its learner resumes from kappa-learner-${name})`); return; }
    const r = await http('POST', '/connectors', body);
    if (r.status === 201) { log(`connector ${name} created: ${body.config['transforms.learn.algorithm']} on f1..f4, labels on banknote-labels, predictions on banknote-predictions`); return; }
    throw new Error(`HTTP ${r.status} ${JSON.stringify(r.body)}`); // 5xx and 409 (rebalance) are retried
  });
  if (cluster) await createClusterConnector();
  const learned0 = (await learner().catch(() => null))?.learned ?? 0;
  const copied0 = cluster ? await countCopies(admin) : 0;

  const csv = fs.existsSync('test/fixtures/datasets/banknote.csv') ? 'test/fixtures/datasets/banknote.csv' : '../shared/datasets/banknote.csv';
  const d = parseNumericCsv(fs.readFileSync(csv, 'utf8'));
  const producer = kafka.producer();
  await retrying('connecting the producer', () => producer.connect());
  const send = (topic, messages) => retrying(`sending to ${topic}`, () => producer.send({ topic, messages }));
  let latest = null;
  const poll = setInterval(async () => {
    try {
      latest = await learner();
      log(fmt(latest));
    } catch (e) { log(`metrics not available: ${e.message}`); }
  }, printEvery);

  const run = Date.now().toString(36);
  const tick = 50; // ms
  const perTick = Math.max(1, Math.round((rate * tick) / 1000));
  let labelsSent = 0, eventsSent = 0;
  for (let p = 0; p < passes; p++) {
    const seed = seed0 + p;
    const all = permutation(d.y.length, seed);
    const order = eventsPerPass > 0 ? all.slice(0, eventsPerPass) : all;
    log(`pass ${p + 1}/${passes}: ${order.length} shuffled events (seed ${seed}) at ~${rate}/s, labels ${delay} events later`);
    const queue = [];
    for (let t = 0; t < order.length; t += perTick) {
      const events = [], labels = [];
      for (let k = t; k < Math.min(order.length, t + perTick); k++) {
        const i = order[k], id = `${run}-${seed}-${k}`, x = d.X[i];
        events.push({ key: id, value: JSON.stringify({ id, f1: x[0], f2: x[1], f3: x[2], f4: x[3] }) });
        queue.push({ id, y: d.y[i] });
        while (queue.length > delay) { const q = queue.shift(); labels.push({ key: q.id, value: JSON.stringify({ id: q.id, label: q.y }) }); }
      }
      await send('banknote-events', events);
      if (cluster) await send(clusterTopics[0], events);
      eventsSent += events.length;
      if (labels.length) await send('banknote-labels', labels);
      labelsSent += labels.length;
      await sleep(tick);
    }
    const rest = queue.splice(0).map((q) => ({ key: q.id, value: JSON.stringify({ id: q.id, label: q.y }) }));
    if (rest.length) await send('banknote-labels', rest);
    labelsSent += rest.length;
  }
  await producer.disconnect();

  // done when the learner has learned every label sent in this run
  const deadline = Date.now() + settleTimeout;
  for (;;) {
    latest = await learner().catch(() => latest);
    if (latest && latest.learned - learned0 >= labelsSent) break;
    if (Date.now() > deadline) {
      clearInterval(poll);
      throw new Error(`the learner learned ${latest ? latest.learned - learned0 : 0} of the ${labelsSent} labels sent within ${settleTimeout / 1000}s (status: ${JSON.stringify((await http('GET', `/connectors/${encodeURIComponent(name)}/status`)).body)})`);
    }
    await sleep(500);
  }
  clearInterval(poll);
  log(`done: ${fmt(latest)}`);
  if (cluster) await showCluster(admin, copied0 + eventsSent);
  await admin.disconnect();
  log(`more: curl -s ${url}/learners/${name}`);
  log(`      curl -s ${url}/learners/${name}/model`);
  log(`      curl -s -X POST ${url}/learners/${name}/publish   (a linear model version on kappa-models)`);
  log(`      curl -s ${url}/metrics   (Prometheus metrics)`);
  log(`      ${url}/ui/ in a browser   (the console: connectors, models, the learner's accuracy over time)`);
})().catch((e) => { console.error('[demo] failed:', e.message); process.exit(1); });
NODE
