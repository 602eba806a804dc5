/**
 * Every example in connectors/ works where it is shipped: on the single-broker setup of `make run`
 * / `make test`, each is posted unchanged (except what depends on the machine: the schema
 * registry's URL and the file sink's path), fed one good and one bad record, and the good record
 * comes out where the example writes, the bad one lands in the example's dead letter queue, and the
 * task stays RUNNING. The DLQ topic is created on the first bad record, so an example whose DLQ
 * replication factor does not fit the cluster fails here (Connect's default of 3 on one broker).
 * Avro examples use the real schema registry (`make test` starts one).
 *
 * Example topics have fixed names: records are told apart by a per-run key/id, so re-runs on the
 * same broker are fine. A new example file without a case here fails the first test.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as avro from 'avsc';
import { REGISTRY, requireRegistry } from './registry-support';
import {
  REPO_ROOT, closeKafka, expectStatus, getAdmin, getKafka, outputFile, randomSuffix, readLines, startWorker, stopAllWorkers, uniqueName,
  waitFor, waitForState, waitForTaskState, type Worker,
} from './helpers';
import { fixture, modelBody, publish } from './serving-support';

jest.setTimeout(180_000);

const EXAMPLES_DIR = path.join(REPO_ROOT, 'connectors');
const SHIPPED_REGISTRY = 'http://127.0.0.1:18081/apis/ccompat/v7';
const run = randomSuffix();

interface Example { name: string; config: Record<string, string> }

function example(file: string): Example {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as Example;
}

const avroType = (schema: string) =>
  avro.Type.forSchema(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'schemas', schema), 'utf8')) as avro.Schema, { wrapUnions: true });
const irisAvro = avroType('iris.avsc');
const banknoteAvro = avroType('banknote.avsc');

async function registerSchema(subject: string, type: avro.Type): Promise<number> {
  const res = await fetch(`${REGISTRY}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST', headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema: JSON.stringify(type.schema()) }),
  });
  if (res.status !== 200) throw new Error(`registering ${subject}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: number }).id;
}

/** Confluent's wire format: magic byte 0, 4-byte schema id, Avro binary. */
const wire = (id: number, body: Buffer) => Buffer.concat([Buffer.from([0, (id >>> 24) & 255, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]), body]);

async function ensureTopic(topic: string): Promise<void> {
  const admin = await getAdmin();
  if ((await admin.listTopics()).includes(topic)) return;
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true }).catch(() => undefined);
}

async function send(topic: string, records: { key: string; value: Buffer | string }[]): Promise<void> {
  const p = getKafka().producer();
  await p.connect();
  try {
    await p.send({ topic, acks: -1, messages: records });
  } finally {
    await p.disconnect();
  }
}

interface RawRecord { key: string; value: Buffer | null; headers: Record<string, string> }

/**
 * Follows a topic from its beginning with one consumer (bytes as they are: Avro values are not
 * text), so looking for a record costs one group join rather than one per attempt.
 */
const tails = new Map<string, { records: RawRecord[]; stop: () => Promise<void> }>();

async function tail(topic: string): Promise<RawRecord[]> {
  const existing = tails.get(topic);
  if (existing) return existing.records;
  await ensureTopic(topic); // subscribing to a missing topic would create it with the broker's defaults
  const records: RawRecord[] = [];
  const groupId = uniqueName('kappa-it-examples-reader');
  const consumer = getKafka().consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      records.push({ key: message.key?.toString('utf8') ?? '', value: message.value, headers });
    },
  });
  tails.set(topic, { records, stop: async () => { await consumer.disconnect().catch(() => undefined); await (await getAdmin()).deleteGroups([groupId]).catch(() => undefined); } });
  return records;
}

async function findByKey(topic: string, key: string): Promise<RawRecord> {
  const records = await tail(topic);
  return waitFor(() => records.find((r) => r.key === key), { timeoutMs: 90_000, intervalMs: 200, description: `record ${key} in ${topic}` });
}

const json = (r: RawRecord) => JSON.parse(r.value!.toString('utf8'));

/** What one example needs: its input, a good and a bad record, and where the good one shows up. */
interface Case {
  /** topics the example consumes (created before the connector starts) */
  inputs: string[];
  good(): Promise<{ topic: string; key: string; value: Buffer | string }>;
  bad(): Promise<{ topic: string; key: string; value: Buffer | string }>;
  /** resolves when the good record is in the example's output; checks what it looks like */
  expectGood(key: string, config: Record<string, string>): Promise<void>;
}

const keyOf = (example: string, kind: 'good' | 'bad') => `${example}-${run}-${kind}`;

