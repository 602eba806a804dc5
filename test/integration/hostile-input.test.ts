/**
 * Hostile and absurd input against one worker process on the real broker (issue 10): each request
 * or record gets a clear error (a 4xx in Connect's error shape, or the error path with Connect's
 * DLQ headers), the worker's memory stays bounded, and a connector running beside keeps
 * delivering every record.
 *
 *   tasks.max=1000000 · a 20 MB config · file:///dev/zero · file:///etc/shadow · an http: URI that
 *   redirects to a host not allowed · a record nested 100,000 levels · features of 1e400 ·
 *   Host: evil.example
 */
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import {
  KAFKA_TOPIC_SINK, closeKafka, createConnector, createTopic, deleteTopics, expectError, getStatus, produce, randomSuffix,
  readAll, sleep, startWorker, stopAllWorkers, tmpDir, waitForState, type Worker,
} from './helpers';
import { fixture, modelBody, publish, scoringConnector } from './serving-support';

jest.setTimeout(300_000);

const iris = fixture('iris-logreg-v1');
const GIB = 1024 * 1024 * 1024;
const JSON_CONVERTER = 'org.apache.kafka.connect.json.JsonConverter';

/** VmRSS and VmHWM (peak) of a process, in bytes. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** One request with raw headers (fetch would not let the test choose Host). */
function rawRequest(port: number, method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end();
  });
}

const DLQ_SETTINGS = {
  'errors.tolerance': 'all', 'errors.deadletterqueue.topic.replication.factor': '1', 'errors.deadletterqueue.context.headers.enable': 'true',
};

