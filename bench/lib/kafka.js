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
