'use strict';
/**
 * Helpers of the model-serving scenarios (bench/scenarios/serving.js): iris input records with a
 * produce timestamp, input laid out in record batches of a given size, model publishing (REST and
 * control topic), an output reader that records when each scored record was seen, a paced producer
 * (fixed offered load), in-process inference timing, percentiles and the serving table.
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { makeKafka, sleep } = require('./kafka');
const { REPO_ROOT } = require('./worker');

const MODELS_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'models');
const FEATURES = ['x1', 'x2', 'x3', 'x4'];

/** The fixture models the scenarios use: id → artifact file. */
const MODELS = {
  'iris-logreg': { file: 'iris-logreg-v1.onnx', algorithm: 'LogisticRegression' },
  'iris-logreg-v2': { file: 'iris-logreg-v2.onnx', algorithm: 'LogisticRegression' },
  'iris-rf': { file: 'iris-rf.onnx', algorithm: 'RandomForestClassifier' },
  // the same estimators exported with zipmap=False (probability tensor instead of a sequence of maps)
  'iris-logreg-nozipmap': { file: 'iris-logreg-nozipmap.onnx', algorithm: 'LogisticRegression' },
  'iris-rf-nozipmap': { file: 'iris-rf-nozipmap.onnx', algorithm: 'RandomForestClassifier' },
};

let irisRowsCache;
/** The 150 iris rows of the fixture (sepal/petal length/width), cycled through by the records. */
function irisRows() {
  if (!irisRowsCache) {
    const fx = JSON.parse(fs.readFileSync(path.join(MODELS_DIR, 'iris-logreg-v1.json'), 'utf8'));
    irisRowsCache = fx.expected.rows;
    if (!Array.isArray(irisRowsCache) || irisRowsCache.length === 0 || irisRowsCache[0].length !== 4) throw new Error('iris fixture rows missing');
  }
  return irisRowsCache;
}

/** Value of iris record i: `{"id","ts","x1".."x4"}` (~67 bytes); ts = produce time (ms). */
function irisValue(i, ts) {
  const r = irisRows()[i % irisRows().length];
  return `{"id":${i},"ts":${ts},"x1":${r[0]},"x2":${r[1]},"x3":${r[2]},"x4":${r[3]}}`;
}

/**
 * Produces `count` iris records (record i → partition i % partitions) so that every record batch
 * in the log holds `perPartition` records: each sendBatch carries perPartition records per partition.
 */
async function produceIris(bk, topic, count, partitions, { perPartition = 250, inFlight = 4 } = {}) {
  const producer = bk.kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 8 });
  await producer.connect();
  try {
    const batch = perPartition * partitions;
    let next = 0;
    const sendOne = async () => {
      while (next < count) {
        const start = next;
        next = Math.min(count, next + batch);
        const ts = Date.now();
        const messages = [];
        for (let i = start; i < next; i++) messages.push({ key: `k${i}`, value: irisValue(i, ts), partition: i % partitions });
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, sendOne));
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/**
 * A max.partition.fetch.bytes that lets one fetch return one record batch of `n` iris records per
 * partition (and not two): header 61 bytes + per record key + value + ≤ 12 bytes of varints.
 * The sink task then gets batches of ≤ n records, so a micro-batch of n rows is one model call.
 */
function fetchBytesFor(n, count) {
  const keyLen = `k${count}`.length;
  const valueLen = Math.max(...irisRows().map((_, i) => irisValue(count + i, Date.now()).length));
  return 61 + n * (keyLen + valueLen + 12);
}

function sha256Of(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A control message for fixture `artifact` (a MODELS key) published as `id`@`version`. */
function controlMessage(id, version, artifact) {
  const m = MODELS[artifact];
  if (!m) throw new Error(`unknown fixture model ${artifact}`);
  const file = path.join(MODELS_DIR, m.file);
  return {
    id,
    version: String(version),
    algorithm: m.algorithm,
    format: 'onnx',
    uri: `file://${file}`,
    sha256: sha256Of(file),
    input: { features: FEATURES },
    more_info: { source: 'kappa-bench' },
  };
}

/** POST /models; throws unless 201. */
async function publishRest(worker, id, version, artifact) {
  const res = await worker.request('POST', '/models', controlMessage(id, version, artifact));
  if (res.status !== 201) throw new Error(`POST /models ${id}@${version}: HTTP ${res.status} ${res.text}`);
  return res.body;
}

/** Writes the control message straight to the model-control topic (key = model id). */
async function publishTopic(producer, topic, id, version, artifact) {
  await producer.send({ topic, acks: -1, messages: [{ key: id, value: JSON.stringify(controlMessage(id, version, artifact)) }] });
}

/**
 * Reads the output topic from the beginning; calls onRecords(list, seenAt) per fetched batch with
 * `{ partition, offset, value (parsed), version (header kappa.model.version) }`.
 */
async function readOutput(topic, groupId, onRecords) {
  const kafka = makeKafka(`kappa-bench-out-${process.pid}`);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: 30_000, heartbeatInterval: 3000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const seenAt = Date.now();
      const list = batch.messages.map((m) => {
        const h = m.headers && m.headers['kappa.model.version'];
        return { partition: batch.partition, offset: Number(m.offset), value: m.value ? JSON.parse(m.value.toString('utf8')) : null, version: h ? String(h) : null };
      });
      onRecords(list, seenAt);
    },
  });
  return {
    async stop() {
      await consumer.disconnect().catch(() => undefined);
    },
  };
}

