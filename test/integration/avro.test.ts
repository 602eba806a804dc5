/**
 * Avro end to end on the real broker, the real Schema Registry (scripts/registry/registry.sh,
 * SCHEMA_REGISTRY_URL) and a worker process:
 * - records produced in Confluent's wire format are read, transformed by two SMTs and written back
 *   as Avro by KafkaTopicSink, with the output schema registered in the registry (checked via its REST API
 *   and by decoding the output independently with avsc);
 * - the Avro output is read again by a second connector and written as JSON lines;
 * - a schema file works without a registry (plain Avro binary in, plain Avro binary out).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as avro from 'avsc';
import { REGISTRY, requireRegistry } from './registry-support';
import {
  KAFKA_TOPIC_SINK, FILE_SINK, REPO_ROOT, closeKafka, createConnector, createTopic, getKafka, outputFile, readLines, startWorker, stopAllWorkers,
  uniqueName, waitFor, waitForState, type Worker,
} from './helpers';

const AVRO = 'io.confluent.connect.avro.AvroConverter';
const irisSchemaText = fs.readFileSync(path.join(REPO_ROOT, 'schemas', 'iris.avsc'), 'utf8');
const irisType = avro.Type.forSchema(JSON.parse(irisSchemaText) as avro.Schema, { wrapUnions: true });

async function registry<T = any>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(REGISTRY + p, {
    method,
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

function wire(id: number, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeInt32BE(id, 1);
  return Buffer.concat([h, body]);
}

async function produceRaw(topic: string, records: { key: string | null; value: Buffer | null }[]): Promise<void> {
  const p = getKafka().producer();
  await p.connect();
  try {
    await p.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value })) });
  } finally {
    await p.disconnect();
  }
}

interface RawRecord { offset: number; key: Buffer | null; value: Buffer | null; headers: Record<string, string> }

async function readRaw(topic: string, expected: number, timeoutMs = 30_000): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  const consumer = getKafka().consumer({ groupId: uniqueName('avro-it-reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
        out.push({ offset: Number(message.offset), key: message.key, value: message.value, headers });
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (out.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300)); // a moment for unexpected extra records
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.offset - b.offset);
}

const irisRows = [
  { event_id: 'e1', x1: 5.1, x2: 3.5, x3: 1.4, x4: 0.2, label: 1 },
  { event_id: 'e2', x1: 7.0, x2: 3.2, x3: 4.7, x4: 1.4, label: 2 },
  { event_id: 'e3', x1: 6.3, x2: 3.3, x3: 6.0, x4: 2.5, label: null },
  { event_id: 'e4', x1: 4.9, x2: 3.0, x3: 1.4, x4: 0.2, label: 1 },
];
const encodeIris = (r: (typeof irisRows)[number]) => irisType.toBuffer({ ...r, label: r.label === null ? null : { int: r.label } });

let worker: Worker;

beforeAll(async () => {
  await requireRegistry();
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

test('Avro (registry wire format) → InsertField + ReplaceField → Avro with a registered schema, then → JSON', async () => {
  const input = await createTopic(uniqueName('avro-in'), 1);
  const output = `${input}-out`;
  await createTopic(output, 1);

  // a producer registers the input schema under the topic's subject and writes the wire format
  const reg = await registry<{ id: number }>('POST', `/subjects/${input}-value/versions`, { schema: irisSchemaText });
  expect(reg.status).toBe(200);
  const inputId = reg.body.id;
  await produceRaw(input, irisRows.map((r) => ({ key: r.event_id, value: wire(inputId, encodeIris(r)) })));

  const name = uniqueName('avro-to-avro');
  await createConnector(worker.api, name, {
    'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': '1', topics: input, 'target.topic': '${topic}-out',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': AVRO, 'value.converter.schema.registry.url': REGISTRY,
    transforms: 'source,rename',
    'transforms.source.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
    'transforms.source.static.field': 'source', 'transforms.source.static.value': 'kappa',
    'transforms.rename.type': 'org.apache.kafka.connect.transforms.ReplaceField$Value',
    'transforms.rename.renames': 'x1:sepal_length', 'transforms.rename.exclude': 'x4',
  });
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });

  const out = await readRaw(output, irisRows.length);
  expect(out).toHaveLength(irisRows.length);

  // the output schema is registered under <output>-value (TopicNameStrategy) ...
  const latest = await registry<{ id: number; schema: string; subject: string }>('GET', `/subjects/${output}-value/versions/latest`);
  expect(latest.status).toBe(200);
  const outSchema = JSON.parse(latest.body.schema) as { fields: { name: string }[] };
  expect(outSchema.fields.map((f) => f.name)).toEqual(['event_id', 'sepal_length', 'x2', 'x3', 'label', 'source']);
  // ... and every output record carries its id in the wire header; decode independently with avsc
  const byId = await registry<{ schema: string }>('GET', `/schemas/ids/${latest.body.id}`);
  const outType = avro.Type.forSchema(JSON.parse(byId.body.schema) as avro.Schema, { wrapUnions: true });
  out.forEach((rec, i) => {
    expect(rec.key!.toString()).toBe(irisRows[i]!.event_id);
    expect(rec.value![0]).toBe(0);
    expect(rec.value!.readInt32BE(1)).toBe(latest.body.id);
    const v = outType.fromBuffer(rec.value!.subarray(5)) as Record<string, unknown>;
    const src = irisRows[i]!;
    expect(v).toMatchObject({ event_id: src.event_id, sepal_length: src.x1, x2: src.x2, x3: src.x3, source: { string: 'kappa' } });
    expect(v.label).toEqual(src.label === null ? null : { int: src.label });
    expect(v).not.toHaveProperty('x4');
  });

  // the Avro output read back by AvroConverter and written as JSON lines
  const file = outputFile('avro-json');
  const jsonName = uniqueName('avro-to-json');
  await createConnector(worker.api, jsonName, {
    'connector.class': FILE_SINK, 'tasks.max': '1', topics: output, file,
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'AvroConverter', 'value.converter.schema.registry.url': REGISTRY,
  });
  const lines = await waitFor(() => (readLines(file).length >= irisRows.length ? readLines(file) : undefined), { timeoutMs: 30_000, description: 'JSON lines' });
  expect(lines.map((l) => JSON.parse(l))).toEqual(irisRows.map((r) => ({
    event_id: r.event_id, sepal_length: r.x1, x2: r.x2, x3: r.x3, label: r.label, source: 'kappa',
  })));
});

test('a schema file works without a registry: plain Avro binary in and out', async () => {
  const input = await createTopic(uniqueName('avro-file-in'), 1);
  const output = `${input}-out`;
  await createTopic(output, 1);
  await produceRaw(input, irisRows.map((r) => ({ key: r.event_id, value: encodeIris(r) })));

  const name = uniqueName('avro-file');
  await createConnector(worker.api, name, {
    'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': '1', topics: input, 'target.topic': '${topic}-out',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': AVRO, 'value.converter.schema.file': path.join(REPO_ROOT, 'schemas', 'iris.avsc'),
    transforms: 'mask', 'transforms.mask.type': 'org.apache.kafka.connect.transforms.MaskField$Value', 'transforms.mask.fields': 'x4',
  });
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
  const out = await readRaw(output, irisRows.length);
  expect(out).toHaveLength(irisRows.length);
  out.forEach((rec, i) => {
    const v = irisType.fromBuffer(rec.value!) as Record<string, unknown>;
    expect(v).toMatchObject({ ...irisRows[i], x4: 0, label: irisRows[i]!.label === null ? null : { int: irisRows[i]!.label } });
  });
  // no subject was registered for this topic
  expect((await registry('GET', `/subjects/${output}-value/versions/latest`)).status).toBe(404);
});

test('the Avro example connector configs in connectors/ validate cleanly', async () => {
  const files = ['iris-avro-to-avro', 'banknote-avro-to-json-file', 'iris-avro-schema-file', 'banknote-topic-record-strategy'];
  for (const f of files) {
    const { config } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'connectors', `${f}.json`), 'utf8')) as { config: Record<string, string> };
    const cls = encodeURIComponent(config['connector.class']!);
    const res = await worker.api.put(`/connector-plugins/${cls}/config/validate`, { ...config, name: f });
    const errors = (res.body.configs as { value: { name: string; errors: string[] } }[]).filter((c) => c.value.errors.length > 0).map((c) => `${c.value.name}: ${c.value.errors.join('; ')}`);
    expect([f, res.status, errors]).toEqual([f, 200, []]);
  }
});