describe('hostile input against a running worker', () => {
  const suffix = randomSuffix();
  const topics: string[] = [];
  const t = async (name: string) => {
    const topic = await createTopic(`kappa-it-${name}-${suffix}`);
    topics.push(topic);
    return topic;
  };
  let worker: Worker;
  let pid: number;
  // the redirecting model server and the host it redirects to (the worker may reach only the first)
  let redirector: http.Server;
  let target: http.Server;
  let targetHits = 0;
  // the connector beside: everything produced to steadyIn must reach steadyOut
  let steadyIn: string;
  let steadyOut: string;
  let produced = 0;
  let producing = true;
  let producer: Promise<void>;

  beforeAll(async () => {
    target = http.createServer((_req, res) => {
      targetHits++;
      res.end('not a model');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const targetPort = (target.address() as AddressInfo).port;
    redirector = http.createServer((req, res) => void res.writeHead(302, { location: `http://127.0.0.1:${targetPort}${req.url}` }).end());
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    const redirectorPort = (redirector.address() as AddressInfo).port;

    worker = await startWorker({ props: {
      'kappa.model.topic': `kappa-it-models-${suffix}`, 'kappa.model.cache.dir': tmpDir('kappa-it-cache-'),
      'kappa.model.http.allowed.hosts': `127.0.0.1:${redirectorPort}`,
    } });
    topics.push(`kappa-it-models-${suffix}`);
    pid = worker.pid()!;

    steadyIn = await t('steady-in');
    steadyOut = await t('steady-out');
    await createConnector(worker.api, `steady-${suffix}`, { 'connector.class': KAFKA_TOPIC_SINK, topics: steadyIn, 'target.topic': steadyOut });
    await waitForState(worker.api, `steady-${suffix}`, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    producer = (async () => {
      while (producing) {
        const batch = Array.from({ length: 50 }, (_, i) => ({ key: `s${produced + i}`, value: { seq: produced + i } }));
        await produce(steadyIn, batch);
        produced += batch.length;
        await sleep(100);
      }
    })();
  });

  afterAll(async () => {
    producing = false;
    await producer?.catch(() => undefined);
    await stopAllWorkers();
    await new Promise((r) => redirector?.close(r));
    await new Promise((r) => target?.close(r));
    await deleteTopics(topics);
    await closeKafka();
  });

  it('tasks.max=1000000: a validation error, and no task config is written', async () => {
    const name = `many-${suffix}`;
    const config = { 'connector.class': KAFKA_TOPIC_SINK, topics: steadyIn, 'target.topic': `${steadyIn}.copy`, 'tasks.max': '1000000' };
    for (const res of [await worker.api.put(`/connectors/${name}/config`, config), await worker.api.post('/connectors', { name, config })]) {
      expectError(res, 400, /^Connector configuration is invalid and contains the following 1 error\(s\):\nInvalid value 1000000 for configuration tasks.max: Value must be no more than 256 \(the worker property kappa.connector.tasks.max.limit\)\n/);
    }
    const validate = await worker.api.put(`/connector-plugins/${KAFKA_TOPIC_SINK}/config/validate`, { ...config, name });
    expect(validate.status).toBe(200);
    expect(validate.body.error_count).toBe(1);
    expect(validate.body.configs.find((c: { value: { name: string } }) => c.value.name === 'tasks.max').value.errors).toEqual([
      'Invalid value 1000000 for configuration tasks.max: Value must be no more than 256 (the worker property kappa.connector.tasks.max.limit)',
    ]);
    expectError(await worker.api.get(`/connectors/${name}`), 404, `Connector ${name} not found`);
    const stored = await readAll(worker.props['config.storage.topic']!, { timeoutMs: 5000 });
    expect(stored.filter((r) => r.key?.includes(name))).toEqual([]);
  });

  it('a 20 MB config: 413 before it is parsed; 300 KB: 400 naming the config size limit', async () => {
    const huge: Record<string, string> = { 'connector.class': KAFKA_TOPIC_SINK, topics: steadyIn, 'target.topic': 'x' };
    for (let i = 0; i < 20; i++) huge[`pad.${i}`] = 'x'.repeat(1024 * 1024);
    expectError(await worker.api.put(`/connectors/huge-${suffix}/config`, huge), 413,
      'HTTP 413 Request Entity Too Large: the request body is larger than 16777216 bytes (worker property kappa.rest.request.max.bytes)');
    const big = { 'connector.class': KAFKA_TOPIC_SINK, topics: steadyIn, 'target.topic': 'x', 'pad.0': 'y'.repeat(300 * 1024) };
    expectError(await worker.api.put(`/connectors/big-${suffix}/config`, big), 400,
      /The connector configuration is \d+ bytes, more than the worker's limit of 262144 bytes \(kappa.connector.config.max.bytes\); its largest entry is 'pad.0'/);
    expectError(await worker.api.get(`/connectors/huge-${suffix}`), 404);
    expectError(await worker.api.get(`/connectors/big-${suffix}`), 404);
  });

  it('model URIs: /dev/zero and /etc/shadow are refused unread, a redirect to a host not allowed is not followed', async () => {
    const features = { features: ['x1', 'x2', 'x3', 'x4'] };
    // without sha256 the worker would compute it from the artifact: nothing is read
    expectError(await worker.api.post('/models', { id: `zero-${suffix}`, version: '1', uri: 'file:///dev/zero', input: features }), 400,
      'Cannot use the model artifact: artifact file:///dev/zero is on a device or pseudo-filesystem (/proc, /sys, /dev), not a model file');
    for (const body of [
      { id: `shadow-${suffix}`, version: '1', uri: 'file:///etc/shadow', input: features },
      { id: `shadow-${suffix}`, version: '1', uri: 'file:///etc/shadow', sha256: 'ab'.repeat(32), input: features },
      { id: `shadow-${suffix}`, version: '1', uri: 'file:///etc/hostname', input: features }, // readable by anyone: refused all the same
    ]) {
      const res = await worker.api.post('/models', body);
      expectError(res, 403, /^Cannot use the model artifact: artifact file:\/\/\/etc\/\w+ is outside the directories this worker reads models from \(.*\); see the worker properties kappa.model.dir and kappa.model.file.allowed.dirs$/);
      expect(res.text).not.toMatch(/[0-9a-f]{64}/);
    }
    const redirecting = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/model.onnx`;
    expectError(await worker.api.post('/models', { id: `redirect-${suffix}`, version: '1', uri: redirecting, input: features }), 403,
      new RegExp(`^Cannot use the model artifact: artifact ${redirecting.replace(/[.]/g, '\\.')}: host 127\\.0\\.0\\.1:${(target.address() as AddressInfo).port} is not allowed for model downloads`));
    expect(targetHits).toBe(0);
    for (const id of ['zero', 'shadow', 'redirect']) expectError(await worker.api.get(`/models/${id}-${suffix}`), 404);
  });

  it('a record nested 100,000 levels goes to the DLQ with Connect\'s headers; the rest of its batch is delivered', async () => {
    const input = await t('deep-in');
    const output = await t('deep-out');
    const dlq = await t('deep-dlq');
    const name = `deep-${suffix}`;
    await createConnector(worker.api, name, { 'connector.class': KAFKA_TOPIC_SINK, topics: input, 'target.topic': output, 'errors.deadletterqueue.topic.name': dlq, ...DLQ_SETTINGS });
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    const deep = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);
    const good = (i: number) => ({ key: `g${i}`, value: { seq: i, nested: { ok: true } } });
    await produce(input, [...[0, 1, 2, 3, 4].map(good), { key: 'deep', value: deep }, ...[5, 6, 7, 8, 9].map(good)]);
    const out = await readAll(output, { expected: 10, timeoutMs: 60_000 });
    expect(out.map((r) => JSON.parse(r.value!).seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const [dead] = await readAll(dlq, { expected: 1, timeoutMs: 60_000 });
    expect(dead!.key).toBe('deep');
    expect(dead!.value).toBe(deep);
    expect(dead!.headers).toMatchObject({
      '__connect.errors.topic': input, '__connect.errors.partition': '0', '__connect.errors.offset': '5',
      '__connect.errors.connector.name': name, '__connect.errors.task.id': '0', '__connect.errors.stage': 'VALUE_CONVERTER',
      '__connect.errors.class.name': JSON_CONVERTER, '__connect.errors.exception.class.name': 'org.apache.kafka.connect.errors.DataException',
      '__connect.errors.exception.message': 'Converting byte[] to Kafka Connect data failed due to serialization error: document nesting depth exceeds the maximum allowed (1000)',
    });
    expect((await getStatus(worker.api, name)).body.tasks[0]).toMatchObject({ state: 'RUNNING' });
  });

  it('features of 1e400 go to the DLQ as they came; the other records are scored', async () => {
    const id = `iris-${suffix}`;
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1'));
    const input = await t('inf-in');
    const output = await t('inf-out');
    const dlq = await t('inf-dlq');
    const name = `inf-${suffix}`;
    await createConnector(worker.api, name, scoringConnector(input, output, { 'model.id': id }, { 'errors.deadletterqueue.topic.name': dlq, ...DLQ_SETTINGS }));
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    const row = (i: number) => iris.expected.rows[i]!;
    const good = (i: number) => ({ key: `g${i}`, value: { seq: i, x1: row(i)[0], x2: row(i)[1], x3: row(i)[2], x4: row(i)[3] } });
    const infinite = `{"seq":99,"x1":1e400,"x2":${row(0)[1]},"x3":${row(0)[2]},"x4":${row(0)[3]}}`;
    await produce(input, [good(0), good(1), { key: 'inf', value: infinite }, good(2), good(3)]);
    const out = await readAll(output, { expected: 4, timeoutMs: 60_000 });
    const values = out.map((r) => JSON.parse(r.value!));
    expect(values.map((v) => v.seq)).toEqual([0, 1, 2, 3]);
    expect(values.map((v) => v.prediction.label)).toEqual(iris.expected.labels!.slice(0, 4));
    expect(out.some((r) => r.value!.includes('Infinity') || r.value!.includes('NaN'))).toBe(false);
    const [dead] = await readAll(dlq, { expected: 1, timeoutMs: 60_000 });
    expect(dead!.value).toBe(infinite); // untouched: not rewritten as "Infinity"
    expect(dead!.headers).toMatchObject({
      '__connect.errors.stage': 'TRANSFORMATION', '__connect.errors.class.name': 'io.kappa.connect.ml.Score', '__connect.errors.offset': '2',
      '__connect.errors.exception.message': `record ${input}-0@2: feature 'x1' (field 'x1') of model ${id} version 1 must be a finite float32 number, but is Infinity`,
    });
  });

  it('Host: evil.example gets 421 in Connect\'s error shape; loopback and the advertised host are served', async () => {
    for (const path of ['/', '/connectors', '/models']) {
      const res = await rawRequest(worker.port, 'GET', path, { host: 'evil.example' });
      expect(res.status).toBe(421);
      expect(res.body).toEqual({ error_code: 421, message: expect.stringMatching(/^Host "evil.example" is not a name of this worker/) });
    }
    expect((await rawRequest(worker.port, 'GET', '/connectors', { host: `localhost:${worker.port}` })).status).toBe(200);
    expect((await rawRequest(worker.port, 'GET', '/connectors', { host: worker.workerId })).status).toBe(200);
  });

  it('the worker stayed under 1 GB and the connector beside delivered every record', async () => {
    producing = false;
    await producer;
    const expected = produced;
    const out = await readAll(steadyOut, { expected, timeoutMs: 90_000 });
    expect(out.length).toBe(expected);
    expect(new Set(out.map((r) => JSON.parse(r.value!).seq)).size).toBe(expected);
    const mem = memoryOf(pid);
    // the numbers for the closing note of the issue
    process.stdout.write(`hostile-input: worker VmRSS ${(mem.rss / 2 ** 20).toFixed(0)} MiB, peak VmHWM ${(mem.peak / 2 ** 20).toFixed(0)} MiB; steady connector delivered ${out.length}/${expected}\n`);
    expect(mem.peak).toBeLessThan(GIB);
    const status = await getStatus(worker.api, `steady-${suffix}`);
    expect(status.body.tasks[0]).toMatchObject({ state: 'RUNNING' });
  });
});

describe('a connector stored with tasks.max=1000000 (written before the limit existed)', () => {
  afterAll(async () => {
    await stopAllWorkers();
    await closeKafka();
  });

  it('FAILS with the limit in its trace when the worker starts; no task config is written and the worker keeps serving', async () => {
    const suffix = randomSuffix();
    const configTopic = await createTopic(`kappa-it-stored-configs-${suffix}`);
    const name = `stored-${suffix}`;
    // the record an earlier version wrote on PUT .../config, before it died writing the task configs
    await produce(configTopic, [{ key: `connector-${name}`, value: { properties: { name, 'connector.class': KAFKA_TOPIC_SINK, topics: `in-${suffix}`, 'target.topic': `out-${suffix}`, 'tasks.max': '1000000' } } }]);
    const worker = await startWorker({ props: { 'config.storage.topic': configTopic } });
    const status = await waitForState(worker.api, name, 'FAILED', { timeoutMs: 60_000 });
    expect(status.connector.trace).toMatch(/asks for tasks.max=1000000, more than this worker's limit of 256 \(kappa.connector.tasks.max.limit\); no tasks were created/);
    expect(status.tasks).toEqual([]);
    expect((await worker.api.get('/connectors')).body).toEqual([name]);
    const records = await readAll(configTopic, { timeoutMs: 5000 });
    expect(records.filter((r) => r.key?.startsWith('task-'))).toEqual([]);
    expect(memoryOf(worker.pid()!).peak).toBeLessThan(GIB);
    await deleteTopics([configTopic]);
  });
});