const cases: Record<string, Case> = {
  'score-iris.json': {
    inputs: ['iris'],
    good: async () => {
      const f = fixture('iris-logreg-v1');
      const row = f.expected.rows[100]!;
      return { topic: 'iris', key: keyOf('score-iris', 'good'), value: JSON.stringify(Object.fromEntries(f.features.map((x, j) => [x, row[j]]))) };
    },
    bad: async () => ({ topic: 'iris', key: keyOf('score-iris', 'bad'), value: JSON.stringify({ x1: 5.1, x2: 'three' }) }),
    expectGood: async (key) => {
      const out = json(await findByKey('iris.scored', key));
      expect(out.prediction).toEqual(expect.objectContaining({ model_id: 'iris-logreg', label: fixture('iris-logreg-v1').expected.labels![100] }));
    },
  },
  'score-banknote.json': {
    inputs: ['banknote'],
    good: async () => {
      const f = fixture('banknote-logreg');
      const row = f.expected.rows[0]!;
      return { topic: 'banknote', key: keyOf('score-banknote', 'good'), value: JSON.stringify(Object.fromEntries(f.features.map((x, j) => [x, row[j]]))) };
    },
    bad: async () => ({ topic: 'banknote', key: keyOf('score-banknote', 'bad'), value: 'this is not JSON' }),
    expectGood: async (key) => {
      const out = json(await findByKey('banknote.scored', key));
      expect(out.prediction).toEqual(expect.objectContaining({ model_id: 'banknote-logreg', label: fixture('banknote-logreg').expected.labels![0] }));
    },
  },
  'learn-banknote.json': {
    inputs: ['banknote-events', 'banknote-labels'],
    good: async () => ({ topic: 'banknote-events', key: keyOf('learn-banknote', 'good'), value: JSON.stringify({ id: keyOf('learn-banknote', 'good'), f1: 3.6, f2: 8.6, f3: -2.8, f4: -0.4 }) }),
    bad: async () => ({ topic: 'banknote-events', key: keyOf('learn-banknote', 'bad'), value: JSON.stringify({ id: keyOf('learn-banknote', 'bad'), f1: 'n/a', f2: 8.6, f3: -2.8, f4: -0.4 }) }),
    expectGood: async (key) => {
      const out = json(await findByKey('banknote-predictions', key));
      expect(out).toEqual(expect.objectContaining({ id: key, f1: 3.6, prediction: expect.anything() }));
    },
  },
  'iris-avro-to-avro.json': {
    inputs: ['iris.avro'],
    good: async () => {
      const id = await registerSchema('iris.avro-value', irisAvro);
      const key = keyOf('iris-avro-to-avro', 'good');
      return { topic: 'iris.avro', key, value: wire(id, irisAvro.toBuffer({ event_id: key, x1: 5.1, x2: 3.5, x3: 1.4, x4: 0.2, label: { int: 1 } })) };
    },
    bad: async () => ({ topic: 'iris.avro', key: keyOf('iris-avro-to-avro', 'bad'), value: Buffer.from('not Avro at all') }),
    expectGood: async (key) => {
      const raw = (await findByKey('iris.avro.enriched', key)).value!;
      // Confluent wire format written with an auto-registered schema: the renamed fields and the inserted one
      expect(raw[0]).toBe(0);
      const schema = await (await fetch(`${REGISTRY}/schemas/ids/${raw.readInt32BE(1)}`)).json() as { schema: string };
      expect(JSON.parse(schema.schema).fields.map((f: { name: string }) => f.name)).toEqual(['event_id', 'sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'label', 'source']);
    },
  },
  'iris-avro-schema-file.json': {
    inputs: ['iris.raw'],
    good: async () => {
      const key = keyOf('iris-avro-schema-file', 'good');
      return { topic: 'iris.raw', key, value: irisAvro.toBuffer({ event_id: key, x1: 5.1, x2: 3.5, x3: 1.4, x4: 0.2, label: { int: 1 } }) };
    },
    bad: async () => ({ topic: 'iris.raw', key: keyOf('iris-avro-schema-file', 'bad'), value: Buffer.from([0x02]) }), // a string length with nothing after it
    expectGood: async (key) => {
      const v = irisAvro.fromBuffer((await findByKey('iris.masked', key)).value!) as Record<string, unknown>;
      expect(v).toEqual(expect.objectContaining({ event_id: key, x1: 5.1 }));
    },
  },
  'banknote-avro-to-json-file.json': {
    inputs: ['banknote.avro'],
    good: async () => {
      const id = await registerSchema('banknote.avro-value', banknoteAvro);
      const key = keyOf('banknote-avro-to-json-file', 'good');
      return { topic: 'banknote.avro', key, value: wire(id, banknoteAvro.toBuffer({ event_id: key, f1: 3.6, f2: 8.6, f3: -2.8, f4: -0.4, label: { int: 0 } })) };
    },
    bad: async () => ({ topic: 'banknote.avro', key: keyOf('banknote-avro-to-json-file', 'bad'), value: Buffer.from([0, 0x7f, 0xff, 0xff, 0xff, 1, 2]) }), // an unknown schema id
    expectGood: async (key, config) => {
      const line = await waitFor(() => readLines(config['file']!).find((l) => l.includes(key)), { timeoutMs: 90_000, description: `${key} in ${config['file']}` });
      expect(JSON.parse(line)).toEqual(expect.objectContaining({ event_id: key, f1: 3.6 }));
    },
  },
  'banknote-topic-record-strategy.json': {
    inputs: ['banknote.eu'],
    good: async () => {
      const id = await registerSchema('banknote.eu-io.kappa.demo.BanknoteEvent', banknoteAvro);
      const key = keyOf('banknote-topic-record-strategy', 'good');
      return { topic: 'banknote.eu', key, value: wire(id, banknoteAvro.toBuffer({ event_id: key, f1: 3.6, f2: 8.6, f3: -2.8, f4: -0.4, label: null })) };
    },
    bad: async () => ({ topic: 'banknote.eu', key: keyOf('banknote-topic-record-strategy', 'bad'), value: Buffer.from('{"json":"is not avro"}') }),
    expectGood: async (key) => {
      // written back as Avro (Confluent wire format) after the Cast
      const raw = (await findByKey('banknote.all', key)).value!;
      expect(raw[0]).toBe(0);
      const schema = await (await fetch(`${REGISTRY}/schemas/ids/${raw.readInt32BE(1)}`)).json() as { schema: string };
      expect(JSON.parse(schema.schema).fields.find((f: { name: string }) => f.name === 'f1').type).toBe('float');
    },
  },
};

/** The example's config with only the machine-specific parts replaced. */
function localized(config: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) out[k] = v === SHIPPED_REGISTRY ? REGISTRY : v;
  if (out['file'] !== undefined) out['file'] = outputFile(path.basename(out['file'], '.jsonl'));
  return out;
}

let worker: Worker;

beforeAll(async () => {
  await requireRegistry();
  // the scoring examples need their models: the fixtures, published as the examples name them
  worker = await startWorker({ props: { 'kappa.model.topic': uniqueName('kappa-it-example-models'), 'kappa.model.cache.dir': 'none' } });
  await publish(worker.api, modelBody('iris-logreg', '1', 'iris-logreg-v1'));
  await publish(worker.api, modelBody('banknote-logreg', '1', 'banknote-logreg'));
});

afterAll(async () => {
  await Promise.allSettled([...tails.values()].map((t) => t.stop()));
  await stopAllWorkers();
  await closeKafka();
});

test('every file in connectors/ has a case here', () => {
  expect(fs.readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.json')).sort()).toEqual(Object.keys(cases).sort());
});

describe.each(Object.keys(cases))('%s on the single broker', (file) => {
  it('runs; the good record reaches the output and the bad one its DLQ; the task keeps RUNNING', async () => {
    const { name, config: shipped } = example(file);
    const c = cases[file]!;
    const config = localized(shipped);
    // what makes the DLQ work on one broker: Connect's default replication factor is 3
    expect(shipped['errors.deadletterqueue.topic.replication.factor']).toBe('1');
    const dlq = shipped['errors.deadletterqueue.topic.name']!;
    expect(dlq).toBeTruthy();
    for (const t of c.inputs) await ensureTopic(t);

    expectStatus(await worker.api.post('/connectors', { name, config }), 201);
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', timeoutMs: 60_000 });

    const good = await c.good();
    const bad = await c.bad();
    await send(good.topic, [good]);
    await send(bad.topic, [bad]);

    await c.expectGood(good.key, config);
    const dead = await findByKey(dlq, bad.key);
    expect(dead.headers['__connect.errors.connector.name']).toBe(name);
    expect(dead.headers['__connect.errors.topic']).toBe(bad.topic);
    // the good record did not go to the DLQ (it was produced first, so it would be there by now)
    expect((await tail(dlq)).some((r) => r.key === good.key)).toBe(false);

    const status = await worker.api.get(`/connectors/${encodeURIComponent(name)}/status`);
    expect(status.body.tasks.map((t: { state: string; trace?: string }) => [t.state, t.trace ?? ''])).toEqual(status.body.tasks.map(() => ['RUNNING', '']));
    expect((await worker.api.delete(`/connectors/${encodeURIComponent(name)}`)).status).toBe(204);
  });
});

test('without the single-broker setting (Connect\'s default replication factor 3) the task fails naming the broker\'s reason', async () => {
  const { config: shipped } = example('score-iris.json');
  const name = uniqueName('score-iris-rf3');
  const dlq = uniqueName('it-rf3-dlq');
  const input = uniqueName('it-rf3-in');
  await ensureTopic(input);
  const config: Record<string, string> = { ...localized(shipped), topics: input, 'target.topic': `${input}.scored`, 'errors.deadletterqueue.topic.name': dlq };
  delete config['errors.deadletterqueue.topic.replication.factor'];
  expect((await worker.api.post('/connectors', { name, config })).status).toBe(201);
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', timeoutMs: 60_000 });
  await send(input, [{ key: 'bad', value: 'not JSON' }]);
  const task = await waitForTaskState(worker.api, name, 0, 'FAILED', 60_000);
  // the broker's reason and what was asked for, not just "Topic creation errors"
  expect(task.trace).toMatch(new RegExp(`${dlq}: .*INVALID_REPLICATION_FACTOR.*replication factor 3`));
  expect(await (await getAdmin()).listTopics()).not.toContain(dlq);
  expect((await worker.api.delete(`/connectors/${encodeURIComponent(name)}`)).status).toBe(204);
});
