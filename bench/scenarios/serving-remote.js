'use strict';
/**
 * A remote model (`format: remote`: MLServer serving a scikit-learn iris LogisticRegression over the
 * Open Inference Protocol v2, JSON tensors) beside a local ONNX model (iris-logreg in the inference
 * pool) in the same run, on the same worker and the same iris records:
 *
 * - throughput: records/s of a Score connector over a backlog (worker defaults: task batches of
 *   up to ~1 MB per partition, at most kappa.model.remote.batch.max.records rows per infer request);
 * - latency: produce → prediction p50/p99 at a fixed offered load.
 *
 * MLServer is started (and installed when missing) by scripts/mlserver/mlserver.sh on free ports
 * and stopped at the end.
 */
const path = require('path');
const { execFileSync } = require('child_process');
const { sleep } = require('../lib/kafka');
const { REPO_ROOT, waitRunning } = require('../lib/worker');
const { servingWorker, scoreConfig, createConnector, watchWithStatus, finish, withLogs } = require('../lib/connect');
const sv = require('../lib/serving');
const net = require('net');

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'mlserver', 'mlserver.sh');
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'mlserver');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function mlserver(command, port, grpcPort) {
  return execFileSync('bash', [SCRIPT, command], {
    env: { ...process.env, MLSERVER_PORT: String(port), MLSERVER_GRPC_PORT: String(grpcPort), MLSERVER_MODELS: FIXTURES },
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 900_000,
  }).toString().trim();
}

/** Records/s of one Score connector over a backlog of `records` iris records. */
async function throughput(ctx, worker, modelId, records, tag) {
  const { bk, partitions, unique } = ctx;
  const input = await bk.createTopic(unique(`in-${tag}`), partitions);
  const output = await bk.createTopic(unique(`out-${tag}`), partitions);
  ctx.cleanupTopics.push(input, output);
  await sv.produceIris(bk, input, records, partitions);
  const connector = unique(`conn-${tag}`);
  const t0 = Date.now();
  await createConnector(worker, connector, input, output, scoreConfig(modelId));
  const { first, last, count } = await watchWithStatus(ctx, worker, connector, output, records);
  const committedAt = await bk.waitCommitted(`connect-${connector}`, input, records);
  await finish(ctx, worker, connector);
  return { t0, first, last, committedAt, count, recordsPerSec: Math.round(records / Math.max((last - first) / 1000, 0.001)) };
}

/** produce → prediction latency percentiles at `rate` records/s for `windowSeconds` (after `warmupSeconds`). */
async function latency(ctx, worker, modelId, tag, { rate, warmupSeconds, windowSeconds }) {
  const { bk, partitions, unique } = ctx;
  const input = await bk.createTopic(unique(`lat-in-${tag}`), partitions);
  const output = await bk.createTopic(unique(`lat-out-${tag}`), partitions);
  ctx.cleanupTopics.push(input, output);
  const connector = unique(`lat-conn-${tag}`);
  const readerGroup = unique(`lat-reader-${tag}`);
  const seen = new Map();
  await createConnector(worker, connector, input, output, scoreConfig(modelId));
  await waitRunning(worker, connector);
  const reader = await sv.readOutput(output, readerGroup, (list, seenAt) => {
    for (const r of list) if (!seen.has(r.value.id)) seen.set(r.value.id, { seenAt, ts: r.value.ts });
  });
  try {
    const prod = await sv.pacedProducer(bk, input, partitions, rate);
    const windowStart = prod.startedAt + warmupSeconds * 1000;
    const windowEnd = windowStart + windowSeconds * 1000;
    await sleep(windowEnd - Date.now() + 20);
    await prod.stop();
    const produced = prod.state.sent;
    const deadline = Date.now() + 30_000;
    while (seen.size < produced && Date.now() < deadline) await sleep(50);
    const lat = [];
    for (const r of seen.values()) if (r.ts >= windowStart && r.ts < windowEnd) lat.push(r.seenAt - r.ts);
    lat.sort((a, b) => a - b);
    return { offeredRecordsPerSec: rate, windowSeconds, measured: lat.length, missing: produced - seen.size, p50Ms: sv.percentile(lat, 50), p99Ms: sv.percentile(lat, 99), maxMs: lat[lat.length - 1] ?? null };
  } finally {
    await reader.stop();
    await bk.admin.deleteGroups([readerGroup]).catch(() => undefined);
    await finish(ctx, worker, connector);
  }
}

