'use strict';
/**
 * Model-serving scenarios: the Score transform (io.kappa.connect.ml.Score) in a KafkaTopicSink
 * connector on iris JSON records (`{"id","ts","x1".."x4"}`), one task, one inference thread.
 *
 * - servingPassthrough: the same connector without the transform (the ceiling for the rows below).
 * - servingThroughput: scored records/s for one model at a micro-batch size n
 *   (`kappa.model.batch.max.records=n`). The sink task hands the transform one fetched batch at a
 *   time and a request larger than the batch size is not split, so the input is written in record
 *   batches of n records per partition and the connector's max.partition.fetch.bytes lets a fetch
 *   return one of them: every model call then scores ≤ n rows. With `fetchBounded: false` the
 *   worker's defaults apply (task batches of up to ~1 MB per partition).
 * - servingLatency: produce→prediction latency at a fixed offered load.
 * - servingSwap: publish a new version under a steady stream, time until its first scored record.
 */
const { sleep } = require('../lib/kafka');
const { waitRunning } = require('../lib/worker');
const { servingWorker, scoreConfig, createConnector, watchWithStatus, finish, withLogs } = require('../lib/connect');
const sv = require('../lib/serving');

/**
 * Scored (or, without `model`, pass-through) records/s on iris records.
 * `maxRecords` caps the record count (small batches are slow); `batch` = kappa.model.batch.max.records.
 */
function servingThroughput({ name, description, model, batch, fetchBounded = true, maxRecords = Infinity }) {
  return {
    name,
    description,
    table: sv.servingTable,
    async run(ctx) {
      const { bk, partitions, unique } = ctx;
      const records = Math.min(ctx.records, maxRecords);
      const input = await bk.createTopic(unique('in'), partitions);
      const output = await bk.createTopic(unique('out'), partitions);
      ctx.cleanupTopics.push(input, output);
      const perPartition = fetchBounded && batch ? batch : 250;
      await sv.produceIris(bk, input, records, partitions, { perPartition, inFlight: perPartition < 16 ? 16 : 4 });
      const fetchBytes = fetchBounded && batch ? sv.fetchBytesFor(batch, records) : null;
      // the model call alone, in this process, before the worker starts: the inference ceiling at this size
      const inferenceOnly = model && batch ? (await sv.inferenceOnly(model, [batch]))[batch] : null;

      const worker = await servingWorker(ctx, batch ? { 'kappa.model.batch.max.records': String(batch) } : {}, !!model);
      const connector = unique('conn');
      try {
        if (model) await sv.publishRest(worker, model, 1, model);
        const config = model ? scoreConfig(model) : {};
        if (fetchBytes) {
          config['consumer.override.max.partition.fetch.bytes'] = String(fetchBytes);
          // the task joins queued batches of a partition up to max.poll.records: keep them at n
          config['consumer.override.max.poll.records'] = String(batch);
        }
        const t0 = Date.now();
        await createConnector(worker, connector, input, output, config);
        const { first, last, count } = await watchWithStatus(ctx, worker, connector, output, records);
        const committedAt = await bk.waitCommitted(`connect-${connector}`, input, records);
        await finish(ctx, worker, connector);
        return {
          t0, first, last, committedAt, outputRecords: count, records,
          serving: {
            kind: 'throughput', model: model || null, batchMaxRecords: batch || null, batchMaxWaitMs: 2,
            fetchBounded: !!fetchBytes, maxPartitionFetchBytes: fetchBytes, recordBatchRecords: perPartition, inferenceOnly,
          },
        };
      } catch (e) {
        throw withLogs(e, worker);
      } finally {
        await worker.stop();
      }
    },
  };
}

/** Starts a scoring connector on fresh topics with a reader on its output; the caller streams into `input`. */
async function streamingSetup(ctx, { model, artifact, workerProps = {} }) {
  const { bk, partitions, unique } = ctx;
  const input = await bk.createTopic(unique('in'), partitions);
  const output = await bk.createTopic(unique('out'), partitions);
  ctx.cleanupTopics.push(input, output);
  const worker = await servingWorker(ctx, workerProps);
  const connector = unique('conn');
  const readerGroup = unique('reader');
  const seen = new Map(); // id → { seenAt, ts, version, partition }
  let duplicates = 0;
  const listeners = [];
  let reader;
  try {
    await sv.publishRest(worker, model, 1, artifact);
    await createConnector(worker, connector, input, output, scoreConfig(model));
    await waitRunning(worker, connector);
    reader = await sv.readOutput(output, readerGroup, (list, seenAt) => {
      for (const r of list) {
        const id = r.value && r.value.id;
        if (seen.has(id)) { duplicates++; continue; }
        seen.set(id, { seenAt, ts: r.value.ts, version: r.version, partition: r.partition });
      }
      for (const l of listeners) l(list, seenAt);
    });
  } catch (e) {
    await worker.stop();
    throw withLogs(e, worker);
  }
  return {
    input, output, worker, connector, seen, listeners,
    duplicates: () => duplicates,
    async waitSeen(n, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (seen.size < n && Date.now() < deadline) await sleep(50);
      return seen.size;
    },
    async close() {
      if (reader) await reader.stop();
      await bk.admin.deleteGroups([readerGroup]).catch(() => undefined);
      await finish(ctx, worker, connector);
      await worker.stop();
    },
  };
}

