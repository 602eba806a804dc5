/** Kafka helpers (kafkajs) for the integration tests: topics, producing, reading back, group offsets. */
import { Admin, Kafka, logLevel, Producer } from 'kafkajs';
import { randomSuffix, sleep } from './wait';

export const BOOTSTRAP_SERVERS = process.env.KAFKA_BOOTSTRAP_SERVERS || '127.0.0.1:19092';

let kafka: Kafka | undefined;
let admin: Admin | undefined;
let producer: Producer | undefined;

export function getKafka(): Kafka {
  kafka ??= new Kafka({
    clientId: `kappa-it-${randomSuffix(4)}`,
    brokers: BOOTSTRAP_SERVERS.split(',').map((s) => s.trim()),
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 200 },
  });
  return kafka;
}

export async function getAdmin(): Promise<Admin> {
  if (!admin) {
    const a = getKafka().admin();
    await a.connect();
    admin = a;
  }
  return admin;
}

async function getProducer(): Promise<Producer> {
  if (!producer) {
    const p = getKafka().producer({ allowAutoTopicCreation: false });
    await p.connect();
    producer = p;
  }
  return producer;
}

/** Disconnects the shared clients; call from afterAll. */
export async function closeKafka(): Promise<void> {
  const p = producer;
  const a = admin;
  producer = undefined;
  admin = undefined;
  await Promise.allSettled([p?.disconnect(), a?.disconnect()]);
}

export async function createTopic(topic: string, partitions = 1): Promise<string> {
  const a = await getAdmin();
  // a broker that just (re)started may answer metadata requests for a new topic with
  // UNKNOWN_TOPIC_OR_PARTITION for a moment: try again
  for (let attempt = 1; ; attempt++) {
    try {
      await a.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
      return topic;
    } catch (e) {
      const retriable = (e as { retriable?: boolean }).retriable === true || /does not host|not available|leader/i.test((e as Error).message);
      if (!retriable || attempt >= 10) throw e;
      await sleep(500 * attempt);
    }
  }
}

export async function deleteTopics(topics: string[]): Promise<void> {
  if (topics.length === 0) return;
  const a = await getAdmin();
  await a.deleteTopics({ topics }).catch(() => undefined);
}

export interface OutRecord {
  key?: string | null;
  /** objects are JSON-serialised; strings are sent as-is */
  value: unknown;
  partition?: number;
  headers?: Record<string, string>;
  timestamp?: number;
}

export async function produce(topic: string, records: OutRecord[]): Promise<void> {
  const p = await getProducer();
  await p.send({
    topic,
    acks: -1,
    messages: records.map((r) => ({
      key: r.key ?? null,
      value: r.value === null ? null : typeof r.value === 'string' ? r.value : JSON.stringify(r.value),
      partition: r.partition,
      headers: r.headers,
      timestamp: r.timestamp !== undefined ? String(r.timestamp) : undefined,
    })),
  });
}

/**
 * Produces `count` JSON records `{"id": start+i, ...extra}` with key `k<id>`.
 * With `partitions`, record i goes to partition (start+i) % partitions.
 */
export async function produceJson(
  topic: string,
  count: number,
  opts: { start?: number; partitions?: number; extra?: Record<string, unknown> } = {},
): Promise<void> {
  const start = opts.start ?? 0;
  const records: OutRecord[] = [];
  for (let i = 0; i < count; i++) {
    const id = start + i;
    records.push({
      key: `k${id}`,
      value: { id, ...(opts.extra ?? {}) },
      partition: opts.partitions ? id % opts.partitions : undefined,
    });
  }
  await produce(topic, records);
}

export interface InRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  timestamp: number;
}

/**
 * Reads a topic from the beginning with a throw-away consumer group until `expected` records
 * arrived or `timeoutMs` passed; returns what it got (in per-partition order).
 */
export async function readAll(topic: string, opts: { expected?: number; timeoutMs?: number } = {}): Promise<InRecord[]> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const a = await getAdmin();
  const ends = await a.fetchTopicOffsets(topic);
  const total = ends.reduce((n, p) => n + (Number(p.high) - Number(p.low)), 0);
  const expected = opts.expected ?? total;
  const out: InRecord[] = [];
  if (expected === 0 && total === 0) return out;
  const groupId = `kappa-it-reader-${randomSuffix()}`;
  const consumer = getKafka().consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) {
          if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
        }
        out.push({
          topic: t,
          partition,
          offset: Number(message.offset),
          key: message.key ? message.key.toString('utf8') : null,
          value: message.value ? message.value.toString('utf8') : null,
          headers,
          timestamp: Number(message.timestamp),
        });
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (out.length < expected && Date.now() < deadline) await sleep(100);
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await a.deleteGroups([groupId]).catch(() => undefined);
  }
  return out;
}

/** Sum of (high watermark) over all partitions: how many records were ever produced (no compaction). */
export async function endOffsets(topic: string): Promise<Map<number, number>> {
  const a = await getAdmin();
  const ends = await a.fetchTopicOffsets(topic);
  return new Map(ends.map((p) => [p.partition, Number(p.high)]));
}

/**
 * Committed offsets of `groupId` for `topic`: partition → offset (-1 = nothing committed).
 */
export async function groupOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
  const a = await getAdmin();
  const res = await a.fetchOffsets({ groupId, topics: [topic] });
  const out = new Map<number, number>();
  for (const t of res) {
    for (const p of t.partitions) out.set(p.partition, Number(p.offset));
  }
  return out;
}

export function sumOffsets(offsets: Map<number, number>): number {
  let n = 0;
  for (const v of offsets.values()) if (v > 0) n += v;
  return n;
}

/** The consumer groups the broker knows about (ids only). */
export async function listGroups(): Promise<string[]> {
  const a = await getAdmin();
  const res = await a.listGroups();
  return res.groups.map((g) => g.groupId);
}

export async function clusterId(): Promise<string> {
  const a = await getAdmin();
  const d = await a.describeCluster();
  return d.clusterId;
}
