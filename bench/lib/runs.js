'use strict';
/**
 * One measured run against a pre-filled input topic of iris records, by the worker (a fresh
 * worker process with one KafkaTopicSink connector, Score or pass-through) or by the Kafka Streams
 * peer (a fresh JVM): a fresh output topic, the clock over bench/lib/measure.js's window (after
 * `warmup` records, until all `total` are out), then the input offsets must be committed.
 * Several runs can read the same input topic: each has its own consumer group.
 *
 * A run returns as soon as its offsets are committed; stopping its process (the worker's graceful
 * shutdown waits for a fetch long-poll, ~4 s) and deleting its group and output topic go on in the
 * background while the next run starts, outside the next run's measured window (which begins after
 * its warm-up), and the process is not in the next run's process tree. `await settle(ctx)` before
 * the scenario ends.
 *
 * Also: outputsEqual, which compares the first records of two output topics byte for byte.
 */
const { makeKafka } = require('./kafka');
const { measureWindow } = require('./measure');
const { processTree, treeRssBytes } = require('./proc');
const { servingWorker, scoreConfig, createConnector, failedTaskCheck, withLogs } = require('./connect');
const { publishRest } = require('./serving');
const { startPeer } = require('./peer');

/**
 * The worker: `artifact` (a MODELS key) published as `modelId`@1 and scored with Score, or
 * pass-through when `artifact` is null; `tasks` = tasks.max. Returns the window's measurement plus
 * { kind, output, t0, committedAt, idleRssBytes } (the output topic is kept when `keepOutput`, else
 * deleted; idleRssBytes: the worker with the model loaded, before the connector exists).
 */
/** Runs `cleanup` in the background of the scenario (see the file comment). */
function inBackground(ctx, cleanup) {
  if (!ctx.background) ctx.background = [];
  ctx.background.push(cleanup().catch(() => undefined));
}

/** Waits for the background clean-ups of `ctx`'s runs. */
async function settle(ctx) {
  while (ctx.background && ctx.background.length > 0) await Promise.all(ctx.background.splice(0));
}

/** A scenario's run(ctx) that waits for its runs' background clean-ups before it returns (or throws). */
function settled(run) {
  return async (ctx) => {
    try {
      return await run(ctx);
    } finally {
      await settle(ctx);
    }
  };
}

async function runKappa(ctx, { input, total, warmup, artifact = null, modelId = null, tasks = 1, workerProps = {}, tag, keepOutput = false, rssIntervalMs }) {
  const { bk, partitions, unique } = ctx;
  const output = await bk.createTopic(unique(`out-${tag}`), partitions);
  // the worker's own topics (internal, model control) go with it, not at the end of the scenario:
  // dozens of topics deleted at once keep a busy broker from serving metadata for a while
  const own = { ...ctx, cleanupTopics: [] };
  const worker = await servingWorker(own, workerProps, !!artifact, tag);
  const connector = unique(`conn-${tag}`);
  let deleteOutput = !keepOutput;
  try {
    if (artifact) await publishRest(worker, modelId, 1, artifact);
    // the worker's memory with the model loaded, before the connector starts
    const idleRssBytes = treeRssBytes(processTree(worker.pid));
    const t0 = Date.now();
    await createConnector(worker, connector, input, output, artifact ? scoreConfig(modelId) : {}, tasks);
    const m = await measureWindow(bk, output, { warmup, expected: total, pid: worker.pid, onTick: failedTaskCheck(worker, connector), rssIntervalMs });
    const committedAt = await bk.waitCommitted(`connect-${connector}`, input, total);
    return { kind: 'kappa', output, t0, committedAt, idleRssBytes, ...m };
  } catch (e) {
    deleteOutput = true;
    throw withLogs(e, worker);
  } finally {
    inBackground(ctx, async () => {
      await worker.stop();
      await bk.admin.deleteGroups([`connect-${connector}`]).catch(() => undefined);
      await bk.deleteTopics([...own.cleanupTopics, ...(deleteOutput ? [output] : [])]);
    });
  }
}

