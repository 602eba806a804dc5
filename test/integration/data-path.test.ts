/**
 * The data path under load: 100,000 schemaless JSON records on a 4-partition topic go through a
 * KafkaTopicSink connector (tasks.max=2) with two SMTs (InsertField$Value, ReplaceField$Value) into
 * a 4-partition output topic. Without failures every id must arrive exactly once, transformed, in
 * source-partition order, and the connector's committed offsets must reach the end offsets.
 */
import type { Producer } from 'kafkajs';
import {
  closeKafka,
  createConnector,
  createTopic,
  endOffsets,
  expectStatus,
  getAdmin,
  getKafka,
  KAFKA_TOPIC_SINK,
  randomSuffix,
  startWorker,
  stopAllWorkers,
  uniqueName,
  waitFor,
  waitForState,
  Worker,
} from './helpers';

const TOTAL = 100_000;
const PARTITIONS = 4;
const BATCH = 1000;
/**
 * Records produced before the connector starts: 15,000 per partition is more than one 1 MB fetch,
 * so the sink gets full-size batches (which, with the SMTs' extra bytes, exceed the broker's
 * 1 MB message.max.bytes unless the producer splits them).
 */
const BACKLOG = 60_000;

interface InValue {
  id: number;
  seq: number;
  src: number;
  drop: string;
}

interface OutValue {
  id: number;
  sequence: number;
  src: number;
  pipeline: string;
  seq?: unknown;
  drop?: unknown;
}

interface OutRec {
  partition: number;
  offset: number;
  key: string | null;
  value: OutValue;
}

let worker: Worker;
let producer: Producer | undefined;

beforeAll(async () => {
  worker = await startWorker();
});

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  await stopAllWorkers();
  await closeKafka();
});

/** Record i goes to partition i % 4 with seq = i / 4 (its position in that partition). */
function inputRecord(i: number): { partition: number; key: string; value: string } {
  const partition = i % PARTITIONS;
  const value: InValue = { id: i, seq: Math.floor(i / PARTITIONS), src: partition, drop: 'x' };
  return { partition, key: `k${i}`, value: JSON.stringify(value) };
}

/** Produces records [from, to) in sendBatch calls of BATCH records. */
async function produceRange(topic: string, from: number, to: number): Promise<void> {
  if (!producer) {
    producer = getKafka().producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
  }
  const p = producer;
  // one batch holds records of all 4 partitions; batches go one after another so each partition's
  // records are appended in seq order
  for (let start = from; start < to; start += BATCH) {
    const messages = [];
    for (let i = start; i < Math.min(to, start + BATCH); i++) messages.push(inputRecord(i));
    await p.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
  }
}

/** Reads partitions up to the given end offsets with eachBatch (fast), JSON-parsing values. */
async function readTopic(topic: string, ends: Map<number, number>, timeoutMs = 60_000): Promise<OutRec[]> {
  const expected = [...ends.values()].reduce((a, b) => a + b, 0);
  const out: OutRec[] = [];
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
            value: JSON.parse(m.value!.toString('utf8')) as OutValue,
          });
        }
      },
    });
    await waitFor(() => out.length >= expected, { timeoutMs, intervalMs: 100, description: `${expected} records from ${topic} (have ${out.length})` });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await (await getAdmin()).deleteGroups([groupId]).catch(() => undefined);
  }
  return out;
}

async function committedOffsets(name: string): Promise<Map<number, number>> {
  const res = await worker.api.get(`/connectors/${name}/offsets`);
  expectStatus(res, 200);
  const out = new Map<number, number>();
  for (const o of res.body.offsets as { partition: { kafka_partition: number }; offset: { kafka_offset: number } }[]) {
    out.set(o.partition.kafka_partition, o.offset.kafka_offset);
  }
  return out;
}

it('moves 100,000 records through two SMTs exactly once, in partition order, and commits to the end', async () => {
  const t0 = Date.now();
  const input = await createTopic(uniqueName('it-datapath-in'), PARTITIONS);
  const output = await createTopic(uniqueName('it-datapath-out'), PARTITIONS);
  const name = uniqueName('datapath');
  // a backlog waits in the topic before the connector starts (full-size fetches); the rest is
  // produced while the connector runs
  await produceRange(input, 0, BACKLOG);
  const tBacklog = Date.now();
  await createConnector(worker.api, name, {
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
  });
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2, timeoutMs: 60_000 });
  const tRunning = Date.now();

  await produceRange(input, BACKLOG, TOTAL);
  const tProduced = Date.now();
  const inputEnds = await endOffsets(input);
  expect([...inputEnds.values()].reduce((a, b) => a + b, 0)).toBe(TOTAL);

  // the committed offsets reach the end offsets of every input partition
  let lastCommitted = new Map<number, number>();
  try {
    await waitFor(
      async () => {
        const c = (lastCommitted = await committedOffsets(name));
        return [...inputEnds].every(([p, end]) => c.get(p) === end) ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  } catch {
    throw new Error(
      `committed offsets of ${name} did not reach ${JSON.stringify([...inputEnds])}: last ${JSON.stringify([...lastCommitted])}; ` +
        `status ${(await worker.api.get(`/connectors/${name}/status`)).text.slice(0, 1500)}`,
    );
  }
  const tCommitted = Date.now();

  const outEnds = await endOffsets(output);
  const records = await readTopic(output, outEnds);
  const tRead = Date.now();

  // every id exactly once (no failure, no rebalance while records flow)
  const seen = new Uint8Array(TOTAL);
  let dupes = 0;
  for (const r of records) {
    const id = r.value.id;
    expect(Number.isInteger(id) && id >= 0 && id < TOTAL).toBe(true);
    if (seen[id]) dupes++;
    seen[id] = 1;
  }
  const missing: number[] = [];
  for (let i = 0; i < TOTAL && missing.length < 20; i++) if (!seen[i]) missing.push(i);
  expect(missing).toEqual([]);
  expect(dupes).toBe(0);
  expect(records.length).toBe(TOTAL);

  // transforms applied; partition kept (target.partition=same); key kept
  const bad = records.filter(
    (r) =>
      r.value.pipeline !== 'kappa' ||
      r.value.seq !== undefined ||
      r.value.drop !== undefined ||
      typeof r.value.sequence !== 'number' ||
      r.value.src !== r.partition ||
      r.key !== `k${r.value.id}`,
  );
  expect(bad.slice(0, 5)).toEqual([]);

  // per output partition, in offset order, the sequence numbers are strictly increasing
  const byPartition = new Map<number, OutRec[]>();
  for (const r of records) {
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  expect([...byPartition.keys()].sort()).toEqual([0, 1, 2, 3]);
  for (const [p, list] of byPartition) {
    list.sort((a, b) => a.offset - b.offset);
    let prev = -1;
    for (const r of list) {
      if (r.value.sequence <= prev) throw new Error(`partition ${p}: sequence ${r.value.sequence} at offset ${r.offset} after ${prev}`);
      prev = r.value.sequence;
    }
    expect(list.length).toBe(TOTAL / PARTITIONS);
  }

  // eslint-disable-next-line no-console
  console.log(
    `data-path timings: produce backlog ${tBacklog - t0} ms, connector RUNNING ${tRunning - tBacklog} ms, ` +
      `produce the rest ${tProduced - tRunning} ms, all offsets committed ${tCommitted - tRunning} ms after RUNNING ` +
      `(${Math.round(TOTAL / ((tCommitted - tRunning) / 1000))} rec/s), read-back ${tRead - tCommitted} ms`,
  );
});
