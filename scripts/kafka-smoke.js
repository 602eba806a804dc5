#!/usr/bin/env node
/*
 * kafkajs <-> broker compatibility check.
 *
 * Exercises, against a real broker, every kafkajs call the Kappa Connect worker
 * relies on (admin, producer, consumer group) and reports each one as ok/FAIL.
 *
 *   node scripts/kafka-smoke.js [--brokers host:port] [--verbose]
 *   node scripts/kafka-smoke.js --ping [--brokers host:port]   # readiness probe, exit 0/1
 *
 * Brokers default to $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:19092.
 * Every topic/group name is random, so it can run against a shared broker.
 */
'use strict';

const { Kafka, logLevel, CompressionTypes } = require('kafkajs');

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const brokers = opt('--brokers', process.env.KAFKA_BOOTSTRAP_SERVERS || '127.0.0.1:19092')
  .split(',').map((s) => s.trim()).filter(Boolean);
const verbose = flag('--verbose');

async function ping() {
  const kafka = new Kafka({
    clientId: 'kafka-smoke-ping', brokers, logLevel: logLevel.NOTHING,
    connectionTimeout: 1000, requestTimeout: 3000, retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (!cluster.brokers.length || cluster.controller == null) throw new Error('no brokers/controller yet');
    console.log(JSON.stringify({ clusterId: cluster.clusterId, brokers: cluster.brokers.length }));
    return 0;
  } catch (e) {
    if (verbose) console.error(String(e && e.message));
    return 1;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// ------------------------------------------------------------------ full check
const results = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rand = () => Math.random().toString(36).slice(2, 10);

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)${detail ? ` - ${detail}` : ''}`);
    return true;
  } catch (e) {
    results.push({ name, ok: false, error: e });
    console.log(`FAIL ${name} (${Date.now() - t0} ms) - ${e && e.name}: ${e && e.message}`);
    if (verbose && e && e.stack) console.log(e.stack);
    return false;
  }
}

async function waitFor(what, pred, timeoutMs = 20000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function full() {
  const kafka = new Kafka({
    clientId: 'kafka-smoke', brokers,
    logLevel: verbose ? logLevel.INFO : logLevel.NOTHING,
    connectionTimeout: 3000, requestTimeout: 15000,
  });
  const admin = kafka.admin();
  const id = rand();
  const topic = `smoke-${id}`;
  const compacted = `smoke-${id}-compacted`;
  const groupId = `smoke-group-${id}`;
  const PARTS = 3;
  const t0 = Date.now();
  let producer;
  let consumer;

  console.log(`kafka-smoke: brokers=${brokers.join(',')} kafkajs=${require('kafkajs/package.json').version}`);
  await admin.connect();
  try {
    await check('admin.describeCluster (cluster id)', async () => {
      const c = await admin.describeCluster();
      assert(typeof c.clusterId === 'string' && c.clusterId.length > 0, 'clusterId');
      assert(c.brokers.length >= 1, 'brokers');
      return `clusterId=${c.clusterId} controller=${c.controller} brokers=${c.brokers.length}`;
    });

    await check('admin.createTopics (3 partitions + cleanup.policy=compact, waitForLeaders)', async () => {
      const created = await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic, numPartitions: PARTS, replicationFactor: 1 },
          {
            topic: compacted, numPartitions: 1, replicationFactor: 1,
            configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
          },
        ],
      });
      assert(created === true, `createTopics returned ${created}`);
      // creating an existing topic must resolve false, not throw (the worker relies on it)
      const again = await admin.createTopics({ topics: [{ topic: compacted, numPartitions: 1 }] });
      assert(again === false, `second createTopics returned ${again}`);
    });

    await check('admin.describeConfigs (topic cleanup.policy)', async () => {
      const { ConfigResourceTypes } = require('kafkajs');
      const r = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: compacted, configNames: ['cleanup.policy'] }],
      });
      const entry = r.resources[0].configEntries.find((e) => e.configName === 'cleanup.policy');
      assert(entry && entry.configValue === 'compact', `cleanup.policy=${entry && entry.configValue}`);
    });

    await check('admin.listTopics / fetchTopicMetadata', async () => {
      const names = await admin.listTopics();
      assert(names.includes(topic) && names.includes(compacted), 'listTopics');
      const md = await admin.fetchTopicMetadata({ topics: [topic, compacted] });
      const t = md.topics.find((x) => x.name === topic);
      assert(t && t.partitions.length === PARTS, 'partition count');
      assert(t.partitions.every((p) => p.leader >= 0), 'leaders');
      const all = await admin.fetchTopicMetadata();
      assert(all.topics.some((x) => x.name === topic), 'fetchTopicMetadata() without topics');
      return `${t.partitions.length} partitions`;
    });

    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const baseTs = Date.now() - 60000;
    const N = 30;
    await check('producer.send (acks -1, headers, timestamps, keys, gzip) + sendBatch', async () => {
      const messages = [];
      for (let i = 0; i < N; i++) {
        messages.push({
          key: `k${i % 5}`, value: JSON.stringify({ i }), partition: i % PARTS,
          timestamp: String(baseTs + i),
          headers: { 'x-index': String(i), 'x-bin': Buffer.from([i, 255]) },
        });
      }
      const md = await producer.send({ topic, acks: -1, messages: messages.slice(0, 20) });
      assert(md.length >= 1 && md.every((m) => m.errorCode === 0), 'send metadata');
      const md2 = await producer.sendBatch({
        acks: -1, compression: CompressionTypes.GZIP,
        topicMessages: [
          { topic, messages: messages.slice(20) },
          { topic: compacted, messages: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }, { key: 'b', value: null }] },
        ],
      });
      assert(md2.length >= 2, 'sendBatch metadata');
    });

    await check('admin.fetchTopicOffsets / fetchTopicOffsetsByTimestamp', async () => {
      const offs = await admin.fetchTopicOffsets(topic);
      const total = offs.reduce((s, p) => s + Number(p.high) - Number(p.low), 0);
      assert(total === N, `total ${total}`);
      const byTs = await admin.fetchTopicOffsetsByTimestamp(topic, baseTs + 10);
      assert(byTs.length === PARTS, 'by timestamp');
      return `high=${offs.map((p) => p.high).join('/')}`;
    });

    // ---- consumer group: join, eachBatch, manual commit, pause/resume
    consumer = kafka.consumer({
      groupId, sessionTimeout: 10000, rebalanceTimeout: 10000, heartbeatInterval: 1000,
      maxWaitTimeInMs: 200, allowAutoTopicCreation: false,
    });
    const received = [];
    let paused = false;
    let receivedWhilePaused = 0;
    let batches = 0;
    await check('consumer join group + eachBatch + commitOffsets + pause/resume', async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve));
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          batches++;
          for (const m of batch.messages) {
            if (!isRunning() || isStale()) break;
            if (paused) receivedWhilePaused++;
            received.push({ partition: batch.partition, offset: m.offset, ts: m.timestamp, headers: m.headers, key: m.key && m.key.toString() });
            resolveOffset(m.offset);
          }
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }]);
          await heartbeat();
        },
      });
      const ev = await Promise.race([joined, sleep(30000).then(() => null)]);
      assert(ev, 'GROUP_JOIN event within 30s');
      await waitFor(`${N} messages`, () => received.length >= N, 30000);
      assert(received.length === N, `received ${received.length}`);
      const r5 = received.find((m) => m.headers['x-index'] && m.headers['x-index'].toString() === '5');
      assert(r5 && r5.ts === String(baseTs + 5), `timestamp preserved (${r5 && r5.ts})`);
      assert(Buffer.compare(r5.headers['x-bin'], Buffer.from([5, 255])) === 0, 'binary header preserved');

      consumer.pause([{ topic }]);
      assert(consumer.paused().length === 1, 'paused() lists the topic');
      paused = true;
      await producer.send({ topic, acks: -1, messages: [{ value: 'while-paused', partition: 0 }] });
      await sleep(1500);
      assert(receivedWhilePaused === 0, `got ${receivedWhilePaused} messages while paused`);
      paused = false;
      consumer.resume([{ topic }]);
      await waitFor('message after resume', () => received.length >= N + 1, 15000);
      return `${received.length} messages in ${batches} batches`;
    });

    await check('admin.describeGroups / listGroups (live member)', async () => {
      const d = await admin.describeGroups([groupId]);
      const g = d.groups[0];
      assert(g && g.groupId === groupId && g.state === 'Stable', `state ${g && g.state}`);
      assert(g.members.length === 1 && g.protocolType === 'consumer', 'members');
      const l = await admin.listGroups();
      assert(l.groups.some((x) => x.groupId === groupId), 'listGroups');
      return `state=${g.state} protocol=${g.protocol}`;
    });

    await check('admin.fetchOffsets (committed by the consumer)', async () => {
      const res = await waitFor('committed offsets', async () => {
        const r = await admin.fetchOffsets({ groupId, topics: [topic] });
        const sum = r[0].partitions.reduce((s, p) => s + Number(p.offset), 0);
        return sum === N + 1 ? r : null;
      }, 10000, 200);
      return res[0].partitions.map((p) => `${p.partition}:${p.offset}`).join(' ');
    });

    await consumer.stop();
    await consumer.disconnect();
    consumer = undefined;

    await check('admin.setOffsets (group empty)', async () => {
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }, { partition: 1, offset: '2' }] });
      const r = await admin.fetchOffsets({ groupId, topics: [topic] });
      const p = Object.fromEntries(r[0].partitions.map((x) => [x.partition, x.offset]));
      assert(p[0] === '1' && p[1] === '2', `offsets ${JSON.stringify(p)}`);
    });

    await check('admin.resetOffsets (earliest and latest)', async () => {
      await admin.resetOffsets({ groupId, topic, earliest: true });
      let r = await admin.fetchOffsets({ groupId, topics: [topic] });
      // kafkajs commits -2 ("earliest") / -1 ("latest") markers for the consumer to resolve
      const e = r[0].partitions.map((x) => x.offset);
      await admin.resetOffsets({ groupId, topic });
      r = await admin.fetchOffsets({ groupId, topics: [topic] });
      const l = r[0].partitions.map((x) => x.offset);
      return `earliest=${e.join('/')} latest=${l.join('/')}`;
    });

    await check('admin.deleteGroups', async () => {
      const r = await admin.deleteGroups([groupId]);
      assert(r.length === 1 && r[0].errorCode === 0, `deleteGroups ${JSON.stringify(r)}`);
      const l = await admin.listGroups();
      assert(!l.groups.some((x) => x.groupId === groupId), 'group still listed');
    });

    await check('idempotent producer (InitProducerId)', async () => {
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await p.connect();
      try {
        await p.send({ topic, acks: -1, messages: [{ key: 'i', value: 'idempotent' }] });
      } finally {
        await p.disconnect();
      }
    });

    await check('transactional producer (commit)', async () => {
      const p = kafka.producer({ transactionalId: `smoke-tx-${id}`, idempotent: true, maxInFlightRequests: 1 });
      await p.connect();
      try {
        const tx = await p.transaction();
        await tx.send({ topic, messages: [{ key: 't', value: 'tx' }] });
        await tx.commit();
      } finally {
        await p.disconnect();
      }
    });

    await check('admin.deleteTopics', async () => {
      await admin.deleteTopics({ topics: [topic, compacted], timeout: 10000 });
      await waitFor('topics gone', async () => {
        const names = await admin.listTopics();
        return !names.includes(topic) && !names.includes(compacted);
      }, 15000, 200);
    });
  } finally {
    if (consumer) await consumer.disconnect().catch(() => {});
    if (producer) await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }

  const failed = results.filter((r) => !r.ok);
  console.log(`kafka-smoke: ${results.length - failed.length} passed, ${failed.length} failed in ${Date.now() - t0} ms`);
  return failed.length ? 1 : 0;
}

(flag('--ping') ? ping() : full())
  .then((code) => process.exit(code))
  .catch((e) => {
    console.error(`kafka-smoke: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  });
