/**
 * Bad input end to end, on the real broker, the real Schema Registry and a worker process:
 * corrupt Avro bytes, a wrong magic byte, an unknown schema id, JSON without the envelope while
 * schemas.enable=true, tombstones, and a record whose transform throws (Cast of a non-numeric string).
 *
 * - errors.tolerance=all + DLQ: the bad records land in the DLQ with the original key/value bytes
 *   and exactly Connect's __connect.errors.* headers; the rest flow on; outputs + DLQ = inputs.
 * - errors.tolerance=none: the task FAILS with "Tolerance exceeded in error handler" in its trace,
 *   and after fixing the config (PATCH) and restarting it resumes from that record.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as avro from 'avsc';
import { REGISTRY, requireRegistry } from './registry-support';
import {
  KAFKA_TOPIC_SINK, REPO_ROOT, closeKafka, createConnector, createTopic, expectStatus, getAdmin, getKafka, groupOffsets, startWorker, stopAllWorkers,
  uniqueName, waitFor, waitForState, waitForTaskState, type Worker,
} from './helpers';

const AVRO = 'io.confluent.connect.avro.AvroConverter';
const CAST = 'org.apache.kafka.connect.transforms.Cast$Value';
const irisSchemaText = fs.readFileSync(path.join(REPO_ROOT, 'schemas', 'iris.avsc'), 'utf8');
const irisType = avro.Type.forSchema(JSON.parse(irisSchemaText) as avro.Schema, { wrapUnions: true });

const CONTEXT_HEADERS = [
  '__connect.errors.topic', '__connect.errors.partition', '__connect.errors.offset', '__connect.errors.connector.name',
  '__connect.errors.task.id', '__connect.errors.stage', '__connect.errors.class.name',
  '__connect.errors.exception.class.name', '__connect.errors.exception.message', '__connect.errors.exception.stacktrace',
];

async function registerIris(subject: string): Promise<number> {
  const res = await fetch(`${REGISTRY}/subjects/${subject}/versions`, {
    method: 'POST', headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema: irisSchemaText }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: number }).id;
}

function wire(id: number, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeInt32BE(id, 1);
  return Buffer.concat([h, body]);
}
const iris = (eventId: string, label: number | null = 1) =>
  irisType.toBuffer({ event_id: eventId, x1: 5.1, x2: 3.5, x3: 1.4, x4: 0.2, label: label === null ? null : { int: label } });

interface Input { key: string; value: Buffer | null; headers?: Record<string, string> }
interface RawRecord { offset: number; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> }

async function produceRaw(topic: string, records: Input[]): Promise<void> {
  const p = getKafka().producer();
  await p.connect();
  try {
    await p.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, ...(r.headers ? { headers: r.headers } : {}) })) });
  } finally {
    await p.disconnect();
  }
}

async function waitForTopic(topic: string): Promise<void> {
  await waitFor(async () => ((await (await getAdmin()).listTopics()).includes(topic) ? true : undefined), { timeoutMs: 45_000, description: `topic ${topic}` });
}

async function readRaw(topic: string, expected: number, timeoutMs = 30_000): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  const consumer = getKafka().consumer({ groupId: uniqueName('dlq-it-reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, Buffer> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (Buffer.isBuffer(v)) headers[k] = v;
        out.push({ offset: Number(message.offset), key: message.key, value: message.value, headers });
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (out.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500)); // extra records would show up here
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.offset - b.offset);
}

let worker: Worker;

beforeAll(async () => {
  await requireRegistry();
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

test('tolerance=all: bad Avro and a throwing transform go to the DLQ with Connect headers, the rest flow on', async () => {
  const input = await createTopic(uniqueName('dlq-avro-in'), 1);
  const output = `${input}-out`;
  const dlq = `${input}-dlq`;
  await createTopic(output, 1);
  const id = await registerIris(`${input}-value`);

  const inputs: (Input & { bad?: { stage: string; className: string; message: RegExp } })[] = [
    { key: 'g1', value: wire(id, iris('101')) },
    { key: 'corrupt', value: wire(id, Buffer.from([0x0a, 0x41])), headers: { trace: 'abc' },
      bad: { stage: 'VALUE_CONVERTER', className: AVRO, message: /Error deserializing Avro message for id/ } },
    { key: 'g2', value: wire(id, iris('102', null)) },
    { key: 'magic', value: Buffer.from('{"not":"avro"}'), bad: { stage: 'VALUE_CONVERTER', className: AVRO, message: /Unknown magic byte!/ } },
    { key: 'unknown-id', value: wire(987654, iris('103')), bad: { stage: 'VALUE_CONVERTER', className: AVRO, message: /id 987654/ } },
    { key: 'tombstone', value: null },
    { key: 'cast', value: wire(id, iris('not-a-number')), bad: { stage: 'TRANSFORMATION', className: CAST, message: /./ } },
    { key: 'g3', value: wire(id, iris('104', 3)) },
  ];
  await produceRaw(input, inputs);

  const name = uniqueName('dlq-all');
  await createConnector(worker.api, name, {
    'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': '1', topics: input, 'target.topic': '${topic}-out',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': AVRO, 'value.converter.schema.registry.url': REGISTRY,
    transforms: 'cast', 'transforms.cast.type': CAST, 'transforms.cast.spec': 'event_id:int32',
    'errors.tolerance': 'all',
    'errors.deadletterqueue.topic.name': dlq,
    'errors.deadletterqueue.topic.replication.factor': '1',
    'errors.deadletterqueue.context.headers.enable': 'true',
    'errors.log.enable': 'true',
  });
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });

  const bad = inputs.filter((r) => r.bad);
  const good = inputs.filter((r) => !r.bad);
  await waitForTopic(dlq); // created by the runtime on the first DLQ record
  const dlqRecords = await readRaw(dlq, bad.length, 45_000);
  const outRecords = await readRaw(output, good.length);

  // count check: nothing lost, nothing duplicated
  expect(outRecords.length + dlqRecords.length).toBe(inputs.length);
  expect(outRecords.map((r) => r.key!.toString())).toEqual(good.map((r) => r.key));
  expect(dlqRecords.map((r) => r.key!.toString())).toEqual(bad.map((r) => r.key));

  // good records: Cast turned event_id into an int32; the tombstone stays a tombstone
  const tomb = outRecords.find((r) => r.key!.toString() === 'tombstone')!;
  expect(tomb.value).toBeNull();
  const g1 = outRecords.find((r) => r.key!.toString() === 'g1')!;
  const outId = g1.value!.readInt32BE(1);
  const schemaRes = (await (await fetch(`${REGISTRY}/schemas/ids/${outId}`)).json()) as { schema: string };
  const outType = avro.Type.forSchema(JSON.parse(schemaRes.schema) as avro.Schema, { wrapUnions: true });
  expect((outType.fromBuffer(g1.value!.subarray(5)) as { event_id: number }).event_id).toBe(101);

  // DLQ: original bytes, original headers, exactly Connect's context headers
  for (const rec of dlqRecords) {
    const src = bad.find((b) => b.key === rec.key!.toString())!;
    const offset = inputs.indexOf(src);
    expect(rec.value!.equals(src.value!)).toBe(true);
    const h = Object.fromEntries(Object.entries(rec.headers).map(([k, v]) => [k, v.toString('utf8')]));
    const contextKeys = Object.keys(h).filter((k) => k.startsWith('__connect.errors.')).sort();
    expect(contextKeys).toEqual([...CONTEXT_HEADERS].sort());
    expect(h).toMatchObject({
      '__connect.errors.topic': input,
      '__connect.errors.partition': '0',
      '__connect.errors.offset': String(offset),
      '__connect.errors.connector.name': name,
      '__connect.errors.task.id': '0',
      '__connect.errors.stage': src.bad!.stage,
      '__connect.errors.class.name': src.bad!.className,
      '__connect.errors.exception.class.name': 'org.apache.kafka.connect.errors.DataException',
    });
    expect(h['__connect.errors.exception.message']).toMatch(src.bad!.message);
    expect(h['__connect.errors.exception.stacktrace']!.length).toBeGreaterThan(0);
    if (src.headers) expect(h.trace).toBe('abc');
  }
  // the task is still running and committed past everything
  await waitFor(async () => ((await groupOffsets(`connect-${name}`, input)).get(0) === inputs.length ? true : undefined), { timeoutMs: 30_000, description: 'committed offsets' });
  const status = await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
  expect(status.tasks[0]!.state).toBe('RUNNING');
});

test('tolerance=all: JSON without the envelope while schemas.enable=true goes to the DLQ', async () => {
  const input = await createTopic(uniqueName('dlq-json-in'), 1);
  const output = `${input}-out`;
  const dlq = `${input}-dlq`;
  await createTopic(output, 1);
  const envelope = (id: number) => Buffer.from(JSON.stringify({ schema: { type: 'struct', optional: false, fields: [{ field: 'id', type: 'int32', optional: false }] }, payload: { id } }));
  const inputs: Input[] = [
    { key: 'a', value: envelope(1) },
    { key: 'plain', value: Buffer.from('{"id":2}') },
    { key: 'b', value: envelope(3) },
    { key: 'tomb', value: null },
  ];
  await produceRaw(input, inputs);
  const name = uniqueName('dlq-json');
  await createConnector(worker.api, name, {
    'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': '1', topics: input, 'target.topic': '${topic}-out',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter', 'value.converter.schemas.enable': 'true',
    'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq,
    'errors.deadletterqueue.topic.replication.factor': '1', 'errors.deadletterqueue.context.headers.enable': 'true',
  });
  await waitForTopic(dlq);
  const dlqRecords = await readRaw(dlq, 1, 45_000);
  const outRecords = await readRaw(output, 3);
  expect(outRecords.length + dlqRecords.length).toBe(inputs.length);
  expect(dlqRecords).toHaveLength(1);
  expect(dlqRecords[0]!.value!.toString()).toBe('{"id":2}');
  const h = Object.fromEntries(Object.entries(dlqRecords[0]!.headers).map(([k, v]) => [k, v.toString('utf8')]));
  expect(h['__connect.errors.stage']).toBe('VALUE_CONVERTER');
  expect(h['__connect.errors.class.name']).toBe('org.apache.kafka.connect.json.JsonConverter');
  expect(h['__connect.errors.exception.message']).toMatch(/requires "schema" and "payload" fields/);
  expect(outRecords.map((r) => r.key!.toString())).toEqual(['a', 'b', 'tomb']);
  expect(outRecords[2]!.value).toBeNull();
});

test('tolerance=none: the task fails at the bad record and resumes from it after PATCH + restart', async () => {
  const input = await createTopic(uniqueName('none-in'), 1);
  const output = `${input}-out`;
  await createTopic(output, 1);
  const id = await registerIris(`${input}-value`);
  const inputs: Input[] = [
    { key: 'g1', value: wire(id, iris('1')) },
    { key: 'g2', value: wire(id, iris('2')) },
    { key: 'bad', value: wire(id, iris('x-3')) },
    { key: 'g4', value: wire(id, iris('4')) },
  ];
  await produceRaw(input, inputs);
  const name = uniqueName('none');
  const config: Record<string, string> = {
    'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': '1', topics: input, 'target.topic': '${topic}-out',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': AVRO, 'value.converter.schema.registry.url': REGISTRY,
    transforms: 'cast', 'transforms.cast.type': CAST, 'transforms.cast.spec': 'event_id:int32',
    'errors.tolerance': 'none',
  };
  await createConnector(worker.api, name, config);
  const failed = await waitForTaskState(worker.api, name, 0, 'FAILED', 45_000);
  expect(failed.trace).toContain('Tolerance exceeded in error handler');
  const before = await readRaw(output, 2, 10_000);
  expect(before.map((r) => r.key!.toString())).toEqual(['g1', 'g2']);
  expect((await groupOffsets(`connect-${name}`, input)).get(0)).toBe(2);

  // fix the condition: cast event_id to a string instead (the bad record becomes valid), restart the task
  expectStatus(await worker.api.patch(`/connectors/${name}/config`, { 'transforms.cast.spec': 'event_id:string' }), 200);
  expectStatus(await worker.api.post(`/connectors/${name}/tasks/0/restart`), 204);
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1, timeoutMs: 45_000 });
  const after = await readRaw(output, inputs.length);
  // resumed exactly at the failed record: each input once, in order
  expect(after.map((r) => r.key!.toString())).toEqual(['g1', 'g2', 'bad', 'g4']);
});