/**
 * Offered load: `rate` records/s, sent every `tickMs` in one sendBatch (acks=all, not awaited in
 * the tick, at most `maxInFlight` sends outstanding); every value carries ts = the send time.
 * `stop()` ends it and waits for outstanding sends; `sent` counts records handed to the producer.
 */
async function pacedProducer(bk, topic, partitions, rate, { tickMs = 10, maxInFlight = 16 } = {}) {
  const producer = bk.kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: maxInFlight });
  await producer.connect();
  const state = { sent: 0, skippedTicks: 0, errors: 0, stopped: false };
  const inFlight = new Set();
  const t0 = Date.now();
  const loop = (async () => {
    while (!state.stopped) {
      const due = Math.floor(((Date.now() - t0) / 1000) * rate);
      if (due > state.sent && inFlight.size < maxInFlight) {
        const ts = Date.now();
        const messages = [];
        for (let i = state.sent; i < due; i++) messages.push({ key: `k${i}`, value: irisValue(i, ts), partition: i % partitions });
        state.sent = due;
        const p = producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] }).catch(() => { state.errors++; }).finally(() => inFlight.delete(p));
        inFlight.add(p);
      } else if (due > state.sent) state.skippedTicks++;
      await sleep(tickMs);
    }
  })();
  return {
    state,
    startedAt: t0,
    async stop() {
      state.stopped = true;
      await loop;
      await Promise.allSettled([...inFlight]);
      await producer.disconnect().catch(() => undefined);
    },
  };
}