function remoteTable(rows) {
  const r = rows.find((x) => x.remoteVsOnnx);
  if (!r) return '';
  const m = r.remoteVsOnnx;
  const line = (name, x) => `  ${name.padEnd(28)} ${String(x.throughput.recordsPerSec).padStart(8)} records/s   latency at ${x.latency.offeredRecordsPerSec} records/s: p50 ${x.latency.p50Ms} ms, p99 ${x.latency.p99Ms} ms (missing ${x.latency.missing})`;
  return [
    `Remote (MLServer ${m.mlserver}, Open Inference Protocol, ${m.tensors} tensors) vs local ONNX, iris LogisticRegression, tasks.max=1, ${m.records} records:`,
    line('local ONNX (inference pool)', m.onnx),
    line('remote (MLServer)', m.remote),
    `  remote / local: ${(m.remote.throughput.recordsPerSec / m.onnx.throughput.recordsPerSec).toFixed(2)}× records/s`,
  ].join('\n');
}

function servingRemote({ name, description, maxRecords = 50_000, rate = 1000, warmupSeconds = 2, windowSeconds = 10 }) {
  return {
    name,
    description,
    table: remoteTable,
    async run(ctx) {
      const records = Math.min(ctx.records, maxRecords);
      const port = await freePort();
      const grpcPort = await freePort();
      const url = mlserver('start', port, grpcPort);
      let worker;
      try {
        worker = await servingWorker(ctx, { 'kappa.model.http.allowed.hosts': `127.0.0.1:${port}` });
        const classes = require(path.join(FIXTURES, 'iris-stream.json')).classes;
        const res = await worker.request('POST', '/models', {
          id: 'iris-remote', version: '1', algorithm: 'LogisticRegression', format: 'remote',
          uri: `${url}/v2/models/iris-logreg`, input: { features: ['x1', 'x2', 'x3', 'x4'] }, output: { classes },
        });
        if (res.status !== 201) throw new Error(`POST /models iris-remote: HTTP ${res.status} ${res.text}`);
        await sv.publishRest(worker, 'iris-logreg', 1, 'iris-logreg');
        const onnxThroughput = await throughput(ctx, worker, 'iris-logreg', records, 'onnx');
        const remoteThroughput = await throughput(ctx, worker, 'iris-remote', records, 'remote');
        const opts = { rate, warmupSeconds, windowSeconds };
        const onnxLatency = await latency(ctx, worker, 'iris-logreg', 'onnx', opts);
        const remoteLatency = await latency(ctx, worker, 'iris-remote', 'remote', opts);
        const version = (await (await fetch(`${url}/v2`)).json()).version;
        return {
          t0: remoteThroughput.t0, first: remoteThroughput.first, last: remoteThroughput.last, committedAt: remoteThroughput.committedAt,
          outputRecords: remoteThroughput.count, records,
          remoteVsOnnx: {
            mlserver: version, tensors: 'JSON', records,
            onnx: { throughput: onnxThroughput, latency: onnxLatency },
            remote: { throughput: remoteThroughput, latency: remoteLatency },
          },
        };
      } catch (e) {
        throw worker ? withLogs(e, worker) : e;
      } finally {
        if (worker) await worker.stop();
        mlserver('stop', port, grpcPort);
      }
    },
  };
}

module.exports = { servingRemote };
