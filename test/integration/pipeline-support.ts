/**
 * The 100,000-record JSON pipeline shared by data-path.test.ts and crash-recovery.test.ts:
 * input records, the connector (KafkaTopicSink + InsertField$Value + ReplaceField$Value, tasks.max=2),
 * producing, reading back and waiting for the committed offsets.
 */
import type { Producer } from 'kafkajs';
import { endOffsets, expectStatus, getAdmin, getKafka, KAFKA_TOPIC_SINK, randomSuffix, waitFor, type Worker } from './helpers';

export const TOTAL = 100_000;
export const PARTITIONS = 4;
const BATCH = 1000;

/** What comes out: `seq` renamed to `sequence`, `drop` excluded, `pipeline` inserted. */
export interface OutValue {
  id: number;
  sequence: number;
  src: number;
  pipeline: string;
  seq?: unknown;
  drop?: unknown;
}

export interface ReadRecord<V> {
  partition: number;
  offset: number;
  key: string | null;
  value: V;
}

export const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** The connector config under test. */
export function pipelineConnector(input: string, output: string): Record<string, string> {
  return {
    'connector.class': KAFKA_TOPIC_SINK,
    'tasks.max': '2',
    topics: input,
    'target.topic': output,
    transforms: 'insert,rename',
    'transforms.insert.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
    'transforms.insert.static.field': 'pipeline',
    'transforms.insert.static.value': 'kappa',
    'transforms.rename.type': 'org.apache.kafka.connect.transforms.ReplaceField$Value',
    'transforms.rename.renames': 'seq:sequence',
    'transforms.rename.exclude': 'drop',
  };
}

/** Record i goes to partition i % 4 with seq = i / 4 (its position in that partition). */
function inputRecord(i: number): { partition: number; key: string; value: string } {
  const partition = i % PARTITIONS;
  return { partition, key: `k${i}`, value: JSON.stringify({ id: i, seq: Math.floor(i / PARTITIONS), src: partition, drop: 'x' }) };
}

let producer: Producer | undefined;

/**
 * Produces records [from, to) in sendBatch calls of 1000 records. One batch holds records of all 4
 * partitions; batches go one after another so each partition's records are appended in seq order.
 */
/**
 * Produces records from..to-1 in batches of 1,000; with `perSecond`, paced at about that rate (a
 * stream that lasts, so that faults injected "mid-stream" really fall in the middle of it).
 */
export async function produceRange(topic: string, from: number, to: number, options: { perSecond?: number } = {}): Promise<void> {
  if (!producer) {
    producer = getKafka().producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  }
  const p = producer;
  const t0 = Date.now();
  for (let start = from; start < to; start += BATCH) {
    if (options.perSecond) {
      const due = t0 + ((start - from) / options.perSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    const messages = [];
    for (let i = start; i < Math.min(to, start + BATCH); i++) messages.push(inputRecord(i));
    await p.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
  }
}

export async function closeProducer(): Promise<void> {
  await producer?.disconnect().catch(() => undefined);
  producer = undefined;
}

/** Reads partitions up to the given end offsets with eachBatch (fast), JSON-parsing values. */
/**
 * Reads a topic up to `ends`. Without `committed`, every offset below the ends is a record. A topic
 * written in transactions has offsets that are no records for a read_committed reader (commit
 * markers, aborted records): pass `committed` = how many records to wait for; the reader then keeps
 * reading a little longer, so that records beyond that number (duplicates) are seen too.
 */
export async function readTopic<V>(topic: string, ends: Map<number, number>, timeoutMs = 60_000, committed?: number): Promise<ReadRecord<V>[]> {
  const expected = committed ?? sum(ends);
  const out: ReadRecord<V>[] = [];
  if (expected === 0) return out;
  const groupId = `kappa-it-reader-${randomSuffix()}`;
  const consumer = getKafka().consumer({ groupId, maxBytesPerPartition: 4 * 1024 * 1024, maxWaitTimeInMs: 200 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (Number(m.offset) >= (ends.get(batch.partition) ?? 0)) continue;
          out.push({
            partition: batch.partition,
            offset: Number(m.offset),
            key: m.key ? m.key.toString('utf8') : null,
            value: JSON.parse(m.value!.toString('utf8')) as V,
          });
        }
      },
    });
    await waitFor(() => out.length >= expected, { timeoutMs, intervalMs: 100, description: `${expected} records from ${topic} (have ${out.length})` });
    if (committed !== undefined) {
      let seen = -1;
      while (seen !== out.length) {
        seen = out.length;
        await new Promise((r) => setTimeout(r, 1500));
      }
    }
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await (await getAdmin()).deleteGroups([groupId]).catch(() => undefined);
  }
  return out;
}

/** The connector's committed offsets per partition, as GET /connectors/{name}/offsets reports them. */
export async function committedOffsets(worker: Worker, name: string): Promise<Map<number, number>> {
  const res = await worker.api.get(`/connectors/${name}/offsets`);
  expectStatus(res, 200);
  const out = new Map<number, number>();
  for (const o of res.body.offsets as { partition: { kafka_partition: number }; offset: { kafka_offset: number } }[]) {
    out.set(o.partition.kafka_partition, o.offset.kafka_offset);
  }
  return out;
}

/** Waits until the connector has committed the end offset of every input partition; explains a timeout. */
export async function waitCommittedToEnd(worker: Worker, name: string, inputEnds: Map<number, number>, output: string): Promise<void> {
  let lastCommitted = new Map<number, number>();
  try {
    await waitFor(
      async () => {
        const c = (lastCommitted = await committedOffsets(worker, name));
        return [...inputEnds].every(([p, end]) => c.get(p) === end) ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  } catch {
    const group = await (await getAdmin()).describeGroups([`connect-${name}`]).catch((x) => String(x));
    throw new Error(
      `committed offsets of ${name} did not reach ${JSON.stringify([...inputEnds])}: last ${JSON.stringify([...lastCommitted])}; ` +
        `output now ${sum(await endOffsets(output))}; group ${JSON.stringify(group).slice(0, 1500)}\n` +
        `status ${(await worker.api.get(`/connectors/${name}/status`)).text}\nworker log:\n${worker.logs().slice(-6000)}`,
    );
  }
}
