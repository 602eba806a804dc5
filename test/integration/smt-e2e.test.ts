/**
 * Chained transforms with predicates (one negated) end to end, on Avro records through the real
 * Schema Registry: two input topics, one connector.
 *
 *   transforms=dropTombstones,tag,route
 *   dropTombstones: Filter, predicate=isTombstone           → tombstones are dropped
 *   tag:            InsertField$Value, predicate=isIris, negate=true → only non-iris topics get origin=other
 *   route:          RegexRouter (.*) → $1-routed            → every record lands in <topic>-routed
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as avro from 'avsc';
import { REGISTRY, requireRegistry } from './registry-support';
import {
  KAFKA_TOPIC_SINK, REPO_ROOT, closeKafka, createConnector, createTopic, getKafka, startWorker, stopAllWorkers, uniqueName, waitForState, type Worker,
} from './helpers';


function schemaText(name: string): string {
  return fs.readFileSync(path.join(REPO_ROOT, 'schemas', `${name}.avsc`), 'utf8');
}

async function register(subject: string, schema: string): Promise<number> {
  const res = await fetch(`${REGISTRY}/subjects/${subject}/versions`, {
    method: 'POST', headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ schema }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: number }).id;
}

function wire(id: number, body: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeInt32BE(id, 1);
  return Buffer.concat([h, body]);
}

async function produceRaw(topic: string, records: { key: string; value: Buffer | null }[]): Promise<void> {
  const p = getKafka().producer();
  await p.connect();
  try {
    await p.send({ topic, acks: -1, messages: records });
  } finally {
    await p.disconnect();
  }
}

async function readRaw(topic: string, expected: number, timeoutMs = 30_000): Promise<{ key: string; value: Buffer | null }[]> {
  const out: { offset: number; key: string; value: Buffer | null }[] = [];
  const consumer = getKafka().consumer({ groupId: uniqueName('smt-it-reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { out.push({ offset: Number(message.offset), key: message.key!.toString(), value: message.value }); } });
    const deadline = Date.now() + timeoutMs;
    while (out.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.offset - b.offset);
}

async function decodeWith(value: Buffer): Promise<Record<string, unknown>> {
  const res = (await (await fetch(`${REGISTRY}/schemas/ids/${value.readInt32BE(1)}`)).json()) as { schema: string };
  return avro.Type.forSchema(JSON.parse(res.schema) as avro.Schema, { wrapUnions: true }).fromBuffer(value.subarray(5)) as Record<string, unknown>;
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

test('Filter on tombstones, InsertField with a negated TopicNameMatches, RegexRouter', async () => {
  const suffix = uniqueName('x');
  const irisTopic = await createTopic(`iris-${suffix}`, 1);
  const bankTopic = await createTopic(`bank-${suffix}`, 1);
  await createTopic(`${irisTopic}-routed`, 1);
  await createTopic(`${bankTopic}-routed`, 1);
  const irisId = await register(`${irisTopic}-value`, schemaText('iris'));
  const bankId = await register(`${bankTopic}-value`, schemaText('banknote'));
  const irisType = avro.Type.forSchema(JSON.parse(schemaText('iris')) as avro.Schema, { wrapUnions: true });
  const bankType = avro.Type.forSchema(JSON.parse(schemaText('banknote')) as avro.Schema, { wrapUnions: true });

  await produceRaw(irisTopic, [
    { key: 'i1', value: wire(irisId, irisType.toBuffer({ event_id: 'i1', x1: 1, x2: 2, x3: 3, x4: 4, label: { int: 1 } })) },
    { key: 'i-tomb', value: null },
    { key: 'i2', value: wire(irisId, irisType.toBuffer({ event_id: 'i2', x1: 5, x2: 6, x3: 7, x4: 8, label: null })) },
  ]);
  await produceRaw(bankTopic, [
    { key: 'b1', value: wire(bankId, bankType.toBuffer({ event_id: 'b1', f1: 0.1, f2: 0.2, f3: 0.3, f4: 0.4, label: { int: 0 } })) },
    { key: 'b-tomb', value: null },
  ]);

  const name = uniqueName('smt-chain');
  await createConnector(worker.api, name, {
    'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': '1', topics: `${irisTopic},${bankTopic}`, 'target.topic': '${topic}',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'io.confluent.connect.avro.AvroConverter', 'value.converter.schema.registry.url': REGISTRY,
    transforms: 'dropTombstones,tag,route',
    'transforms.dropTombstones.type': 'org.apache.kafka.connect.transforms.Filter',
    'transforms.dropTombstones.predicate': 'isTombstone',
    'transforms.tag.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
    'transforms.tag.static.field': 'origin', 'transforms.tag.static.value': 'other',
    'transforms.tag.predicate': 'isIris', 'transforms.tag.negate': 'true',
    'transforms.route.type': 'org.apache.kafka.connect.transforms.RegexRouter',
    'transforms.route.regex': '(.*)', 'transforms.route.replacement': '$1-routed',
    predicates: 'isTombstone,isIris',
    'predicates.isTombstone.type': 'org.apache.kafka.connect.transforms.predicates.RecordIsTombstone',
    'predicates.isIris.type': 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
    'predicates.isIris.pattern': 'iris-.*',
  });
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });

  const irisOut = await readRaw(`${irisTopic}-routed`, 2);
  const bankOut = await readRaw(`${bankTopic}-routed`, 1);
  expect(irisOut.map((r) => r.key)).toEqual(['i1', 'i2']);
  expect(bankOut.map((r) => r.key)).toEqual(['b1']);
  const i1 = await decodeWith(irisOut[0]!.value!);
  expect(i1).toMatchObject({ event_id: 'i1', x1: 1 });
  expect(i1).not.toHaveProperty('origin');
  const b1 = await decodeWith(bankOut[0]!.value!);
  expect(b1).toMatchObject({ event_id: 'b1', f1: 0.1, origin: { string: 'other' } });
  // routed topics got their own subjects in the registry
  for (const t of [irisTopic, bankTopic]) {
    expect((await fetch(`${REGISTRY}/subjects/${t}-routed-value/versions/latest`)).status).toBe(200);
  }
});