/** p50/p99 produce→prediction latency at `rate` records/s for `windowSeconds` (after `warmupSeconds`). */
function servingLatency({ name, description, model = 'iris-logreg', rate = 2000, warmupSeconds = 2, windowSeconds = 10 }) {
  return {
    name,
    description,
    table: sv.servingTable,
    async run(ctx) {
      const s = await streamingSetup(ctx, { model, artifact: model });
      try {
        const prod = await sv.pacedProducer(ctx.bk, s.input, ctx.partitions, rate);
        const windowStart = prod.startedAt + warmupSeconds * 1000;
        const windowEnd = windowStart + windowSeconds * 1000;
        await sleep(windowEnd - Date.now() + 20);
        await prod.stop();
        const produced = prod.state.sent;
        await s.waitSeen(produced, 30_000);
        const lat = [];
        let first = Infinity;
        let last = 0;
        for (const r of s.seen.values()) {
          if (r.ts < windowStart || r.ts >= windowEnd) continue;
          lat.push(r.seenAt - r.ts);
          first = Math.min(first, r.seenAt);
          last = Math.max(last, r.seenAt);
        }
        lat.sort((a, b) => a - b);
        const committedAt = await ctx.bk.waitCommitted(`connect-${s.connector}`, s.input, produced);
        return {
          t0: windowStart, first, last, committedAt, outputRecords: s.seen.size, records: lat.length,
          serving: {
            kind: 'latency', model, batchMaxRecords: 256, batchMaxWaitMs: 2, offeredRecordsPerSec: rate, windowSeconds, warmupSeconds,
            producedRecords: produced, measured: lat.length, missing: produced - s.seen.size, duplicates: s.duplicates(),
            producerErrors: prod.state.errors, skippedTicks: prod.state.skippedTicks,
            p50Ms: sv.percentile(lat, 50), p90Ms: sv.percentile(lat, 90), p99Ms: sv.percentile(lat, 99), maxMs: lat[lat.length - 1] ?? null,
            meanMs: lat.length ? Number((lat.reduce((a, b) => a + b, 0) / lat.length).toFixed(1)) : null,
          },
        };
      } catch (e) {
        throw withLogs(e, s.worker);
      } finally {
        await s.close();
      }
    },
  };
}

/**
 * Under a steady `rate` records/s stream scored by `model`@1, publishes versions 2.. alternately
 * through POST /models and the control topic (artifacts alternate v2 / v1 so every version is a
 * real load), and measures publish → first output record carrying the new version (header
 * kappa.model.version), and → the new version seen on every partition.
 */
function servingSwap({ name, description, model = 'iris-logreg', rate = 2000, swaps = 4 }) {
  return {
    name,
    description,
    table: sv.servingTable,
    async run(ctx) {
      const s = await streamingSetup(ctx, { model, artifact: 'iris-logreg' });
      const producer = ctx.bk.kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      let prod;
      try {
        // per version: first time seen anywhere / per partition; per partition: highest version seen
        const firstSeen = new Map();
        const partSeen = new Map();
        const maxVersion = new Map();
        let wentBack = 0;
        s.listeners.push((list, seenAt) => {
          for (const r of list) {
            const v = Number(r.version);
            if (!firstSeen.has(v)) firstSeen.set(v, seenAt);
            const key = `${v}/${r.partition}`;
            if (!partSeen.has(key)) partSeen.set(key, seenAt);
            const m = maxVersion.get(r.partition) ?? 0;
            if (v < m) wentBack++;
            else maxVersion.set(r.partition, v);
          }
        });
        prod = await sv.pacedProducer(ctx.bk, s.input, ctx.partitions, rate);
        const t0 = Date.now();
        await sleep(2000);
        const results = [];
        for (let k = 0; k < swaps; k++) {
          const version = k + 2;
          const artifact = k % 2 === 0 ? 'iris-logreg-v2' : 'iris-logreg';
          const via = k % 2 === 0 ? 'rest' : 'topic';
          const before = wentBack;
          const tPub = Date.now();
          if (via === 'rest') await sv.publishRest(s.worker, model, version, artifact);
          else await sv.publishTopic(producer, s.worker.modelTopic, model, version, artifact);
          const deadline = Date.now() + 30_000;
          const all = () => Array.from({ length: ctx.partitions }, (_, p) => partSeen.get(`${version}/${p}`));
          while (all().some((x) => x === undefined) && Date.now() < deadline) await sleep(10);
          if (!firstSeen.has(version)) throw new Error(`version ${version} (${via}) scored nothing within 30 s`);
          const parts = all();
          results.push({
            version, via, from: version - 1, to: version, artifact,
            publishToFirstOutputMs: firstSeen.get(version) - tPub,
            publishToAllPartitionsMs: parts.some((x) => x === undefined) ? null : Math.max(...parts) - tPub,
            oldAfterSwitch: wentBack - before,
          });
          await sleep(1000);
        }
        await prod.stop();
        const produced = prod.state.sent;
        prod = null;
        await s.waitSeen(produced, 30_000);
        const last = Math.max(...[...s.seen.values()].map((r) => r.seenAt));
        const committedAt = await ctx.bk.waitCommitted(`connect-${s.connector}`, s.input, produced);
        const firsts = results.map((r) => r.publishToFirstOutputMs).sort((a, b) => a - b);
        return {
          t0, first: t0, last, committedAt, outputRecords: s.seen.size, records: produced,
          serving: {
            kind: 'swap', model, offeredRecordsPerSec: rate, partitions: ctx.partitions, swaps: results,
            medianPublishToFirstOutputMs: sv.percentile(firsts, 50),
            producedRecords: produced, outputRecords: s.seen.size, missing: produced - s.seen.size, duplicates: s.duplicates(), versionWentBack: wentBack,
          },
        };
      } catch (e) {
        throw withLogs(e, s.worker);
      } finally {
        if (prod) await prod.stop();
        await producer.disconnect().catch(() => undefined);
        await s.close();
      }
    },
  };
}

module.exports = { servingThroughput, servingLatency, servingSwap };
