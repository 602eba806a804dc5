#!/usr/bin/env bash
# `make run` demo (started once the worker answers on 127.0.0.1:8083): online learning through Kafka.
#
#   1. creates the topics banknote-events, banknote-labels, banknote-predictions
#   2. posts connectors/learn-banknote.json (KafkaTopicSink + the Learn transform, SCW-I) unless it exists
#      (an existing connector is kept: its learner resumes from its compacted state topic)
#   3. streams shuffled banknote events (Fisher-Yates on mulberry32, seeds DEMO_SEED, +1, ...) at
#      DEMO_RATE events/s, each label DEMO_DELAY events later on banknote-labels
#   4. prints the prequential accuracy from GET /learners/learn-banknote every DEMO_PRINT_S seconds
#
# Environment: KAFKA_BOOTSTRAP_SERVERS (default 127.0.0.1:19092), CONNECT_URL (default
# http://127.0.0.1:8083), DEMO_SEED (0), DEMO_PASSES (3), DEMO_RATE (200), DEMO_DELAY (50), DEMO_PRINT_S (3).
# Only loopback addresses are used.
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
const rate = Number(env('DEMO_RATE', '200'));
const delay = Number(env('DEMO_DELAY', '50'));
const printEvery = Number(env('DEMO_PRINT_S', '3')) * 1000;
const body = JSON.parse(fs.readFileSync('connectors/learn-banknote.json', 'utf8'));
const name = body.name;
const log = (...a) => console.log('[demo]', ...a);

async function http(method, path, json) {
  const res = await fetch(url + path, { method, headers: { 'content-type': 'application/json', accept: 'application/json' }, body: json === undefined ? undefined : JSON.stringify(json) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function fmt(s) {
  if (!s) return 'learner not running yet';
  const c = s.cumulative, w = s.windowed || {};
  const f = (v) => (v === null || v === undefined ? '  -  ' : v.toFixed(4));
  return `learned ${String(s.learned).padStart(5)} | accuracy ${f(c.accuracy)} (last ${s.window}: ${f(w.accuracy)}) | precision ${f(c.precision)} recall ${f(c.recall)} F1 ${f(c.f1)} | pending ${s.pending.events}`;
}

(async () => {
  const kafka = new Kafka({ clientId: 'kappa-demo', brokers: process.env.KAFKA_BOOTSTRAP_SERVERS.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  const want = ['banknote-events', 'banknote-labels', 'banknote-predictions'].filter((t) => !existing.has(t));
  if (want.length) await admin.createTopics({ topics: want.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })), waitForLeaders: true });
  await admin.disconnect();
  log(`topics ready: banknote-events, banknote-labels, banknote-predictions`);

  const got = await http('GET', `/connectors/${name}`);
  if (got.status === 200) log(`connector ${name} exists: keeping it (its learner resumes from kappa-learner-${name})`);
  else {
    const r = await http('POST', '/connectors', body);
    if (r.status !== 201) throw new Error(`creating ${name}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    log(`connector ${name} created: ${body.config['transforms.learn.algorithm']} on f1..f4, labels on banknote-labels, predictions on banknote-predictions`);
  }

  const csv = fs.existsSync('test/fixtures/datasets/banknote.csv') ? 'test/fixtures/datasets/banknote.csv' : '../shared/datasets/banknote.csv';
  const d = parseNumericCsv(fs.readFileSync(csv, 'utf8'));
  const producer = kafka.producer();
  await producer.connect();
  let latest = null;
  const poll = setInterval(async () => {
    try {
      const r = await http('GET', `/learners/${name}`);
      latest = r.status === 200 ? r.body : null;
      log(fmt(latest));
    } catch (e) { log(`metrics not available: ${e.message}`); }
  }, printEvery);

  const run = Date.now().toString(36);
  const tick = 50; // ms
  const perTick = Math.max(1, Math.round((rate * tick) / 1000));
  for (let p = 0; p < passes; p++) {
    const seed = seed0 + p;
    const order = permutation(d.y.length, seed);
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
      await producer.send({ topic: 'banknote-events', messages: events });
      if (labels.length) await producer.send({ topic: 'banknote-labels', messages: labels });
      await new Promise((r) => setTimeout(r, tick));
    }
    const rest = queue.splice(0).map((q) => ({ key: q.id, value: JSON.stringify({ id: q.id, label: q.y }) }));
    if (rest.length) await producer.send({ topic: 'banknote-labels', messages: rest });
  }
  await new Promise((r) => setTimeout(r, printEvery + 1500));
  clearInterval(poll);
  await producer.disconnect();
  log(`done: ${fmt(latest)}`);
  log(`more: curl -s ${url}/learners/${name}`);
  log(`      curl -s ${url}/learners/${name}/model`);
  log(`      curl -s -X POST ${url}/learners/${name}/publish   (a linear model version on kappa-models)`);
})().catch((e) => { console.error('[demo] failed:', e.message); process.exit(1); });
NODE
