'use strict';
/** kafkajs helpers for the benchmark: client, topics, input data, watching an output topic. */
const { Kafka, logLevel } = require('kafkajs');

const BOOTSTRAP = process.env.KAFKA_BOOTSTRAP_SERVERS || '127.0.0.1:19092';

function makeKafka(clientId) {
  return new Kafka({
    clientId,
    brokers: BOOTSTRAP.split(',').map((s) => s.trim()),
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 200 },
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The small JSON record the scenarios move: ~90 bytes of value, key `k<i>`. */
function recordValue(i, partitions) {
  return JSON.stringify({ id: i, seq: Math.floor(i / partitions), user: `user-${i % 9973}`, score: (i % 1000) / 1000, active: i % 3 === 0, tag: 'bench' });
}

/** Shared admin + producer for one benchmark run. */
class BenchKafka {
  constructor() {
    this.kafka = makeKafka(`kappa-bench-${process.pid}`);
    this.admin = this.kafka.admin();
  }

  async connect() {
    await this.admin.connect();
  }

  async close() {
    await this.admin.disconnect().catch(() => undefined);
    if (this.pAdmin) await this.pAdmin.close().catch(() => undefined);
  }

  async createTopic(topic, partitions) {
    await this.admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: false });
    // Wait until every partition has a leader that answers for it. kafkajs' own wait
    // (waitForLeaders) gives up when the broker answers "unknown topic" or "not the leader", which a
    // broker busy deleting many topics does for a while after the create; here that means: not yet.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const md = await this.admin.fetchTopicMetadata({ topics: [topic] });
        const ps = md.topics[0] ? md.topics[0].partitions : [];
        // and the leader serves the partitions (it may know its leadership before it has the log)
        if (ps.length === partitions && ps.every((p) => p.leader >= 0)) {
          await this.admin.fetchTopicOffsets(topic);
          return topic;
        }
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      if (Date.now() > deadline) throw new Error(`topic ${topic}: no leader for all ${partitions} partitions after 60 s`);
      await sleep(100);
    }
  }

  async deleteTopics(topics) {
    if (topics.length > 0) await this.admin.deleteTopics({ topics }).catch(() => undefined);
  }

  /** Produces `count` records (record i → partition i % partitions), batches of 1000, a few in flight. */
  async produceInput(topic, count, partitions, batch = 1000, inFlight = 4) {
    // a producer per topic: a shared one keeps refreshing metadata of topics deleted since (and fails)
    const producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 5 });
    await producer.connect();
    try {
      await this.produceWith(producer, topic, count, partitions, batch, inFlight);
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  async produceWith(producer, topic, count, partitions, batch, inFlight) {
    let next = 0;
    const sendOne = async () => {
      while (next < count) {
        const start = next;
        next = Math.min(count, next + batch);
        const messages = [];
        for (let i = start; i < next; i++) messages.push({ key: `k${i}`, value: recordValue(i, partitions), partition: i % partitions });
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, sendOne));
  }

  async endOffsetSum(topic) {
    const offs = await this.admin.fetchTopicOffsets(topic);
    return offs.reduce((n, p) => n + Number(p.high), 0);
  }

  /** endOffsetSum, or null when the broker answers with a retriable error (a leader moving, metadata not there yet). */
  async endOffsetSumOrNull(topic) {
    try {
      return await this.endOffsetSum(topic);
    } catch (e) {
      if (e && e.retriable) return null;
      throw e;
    }
  }

  /**
   * Sum of the high watermarks of partitions 0..partitions-1 of `topic`: every record written,
   * records of open transactions included (and one offset per transaction marker). kafkajs' admin
   * (endOffsetSum) asks for the last stable offset, what read_committed consumers may read, and
   * cannot be told otherwise; this asks through @platformatic/kafka's admin with read_uncommitted.
   * null on an error (a leader moving).
   */
  async highWatermarkSum(topic, partitions) {
    if (!this.pAdmin) {
      const { Admin } = require('@platformatic/kafka');
      this.pAdmin = new Admin({ clientId: `kappa-bench-hw-${process.pid}`, bootstrapBrokers: BOOTSTRAP.split(',').map((x) => x.trim()) });
    }
    try {
      const res = await this.pAdmin.listOffsets({
        topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, timestamp: -1n })) }],
        isolationLevel: 0, // READ_UNCOMMITTED
      });
      return res[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
    } catch {
      return null;
    }
  }

  async groupOffsetSum(groupId, topic) {
    const res = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    let n = 0;
    for (const t of res) for (const p of t.partitions) if (Number(p.offset) > 0) n += Number(p.offset);
    return n;
  }

  /**
   * Polls the output topic's end offsets every `intervalMs` until `expected` records are there.
   * Returns the times (Date.now()) when the first record and the last one appeared.
   */
  async watchOutput(topic, expected, { timeoutMs = 600_000, intervalMs = 25, stallMs = 45_000, onTick } = {}) {
    const deadline = Date.now() + timeoutMs;
    let first = 0;
    let last = 0;
    let seen = -1;
    let progressAt = Date.now();
    for (;;) {
      const n = (await this.endOffsetSumOrNull(topic)) ?? Math.max(seen, 0);
      const now = Date.now();
      if (n > 0 && !first) first = now;
      if (n !== seen) { seen = n; progressAt = now; }
      if (now - progressAt > stallMs) throw new Error(`output ${topic}: stuck at ${n} of ${expected} records for ${stallMs} ms`);
      if (n >= expected) {
        last = now;
        return { first, last, count: n };
      }
      if (onTick) onTick(n);
      if (now > deadline) throw new Error(`output ${topic}: ${n} of ${expected} records after ${timeoutMs} ms`);
      await sleep(intervalMs);
    }
  }

  /**
   * Reads all of `topic` (from the beginning, a throwaway group) until `expected` records are read
   * or nothing new came for `idleMs`; `idOf(value)` gives each record's id in [0, expected).
   * Returns { read, distinct, duplicates, missing, outOfRange }.
   */
  async readIds(topic, expected, idOf, { idleMs = 5000, timeoutMs = 300_000 } = {}) {
    const seen = new Uint8Array(expected);
    const res = { read: 0, distinct: 0, duplicates: 0, missing: 0, outOfRange: 0 };
    const groupId = `kappa-bench-ids-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100, maxBytes: 10 * 2 ** 20 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      let lastAt = Date.now();
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            res.read++;
            const id = idOf(m.value);
            if (!(id >= 0 && id < expected)) { res.outOfRange++; continue; }
            if (seen[id]) res.duplicates++;
            else { seen[id] = 1; res.distinct++; }
          }
          lastAt = Date.now();
        },
      });
      const deadline = Date.now() + timeoutMs;
      while (res.distinct < expected && Date.now() - lastAt < idleMs && Date.now() < deadline) await sleep(100);
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    }
    res.missing = expected - res.distinct;
    return res;
  }

  /**
   * A read_committed reader of `topic` from its beginning (a throwaway group) that counts records
   * as they arrive: what a consumer of an exactly-once output sees (records of open or aborted
   * transactions are not returned, transaction markers, which take offsets, are not records).
   * Start it before the records come: it resolves once the reader has its partitions. Returns
   * { count(), samples ([Date.now(), count] after every fetched batch), window(warmup, expected),
   * waitFor(expected, opts), stop() }.
   */
  async committedReader(topic, { joinTimeoutMs = 30_000 } = {}) {
    const groupId = `kappa-bench-committed-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const consumer = this.kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 50, maxBytes: 10 * 2 ** 20, sessionTimeout: 30_000, heartbeatInterval: 3000 });
    const samples = [];
    let count = 0;
    let joined;
    const joinedP = new Promise((r) => { joined = r; });
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    const stop = async () => {
      await consumer.disconnect().catch(() => undefined);
      await this.admin.deleteGroups([groupId]).catch(() => undefined);
    };
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (batch.messages.length === 0) return;
          count += batch.messages.length;
          samples.push([Date.now(), count]);
        },
      });
      let timer;
      const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`read_committed reader of ${topic}: no partitions after ${joinTimeoutMs} ms`)), joinTimeoutMs); });
      await Promise.race([joinedP, timeout]).finally(() => clearTimeout(timer));
    } catch (e) {
      await stop();
      throw e;
    }
    return {
      count: () => count,
      samples,
      /** the steady window: from the first batch that brought the count to ≥ warmup to the one that brought it to ≥ expected */
      window(warmup, expected) {
        const start = samples.find(([, n]) => n >= Math.max(warmup, 1));
        const end = samples.find(([, n]) => n >= expected);
        if (!start || !end) return null;
        const records = end[1] - start[1];
        const seconds = (end[0] - start[0]) / 1000;
        return { startAt: start[0], endAt: end[0], startCount: start[1], endCount: end[1], records, seconds, recordsPerSec: records > 0 && seconds > 0 ? Math.round(records / seconds) : null };
      },
      /** resolves with { first, last, count } once `expected` records were read; onTick may throw to abort */
      async waitFor(expected, { timeoutMs = 600_000, stallMs = 45_000, onTick } = {}) {
        const deadline = Date.now() + timeoutMs;
        let seen = -1;
        let progressAt = Date.now();
        for (;;) {
          const now = Date.now();
          if (count !== seen) { seen = count; progressAt = now; }
          if (count >= expected) return { first: samples[0][0], last: samples.find(([, n]) => n >= expected)[0], count };
          if (now - progressAt > stallMs) throw new Error(`output ${topic} (read_committed): stuck at ${count} of ${expected} records for ${stallMs} ms`);
          if (now > deadline) throw new Error(`output ${topic} (read_committed): ${count} of ${expected} records after ${timeoutMs} ms`);
          if (onTick) onTick(count);
          await sleep(25);
        }
      },
      stop,
    };
  }

  /** Waits until group `groupId` has committed the end offset of every partition of `topic`. */
  async waitCommitted(groupId, topic, expected, timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = await this.groupOffsetSum(groupId, topic).catch((e) => { if (e && e.retriable) return 0; throw e; });
      if (n >= expected) return Date.now();
      if (Date.now() > deadline) throw new Error(`group ${groupId}: committed ${n} of ${expected} after ${timeoutMs} ms`);
      await sleep(100);
    }
  }
}

module.exports = { BOOTSTRAP, BenchKafka, makeKafka, recordValue, sleep };
