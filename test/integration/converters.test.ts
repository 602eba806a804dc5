/**
 * Connect's primitive converters and a header converter end to end: a KafkaTopicSink connector with
 * `value.converter=LongConverter` and `header.converter=JsonConverter` (schemaless), header SMTs
 * (DropHeaders, InsertHeader). Checked with kafkajs on the raw bytes: values keep Kafka's 8-byte
 * long layout, an inserted header is written by the header converter (JSON text), untouched headers
 * keep their bytes; a record whose value is not 8 bytes and one whose header is not JSON go to the
 * DLQ with their original bytes and Connect's error headers.
 */
import {
  KAFKA_TOPIC_SINK, closeKafka, createConnector, createTopic, getKafka, startWorker, stopAllWorkers, uniqueName, waitForState, type Worker,
} from './helpers';

interface RawRecord { key: string; value: Buffer | null; headers: Record<string, string> }

async function produceRaw(topic: string, records: { key: string; value: Buffer | null; headers?: Record<string, string> }[]): Promise<void> {
  const p = getKafka().producer();
  await p.connect();
  try {
    await p.send({ topic, acks: -1, messages: records });
  } finally {
    await p.disconnect();
  }
}

async function readRaw(topic: string, expected: number, timeoutMs = 30_000): Promise<RawRecord[]> {
  const out: (RawRecord & { offset: number })[] = [];
  const consumer = getKafka().consumer({ groupId: uniqueName('conv-it-reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (Buffer.isBuffer(v)) headers[k] = v.toString('utf8');
        out.push({ offset: Number(message.offset), key: message.key!.toString(), value: message.value, headers });
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (out.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.offset - b.offset).map(({ offset: _o, ...r }) => r);
}

const long = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigInt64BE(n); return b; };

let worker: Worker;

beforeAll(async () => {
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

test('LongConverter values and JsonConverter headers through KafkaTopicSink; bad value and bad header to the DLQ', async () => {
  const input = await createTopic(uniqueName('conv-in'));
  const output = `${input}-out`;
  await createTopic(output);
  const dlq = uniqueName('conv-dlq');
  await produceRaw(input, [
    { key: 'k1', value: long(1n), headers: { trace: '"abc"', secret: '"x"' } },
    { key: 'k2', value: long(-5n) },
    { key: 'short', value: Buffer.from('abc') },
    { key: 'badheader', value: long(2n ** 40n), headers: { trace: '{not json' } },
    { key: 'k5', value: long(2n ** 62n) },
  ]);
  const name = uniqueName('conv');
  await createConnector(worker.api, name, {
    'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': '1', topics: input, 'target.topic': '${topic}-out',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.converters.LongConverter',
    'header.converter': 'org.apache.kafka.connect.json.JsonConverter', 'header.converter.schemas.enable': 'false',
    transforms: 'drop,stage',
    'transforms.drop.type': 'org.apache.kafka.connect.transforms.DropHeaders', 'transforms.drop.headers': 'secret',
    'transforms.stage.type': 'org.apache.kafka.connect.transforms.InsertHeader',
    'transforms.stage.header': 'stage', 'transforms.stage.value.literal': 'copied',
    'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq,
    'errors.deadletterqueue.topic.replication.factor': '1', 'errors.deadletterqueue.context.headers.enable': 'true',
  });
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });

  const out = await readRaw(output, 3);
  expect(out.map((r) => r.key)).toEqual(['k1', 'k2', 'k5']);
  // the long values in Kafka's layout, unchanged through LongConverter both ways
  expect(out.map((r) => r.value!.readBigInt64BE())).toEqual([1n, -5n, 2n ** 62n]);
  // InsertHeader's literal (a STRING) written by the JSON header converter; `trace` kept as it came; `secret` dropped
  expect(out[0]!.headers).toEqual({ trace: '"abc"', stage: '"copied"' });
  expect(out[1]!.headers).toEqual({ stage: '"copied"' });

  const dead = await readRaw(dlq, 2);
  expect(dead.map((r) => r.key)).toEqual(['short', 'badheader']);
  const [short, badHeader] = dead as [RawRecord, RawRecord];
  expect(short.value).toEqual(Buffer.from('abc'));
  expect(short.headers).toMatchObject({
    '__connect.errors.stage': 'VALUE_CONVERTER',
    '__connect.errors.class.name': 'org.apache.kafka.connect.converters.LongConverter',
    '__connect.errors.exception.class.name': 'org.apache.kafka.connect.errors.DataException',
    '__connect.errors.exception.message': 'Failed to deserialize long: Size of data received by LongDeserializer is not 8',
  });
  expect(badHeader.value).toEqual(long(2n ** 40n));
  expect(badHeader.headers).toMatchObject({
    trace: '{not json',
    '__connect.errors.stage': 'HEADER_CONVERTER',
    '__connect.errors.class.name': 'org.apache.kafka.connect.json.JsonConverter',
  });
  const status = (await worker.api.get(`/connectors/${encodeURIComponent(name)}/status`)).body as { tasks: { state: string }[] };
  expect(status.tasks[0]!.state).toBe('RUNNING');
}, 90_000);