/** The Kafka Streams peer with `artifact`, scoring under `modelId`@1; `threads` stream threads. */
async function runPeer(ctx, { input, total, warmup, artifact, modelId, threads = 1, tag, keepOutput = false, rssIntervalMs }) {
  const { bk, partitions, unique } = ctx;
  const output = await bk.createTopic(unique(`out-${tag}`), partitions);
  const applicationId = unique(`peer-${tag}`);
  let deleteOutput = !keepOutput;
  const t0 = Date.now();
  const peer = await startPeer({ input, output, applicationId, artifact, modelId, threads });
  try {
    const onTick = () => {
      const f = peer.failed();
      if (f) throw new Error(f);
    };
    const m = await measureWindow(bk, output, { warmup, expected: total, pid: peer.pid, onTick, rssIntervalMs });
    // the peer's group is its application.id
    const committedAt = await bk.waitCommitted(applicationId, input, total);
    return { kind: 'peer', output, t0, committedAt, ...m };
  } catch (e) {
    deleteOutput = true;
    e.message += `\npeer log (tail):\n${peer.logs().slice(-3000)}`;
    throw e;
  } finally {
    inBackground(ctx, async () => {
      await peer.stop();
      await bk.admin.deleteGroups([applicationId]).catch(() => undefined);
      if (deleteOutput) await bk.deleteTopics([output]);
    });
  }
}

/** The first `perPartition` records of every partition of `topic`: key, value, the two model headers. */
async function readHeads(topic, partitions, perPartition) {
  const kafka = makeKafka(`kappa-bench-cmp-${process.pid}`);
  const groupId = `kappa-bench-cmp-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const heads = Array.from({ length: partitions }, () => []);
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let resolveDone;
    const done = new Promise((r) => { resolveDone = r; });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const h = heads[batch.partition];
        for (const m of batch.messages) {
          if (h.length >= perPartition) break;
          const header = (k) => (m.headers && m.headers[k] ? m.headers[k].toString() : null);
          h.push({ key: m.key ? m.key.toString() : null, value: m.value ? m.value.toString() : null, id: header('kappa.model.id'), version: header('kappa.model.version') });
        }
        if (heads.every((x) => x.length >= perPartition)) resolveDone();
      },
    });
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`reading ${topic}: fewer than ${perPartition} records per partition after 60 s`)), 60_000).unref());
    await Promise.race([done, timeout]);
    return heads;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect().then(() => admin.deleteGroups([groupId])).catch(() => undefined).finally(() => admin.disconnect().catch(() => undefined));
  }
}

/** Largest |a − b| over the probabilities of two parsed values whose other fields are equal; null when they differ otherwise. */
function probabilityDistance(a, b) {
  const pa = a && a.prediction;
  const pb = b && b.prediction;
  if (!pa || !pb || !pa.probabilities || !pb.probabilities) return null;
  const strip = (v) => JSON.stringify({ ...v, prediction: { ...v.prediction, probabilities: Object.keys(v.prediction.probabilities) } });
  if (strip(a) !== strip(b)) return null;
  let max = 0;
  for (const k of Object.keys(pa.probabilities)) max = Math.max(max, Math.abs(pa.probabilities[k] - pb.probabilities[k]));
  return max;
}

/**
 * Compares the first `perPartition` records of each partition of topics `a` and `b` (same
 * partition, same offset): key, the kappa.model.id / kappa.model.version headers and the value.
 *
 * A value is `identical` when its bytes are; `sameButProbabilityBits` when only the digits of
 * probabilities differ, by at most `tolerance`: ONNX Runtime's float32 results depend on how rows
 * are batched (a row scored in a batch of 1 and in a batch of 256 can differ in the last bits, its
 * vectorised and scalar code paths round differently), and Kappa's batches (fetched record
 * batches) are not the peer's (256 rows or 5 ms). Anything else is a mismatch.
 */
async function outputsEqual(a, b, partitions, perPartition = 2000, tolerance = 1e-6) {
  const [ha, hb] = await Promise.all([readHeads(a, partitions, perPartition), readHeads(b, partitions, perPartition)]);
  const res = { compared: 0, identical: 0, sameButProbabilityBits: 0, maxProbabilityDiff: 0, mismatches: 0, firstMismatch: null };
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < perPartition; i++) {
      const x = ha[p][i];
      const y = hb[p][i];
      res.compared++;
      if (x && y && x.key === y.key && x.id === y.id && x.version === y.version) {
        if (x.value === y.value) { res.identical++; continue; }
        let d = null;
        try { d = probabilityDistance(JSON.parse(x.value), JSON.parse(y.value)); } catch { /* not JSON: a mismatch */ }
        if (d !== null && d <= tolerance) {
          res.sameButProbabilityBits++;
          res.maxProbabilityDiff = Math.max(res.maxProbabilityDiff, d);
          continue;
        }
      }
      res.mismatches++;
      if (!res.firstMismatch) res.firstMismatch = { partition: p, offset: i, a: x ?? null, b: y ?? null };
    }
  }
  return res;
}

module.exports = { runKappa, runPeer, inBackground, settle, settled, outputsEqual };