/** Rows/s of back-to-back InferencePool.run calls of `n` rows (one worker thread), in this process. */
async function inferenceOnly(modelArtifact, sizes, { seconds = 1 } = {}) {
  const onnx = require(path.join(REPO_ROOT, 'dist', 'ml', 'serving', 'onnx'));
  const pool = new onnx.InferencePool({ threads: 1 });
  try {
    const key = { modelId: 'bench', version: '1' };
    await pool.load(key, new Uint8Array(fs.readFileSync(path.join(MODELS_DIR, MODELS[modelArtifact].file))), { expectedFeatures: 4 });
    const out = {};
    const rows = irisRows();
    for (const n of sizes) {
      const buf = new Float32Array(n * 4);
      for (let i = 0; i < n; i++) buf.set(rows[i % rows.length], i * 4);
      for (let w = 0; w < 20; w++) await pool.run(key, buf, n, 4); // warm-up
      let calls = 0;
      const start = process.hrtime.bigint();
      const until = Date.now() + seconds * 1000;
      while (Date.now() < until) {
        await pool.run(key, buf, n, 4);
        calls++;
      }
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      out[n] = { callsPerSec: Math.round(calls / s), recordsPerSec: Math.round((calls * n) / s), usPerCall: Number(((s / calls) * 1e6).toFixed(1)) };
    }
    return out;
  } finally {
    await pool.close();
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** The table printed after the main one for rows that carry `serving` metrics. */
function servingTable(rows) {
  const serving = rows.filter((r) => r.serving);
  if (serving.length === 0) return '';
  const ceiling = rows.find((r) => r.name === 'serving-passthrough-iris' && !r.error);
  const lines = ['Model serving (iris records, tasks.max=1, 1 inference thread):', ''];
  const thr = serving.filter((r) => r.serving.kind === 'throughput');
  if (thr.length > 0) {
    // the pass-through row with the same task batches (same fetch bound), if it ran
    const sameBatches = (r) => thr.find((x) => !x.error && !x.serving.model && x.serving.fetchBounded && r.serving.fetchBounded && x.serving.batchMaxRecords === r.serving.batchMaxRecords);
    const cols = ['scenario', 'model', 'batch', 'records', 'records/s', 'vs pass-through same batches', 'vs pass-through', 'inference-only rec/s'];
    const data = thr.map((r) => {
      const same = r.serving.model ? sameBatches(r) : null;
      return [
        r.name,
        r.serving.model || '-',
        r.serving.batchMaxRecords == null ? 'unbounded' : `${r.serving.batchMaxRecords}${r.serving.fetchBounded ? '' : ' (fetch unbounded)'}`,
        String(r.records),
        r.error ? 'ERROR' : String(r.recordsPerSec),
        !r.error && same ? (r.recordsPerSec / same.recordsPerSec).toFixed(2) : '',
        !r.error && ceiling ? (r.recordsPerSec / ceiling.recordsPerSec).toFixed(2) : '',
        r.serving.inferenceOnly ? String(r.serving.inferenceOnly.recordsPerSec) : '',
      ];
    });
    lines.push(fmt(cols, data), '');
    lines.push('batch = kappa.model.batch.max.records and (when not unbounded) the most records per task batch; ' +
      'vs pass-through = ratio to serving-passthrough-iris (default fetch); inference-only = back-to-back model calls of that many rows in one thread', '');
  }
  for (const r of serving.filter((x) => x.serving.kind === 'latency')) {
    const s = r.serving;
    lines.push(r.error ? `${r.name}: ERROR` :
      `${r.name}: offered ${s.offeredRecordsPerSec} records/s for ${s.windowSeconds} s (${s.model}, batch ${s.batchMaxRecords}, wait ${s.batchMaxWaitMs} ms): ` +
      `${s.measured} records, produce→prediction p50 ${s.p50Ms} ms, p90 ${s.p90Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms; missing ${s.missing}`);
  }
  for (const r of serving.filter((x) => x.serving.kind === 'swap')) {
    if (r.error) { lines.push(`${r.name}: ERROR`); continue; }
    const s = r.serving;
    lines.push(`${r.name}: publish → first record scored by the new version seen in the output (${s.offeredRecordsPerSec} records/s stream):`);
    for (const w of s.swaps) {
      lines.push(`  ${w.via.padEnd(5)} ${w.from}→${w.to}: first ${w.publishToFirstOutputMs} ms, all ${s.partitions} partitions ${w.publishToAllPartitionsMs} ms, ` +
        `old version after switch: ${w.oldAfterSwitch}`);
    }
    lines.push(`  median first ${s.medianPublishToFirstOutputMs} ms; records ${s.outputRecords}/${s.producedRecords} (duplicates ${s.duplicates}, missing ${s.missing})`);
  }
  return lines.join('\n');
}

function fmt(cols, data) {
  const widths = cols.map((c, i) => Math.max(c.length, ...data.map((d) => d[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...data.map(line)].join('\n');
}

module.exports = {
  MODELS_DIR, FEATURES, MODELS, irisRows, irisValue, produceIris, fetchBytesFor, controlMessage, publishRest, publishTopic,
  readOutput, pacedProducer, inferenceOnly, percentile, servingTable,
};
