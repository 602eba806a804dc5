'use strict';
/**
 * Raw consume → produce loops on @platformatic/kafka, the Kafka client of the worker's new data
 * plane (issue 8), beside raw-kafkajs: same data, same topics, same semantics: every record re-sent
 * as is (key, value, partition, timestamp) with acks=all, requests of at most 256 KB, offsets
 * committed every second for what the broker has acknowledged. No conversion.
 *
 * The client streams messages; the loop gathers what arrived in one turn of the event loop (at
 * most 256 KB) into one send. `raw-platformatic` keeps one send in flight and pauses the stream
 * until it is acknowledged: the same stop-and-wait shape as the kafkajs loop, whose eachBatch waits
 * for its sendBatch. `raw-platformatic-inflight5` keeps up to 5 sends in flight (the Java
 * producer's and kafkajs' max.in.flight default): what the client does when the loop pipelines,
 * as the worker's pipelined task loop is meant to. The consumer's fetch limits are kafkajs'
 * defaults (10 MB per fetch, 1 MB per partition); the client's own default fetch is 50 MB.
 *
 * The package is ESM-only; Node 24 loads it with require().
 */
const { Consumer, Producer, MessagesStreamModes, MessagesStreamFallbackModes } = require('@platformatic/kafka');
const { BOOTSTRAP } = require('../lib/kafka');

/** same split limit as raw-kafkajs and the worker */
const MAX_REQUEST_BYTES = Number(process.env.KAPPA_BENCH_RAW_SPLIT_BYTES) || 256 * 1024;

/** The pass-through's rate beside the two raw loops of the same run (the "≥ 0.9 × / ≥ 1.5 ×"). */
function clientTable(rows) {
  const ok = (name) => rows.find((r) => r.name === name && !r.error);
  const pass = ok('pipeline-passthrough');
  const loops = ['raw-platformatic', 'raw-platformatic-inflight5', 'raw-kafkajs'].map(ok).filter(Boolean);
  if (!pass || loops.length === 0) return '';
  return `pipeline-passthrough (worker, tasks.max=1): ${pass.recordsPerSec} records/s = ` +
    loops.map((r) => `${(pass.recordsPerSec / r.recordsPerSec).toFixed(2)} × ${r.name} (${r.recordsPerSec})`).join(', ');
}

function rawPlatformatic({ name, description, maxInFlight }) {
  return {
    name,
    description,
    table: clientTable,
    async run(ctx) {
      const { bk, records, partitions, unique } = ctx;
      const input = await bk.createTopic(unique('in'), partitions);
      const output = await bk.createTopic(unique('out'), partitions);
      ctx.cleanupTopics.push(input, output);
      await bk.produceInput(input, records, partitions);

      const groupId = unique('group');
      const brokers = BOOTSTRAP.split(',').map((s) => s.trim());
      const consumer = new Consumer({
        clientId: `kappa-bench-raw-${process.pid}`, bootstrapBrokers: brokers, groupId,
        sessionTimeout: 30_000, heartbeatInterval: 3000, maxBytes: 10 * 2 ** 20, maxBytesPerPartition: 2 ** 20, maxWaitTime: 500,
      });
      const producer = new Producer({ clientId: `kappa-bench-raw-${process.pid}`, bootstrapBrokers: brokers, acks: -1, idempotent: false, autocreateTopics: false });
      let stream;
      let commitTimer;
      let failure;
      try {
        const t0 = Date.now();
        stream = await consumer.consume({ topics: [input], mode: MessagesStreamModes.COMMITTED, fallbackMode: MessagesStreamFallbackModes.EARLIEST, autocommit: false });
        stream.on('error', (e) => { failure = failure ?? e; });

        // acknowledged: partition → { offset of the next record to read, leader epoch }
        const acked = new Map();
        let batch = [];
        let marks = new Map(); // partition → last offset in `batch`
        let bytes = 0;
        let inFlight = 0;
        let scheduled = false;
        const flush = () => {
          if (batch.length === 0) return;
          const messages = batch;
          const done = marks;
          batch = [];
          marks = new Map();
          bytes = 0;
          inFlight++;
          if (inFlight >= maxInFlight) stream.pause();
          producer.send({ messages }).then(() => {
            for (const [p, m] of done) {
              const cur = acked.get(p);
              if (!cur || cur.offset < m.offset + 1n) acked.set(p, { offset: m.offset + 1n, leaderEpoch: m.leaderEpoch });
            }
          }, (e) => { failure = failure ?? e; }).finally(() => {
            inFlight--;
            if (inFlight < maxInFlight && stream.isPaused()) stream.resume();
          });
        };
        stream.on('data', (m) => {
          const size = 32 + (m.key ? m.key.length : 0) + (m.value ? m.value.length : 0);
          if (bytes + size > MAX_REQUEST_BYTES) flush();
          batch.push({ topic: output, key: m.key, value: m.value, partition: m.partition, timestamp: m.timestamp });
          marks.set(m.partition, { offset: m.offset, leaderEpoch: m.leaderEpoch });
          bytes += size;
          // what arrived in this turn of the event loop goes out as one send
          if (!scheduled) {
            scheduled = true;
            setImmediate(() => { scheduled = false; flush(); });
          }
        });
        commitTimer = setInterval(() => {
          if (acked.size === 0) return;
          const offsets = [...acked].map(([partition, a]) => ({ topic: input, partition, offset: a.offset, leaderEpoch: a.leaderEpoch }));
          consumer.commit({ offsets }).catch((e) => { failure = failure ?? e; });
        }, 1000);

        const { first, last, count } = await bk.watchOutput(output, records, { onTick: () => { if (failure) throw failure; } });
        const committedAt = await bk.waitCommitted(groupId, input, records);
        return { t0, first, last, committedAt, outputRecords: count };
      } finally {
        clearInterval(commitTimer);
        if (stream) await stream.close().catch(() => undefined);
        await consumer.close().catch(() => undefined);
        await producer.close().catch(() => undefined);
        await bk.admin.deleteGroups([groupId]).catch(() => undefined);
      }
    },
  };
}

module.exports = [
  rawPlatformatic({
    name: 'raw-platformatic',
    description: '@platformatic/kafka consume stream → send loop (bytes passed through, one send in flight as raw-kafkajs), commits every 1 s',
    maxInFlight: 1,
  }),
  rawPlatformatic({
    name: 'raw-platformatic-inflight5',
    description: 'as raw-platformatic with up to 5 sends in flight (pipelined)',
    maxInFlight: 5,
  }),
];
