/**
 * Connector CRUD over REST: list (+expand), create (+initial_state), info, config GET/PUT/PATCH,
 * status, tasks, task status, topics, delete. One worker for the whole file.
 */
import {
  closeKafka,
  createConnector,
  createTopic,
  expectError,
  expectStatus,
  groupOffsets,
  outputFile,
  produceJson,
  readAll,
  readLines,
  readRecorded,
  RECORDING_SINK,
  RECORDING_TASK,
  recordingSinkConfig,
  sleep,
  startWorker,
  stopAllWorkers,
  uniqueName,
  waitFor,
  waitForRecorded,
  waitForState,
  Worker,
} from './helpers';

let worker: Worker;
let topic: string;

beforeAll(async () => {
  topic = await createTopic(uniqueName('it-conn'), 2);
  // ids 0..3, two per partition; the connectors in this file read them
  await produceJson(topic, 4, { partitions: 2 });
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

describe('list and create', () => {
  const name = uniqueName('crud');
  const file = outputFile('crud');

  it('GET /connectors on a fresh cluster is an empty array (also with a trailing slash)', async () => {
    const res = await worker.api.get('/connectors');
    expectStatus(res, 200);
    expect(res.body).toEqual([]);
    const slash = await worker.api.get('/connectors/');
    expectStatus(slash, 200);
    expect(slash.body).toEqual([]);
  });

  it('POST /connectors is 201 with Location and ConnectorInfo; numbers and booleans become strings', async () => {
    const res = await worker.api.post('/connectors', {
      name,
      config: { 'connector.class': RECORDING_SINK, 'tasks.max': 2, topics: topic, 'output.file': file, 'extra.flag': true, 'extra.ratio': 0.5 },
    });
    expectStatus(res, 201);
    expect(res.headers.get('location')).toMatch(new RegExp(`/connectors/${name}$`));
    expect(res.body).toEqual({
      name,
      config: {
        'connector.class': RECORDING_SINK,
        'tasks.max': '2',
        topics: topic,
        'output.file': file,
        'extra.flag': 'true',
        'extra.ratio': '0.5',
        name,
      },
      tasks: [],
      type: 'sink',
    });
  });

  it('POST of an existing name is 409 "Connector X already exists"', async () => {
    const res = await worker.api.post('/connectors', { name, config: recordingSinkConfig(topic, file) });
    expectError(res, 409, `Connector ${name} already exists`);
  });

  it('the connector runs with its tasks, reported with this worker id', async () => {
    const status = await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2 });
    expect(status).toEqual({
      name,
      // Connect 4.1 adds the version of the plugin that runs each instance (the recording sink is 1.2.3)
      connector: { state: 'RUNNING', worker_id: worker.workerId, version: '1.2.3' },
      tasks: [
        { id: 0, state: 'RUNNING', worker_id: worker.workerId, version: '1.2.3' },
        { id: 1, state: 'RUNNING', worker_id: worker.workerId, version: '1.2.3' },
      ],
      type: 'sink',
    });
  });

  it('consumes the topic (records reach the sink)', async () => {
    const recs = await waitForRecorded(file, 4);
    expect(recs.map((r) => (r.value as { id: number }).id).sort()).toEqual([0, 1, 2, 3]);
  });

  it('GET /connectors lists it, with and without a trailing slash', async () => {
    expect((await worker.api.get('/connectors')).body).toEqual([name]);
    expect((await worker.api.get('/connectors/')).body).toEqual([name]);
  });

  it('GET /connectors?expand=status gives {name: {status}}', async () => {
    const res = await worker.api.get('/connectors?expand=status');
    expectStatus(res, 200);
    expect(Object.keys(res.body)).toEqual([name]);
    expect(Object.keys(res.body[name])).toEqual(['status']);
    expect(res.body[name].status).toEqual(
      expect.objectContaining({ name, type: 'sink', connector: { state: 'RUNNING', worker_id: worker.workerId, version: '1.2.3' } }),
    );
    expect(res.body[name].status.tasks).toHaveLength(2);
  });

  it('GET /connectors?expand=info gives {name: {info}}', async () => {
    const res = await worker.api.get('/connectors?expand=info');
    expectStatus(res, 200);
    expect(Object.keys(res.body[name])).toEqual(['info']);
    expect(res.body[name].info).toEqual({
      name,
      config: expect.objectContaining({ 'connector.class': RECORDING_SINK, 'tasks.max': '2', name }),
      tasks: [
        { connector: name, task: 0 },
        { connector: name, task: 1 },
      ],
      type: 'sink',
    });
  });

  it('GET /connectors?expand=info&expand=status gives both', async () => {
    const res = await worker.api.get('/connectors/?expand=info&expand=status');
    expectStatus(res, 200);
    expect(Object.keys(res.body[name]).sort()).toEqual(['info', 'status']);
    expect(res.body[name].status.connector.state).toBe('RUNNING');
    expect(res.body[name].info.name).toBe(name);
  });

  it('GET /connectors?expand=bogus gives {name: {}}', async () => {
    const res = await worker.api.get('/connectors?expand=bogus');
    expectStatus(res, 200);
    expect(res.body).toEqual({ [name]: {} });
  });

  it('GET /connectors/{c} gives ConnectorInfo with task ids', async () => {
    const res = await worker.api.get(`/connectors/${name}`);
    expectStatus(res, 200);
    expect(res.body).toEqual({
      name,
      config: expect.objectContaining({ 'connector.class': RECORDING_SINK, 'tasks.max': '2', topics: topic, name }),
      tasks: [
        { connector: name, task: 0 },
        { connector: name, task: 1 },
      ],
      type: 'sink',
    });
    const slash = await worker.api.get(`/connectors/${name}/`);
    expectStatus(slash, 200);
    expect(slash.body.name).toBe(name);
  });

  it('GET /connectors/{c}/config gives the flat string map including name', async () => {
    const res = await worker.api.get(`/connectors/${name}/config`);
    expectStatus(res, 200);
    expect(res.body).toEqual({
      'connector.class': RECORDING_SINK,
      'tasks.max': '2',
      topics: topic,
      'output.file': file,
      'extra.flag': 'true',
      'extra.ratio': '0.5',
      name,
    });
  });

  it('GET /connectors/{c}/tasks gives [{id:{connector,task}, config}] with task.class', async () => {
    const res = await worker.api.get(`/connectors/${name}/tasks`);
    expectStatus(res, 200);
    expect(res.body).toHaveLength(2);
    res.body.forEach((t: { id: unknown; config: Record<string, string> }, i: number) => {
      expect(t.id).toEqual({ connector: name, task: i });
      expect(t.config['task.class']).toBe(RECORDING_TASK);
      for (const v of Object.values(t.config)) expect(typeof v).toBe('string');
    });
  });

  it('GET /connectors/{c}/tasks/{t}/status gives TaskState; unknown task is 404', async () => {
    const res = await worker.api.get(`/connectors/${name}/tasks/1/status`);
    expectStatus(res, 200);
    expect(res.body).toEqual({ id: 1, state: 'RUNNING', worker_id: worker.workerId, version: '1.2.3' });
    expectError(await worker.api.get(`/connectors/${name}/tasks/7/status`), 404, `No status found for task ${name}-7`);
  });

  it('GET /connectors/{c}/topics lists the consumed topic, wrapped by connector name', async () => {
    const body = await waitFor(
      async () => {
        const res = await worker.api.get(`/connectors/${name}/topics`);
        expectStatus(res, 200);
        return res.body?.[name]?.topics?.length > 0 ? res.body : undefined;
      },
      { timeoutMs: 15_000, description: 'active topics' },
    );
    expect(body).toEqual({ [name]: { topics: [topic] } });
  });

  it('PUT /connectors/{c}/topics/reset is 202 with an empty body and empties the list', async () => {
    const res = await worker.api.put(`/connectors/${name}/topics/reset`);
    expectStatus(res, 202);
    expect(res.text).toBe('');
    const body = await waitFor(
      async () => {
        const r = await worker.api.get(`/connectors/${name}/topics`);
        return r.status === 200 && r.body?.[name]?.topics?.length === 0 ? r.body : undefined;
      },
      { timeoutMs: 15_000, description: 'topics emptied after reset' },
    );
    expect(body).toEqual({ [name]: { topics: [] } });
  });

  it('GET /connectors/{c}/topics of an unknown connector is 200 with an empty list', async () => {
    const res = await worker.api.get('/connectors/no-such-connector/topics');
    expectStatus(res, 200);
    expect(res.body).toEqual({ 'no-such-connector': { topics: [] } });
  });

  it('DELETE /connectors/{c} is 204; the connector is gone', async () => {
    const res = await worker.api.delete(`/connectors/${name}`);
    expectStatus(res, 204);
    expect(res.text).toBe('');
    expectError(await worker.api.get(`/connectors/${name}`), 404, `Connector ${name} not found`);
    expect((await worker.api.get('/connectors')).body).toEqual([]);
    await waitFor(async () => (await worker.api.get(`/connectors/${name}/status`)).status === 404, 15_000);
    expectError(await worker.api.get(`/connectors/${name}/status`), 404, `No status found for connector ${name}`);
  });
});

describe('PUT /connectors/{c}/config', () => {
  const name = uniqueName('put');
  const file = outputFile('put');

  it('creates a missing connector: 201 + Location + ConnectorInfo', async () => {
    const res = await worker.api.put(`/connectors/${name}/config`, recordingSinkConfig(topic, file));
    expectStatus(res, 201);
    expect(res.headers.get('location')).toMatch(new RegExp(`/connectors/${name}$`));
    expect(res.body).toEqual({
      name,
      config: { ...recordingSinkConfig(topic, file), name },
      tasks: [],
      type: 'sink',
    });
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
  });

  it('replaces an existing connector: 200 + ConnectorInfo; the new config takes effect', async () => {
    const res = await worker.api.put(`/connectors/${name}/config`, { ...recordingSinkConfig(topic, file), 'tasks.max': 2, name });
    expectStatus(res, 200);
    expect(res.body).toEqual({
      name,
      type: 'sink',
      config: { ...recordingSinkConfig(topic, file), 'tasks.max': '2', name },
      // the task ids as they were before the reconfiguration
      tasks: [{ connector: name, task: 0 }],
    });
    expect((await worker.api.get(`/connectors/${name}/config`)).body['tasks.max']).toBe('2');
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2 });
  });

  it('a name in the body that differs from the URL is 400', async () => {
    const res = await worker.api.put(`/connectors/${name}/config`, { ...recordingSinkConfig(topic, file), name: 'other' });
    expectError(res, 400, `Connector name configuration (other) doesn't match connector name in the URL (${name})`);
    expect((await worker.api.get(`/connectors/${name}/config`)).body.name).toBe(name);
  });

  it('a null value is a 400 validation error', async () => {
    const res = await worker.api.put(`/connectors/${name}/config`, { ...recordingSinkConfig(topic, file), 'output.file': null });
    expectError(res, 400, /^Connector configuration is invalid and contains the following \d+ error\(s\):/);
    expect(res.body.message).toContain('Null value can not be supplied as the configuration value.');
  });
});

describe('PATCH /connectors/{c}/config', () => {
  const name = uniqueName('patch');
  const file = outputFile('patch');

  beforeAll(async () => {
    await createConnector(worker.api, name, recordingSinkConfig(topic, file, { 'extra.a': 'x', 'extra.b': 'y' }));
  });

  it('merges the given keys, deletes keys set to null, and returns 200 ConnectorInfo', async () => {
    const res = await worker.api.patch(`/connectors/${name}/config`, { 'extra.a': 'changed', 'extra.b': null, 'extra.c': 3 });
    expectStatus(res, 200);
    expect(res.body.name).toBe(name);
    expect(res.body.type).toBe('sink');
    expect(res.body.config).toEqual({ ...recordingSinkConfig(topic, file), 'extra.a': 'changed', 'extra.c': '3', name });
    const cfg = await worker.api.get(`/connectors/${name}/config`);
    expect(cfg.body).toEqual({ ...recordingSinkConfig(topic, file), 'extra.a': 'changed', 'extra.c': '3', name });
    expect(cfg.body).not.toHaveProperty('extra.b');
  });

  it('a merge that makes the config invalid is 400 and changes nothing', async () => {
    const res = await worker.api.patch(`/connectors/${name}/config`, { 'output.file': null });
    expectError(res, 400, /^Connector configuration is invalid and contains the following 1 error\(s\):/);
    expect(res.body.message).toContain('output.file');
    expect((await worker.api.get(`/connectors/${name}/config`)).body['output.file']).toBe(file);
  });

  it('PATCH of a missing connector is 404 and does not create it', async () => {
    const missing = uniqueName('nope');
    const res = await worker.api.patch(`/connectors/${missing}/config`, recordingSinkConfig(topic, file));
    expectError(res, 404);
    expect((await worker.api.get('/connectors')).body).not.toContain(missing);
  });
});

describe('initial_state', () => {
  it('"paused" (lower case) creates a PAUSED connector whose tasks are PAUSED and consume nothing', async () => {
    const name = uniqueName('init-paused');
    const file = outputFile('init-paused');
    await createConnector(worker.api, name, recordingSinkConfig(topic, file), 'paused');
    const status = await waitForState(worker.api, name, 'PAUSED', { taskState: 'PAUSED', taskCount: 1 });
    expect(status.connector.worker_id).toEqual(worker.workerId);
    await new Promise((r) => setTimeout(r, 3000));
    expect(readRecorded(file)).toEqual([]);
    // a config change keeps the target state: still PAUSED, now with 2 paused tasks, still consuming nothing
    expectStatus(await worker.api.put(`/connectors/${name}/config`, recordingSinkConfig(topic, file, { 'tasks.max': '2' })), 200);
    await waitForState(worker.api, name, 'PAUSED', { taskState: 'PAUSED', taskCount: 2 });
    await new Promise((r) => setTimeout(r, 2000));
    expect(readRecorded(file)).toEqual([]);
  });

  it('"Stopped" creates a STOPPED connector with no tasks', async () => {
    const name = uniqueName('init-stopped');
    await createConnector(worker.api, name, recordingSinkConfig(topic, outputFile()), 'Stopped');
    const status = await waitForState(worker.api, name, 'STOPPED');
    expect(status.tasks).toEqual([]);
    const info = await worker.api.get(`/connectors/${name}`);
    expect(info.body.tasks).toEqual([]);
  });

  it('"RUNNING" creates a running connector', async () => {
    const name = uniqueName('init-running');
    const file = outputFile('init-running');
    const own = await createTopic(uniqueName('it-init-running'), 1);
    await produceJson(own, 2);
    await createConnector(worker.api, name, recordingSinkConfig(own, file), 'RUNNING');
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    await waitForRecorded(file, 2);
  });
});

describe('subscriptions', () => {
  it('topics.regex consumes every matching topic', async () => {
    const prefix = uniqueName('it-rx');
    const a = await createTopic(`${prefix}-a`, 1);
    const b = await createTopic(`${prefix}-b`, 1);
    await produceJson(a, 2, { start: 100 });
    await produceJson(b, 2, { start: 200 });
    const name = uniqueName('regex');
    const file = outputFile('regex');
    await createConnector(worker.api, name, { 'connector.class': RECORDING_SINK, 'topics.regex': `${prefix}-.*`, 'output.file': file });
    const recs = await waitForRecorded(file, 4);
    expect(recs.map((r) => `${r.topic}:${(r.value as { id: number }).id}`).sort()).toEqual([`${a}:100`, `${a}:101`, `${b}:200`, `${b}:201`]);
    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  });

  it('consumer.override.auto.offset.reset=latest skips the existing records', async () => {
    const t = await createTopic(uniqueName('it-latest'), 1);
    await produceJson(t, 3);
    const name = uniqueName('latest');
    const file = outputFile('latest');
    await createConnector(worker.api, name, recordingSinkConfig(t, file, { 'consumer.override.auto.offset.reset': 'latest' }));
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    // the consumer has its position once offsets get committed for the group
    await waitFor(async () => (await groupOffsets(`connect-${name}`, t)).get(0) === 3, { timeoutMs: 20_000, description: 'position committed at the end' }).catch(
      () => sleep(3000),
    );
    await produceJson(t, 2, { start: 3 });
    const recs = await waitForRecorded(file, 2);
    await sleep(1500);
    expect(readRecorded(file).map((r) => (r.value as { id: number }).id)).toEqual([3, 4]);
    expect(recs[0].offset).toBe(3);
    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  });

  it('a sink whose topic does not exist yet keeps its task RUNNING (no failure)', async () => {
    const name = uniqueName('notopic');
    const missing = uniqueName('it-missing');
    await createConnector(worker.api, name, recordingSinkConfig(missing, outputFile('notopic')));
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1, timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 3000));
    const status = await worker.api.get(`/connectors/${name}/status`);
    expect(status.body.tasks).toEqual([{ id: 0, state: 'RUNNING', worker_id: worker.workerId, version: '1.2.3' }]);
    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  });
});

describe('built-in sinks, created by alias', () => {
  it('FileStreamSink (alias) with a StringConverter override writes one line per record value', async () => {
    const name = uniqueName('file');
    const file = outputFile('file-sink');
    const res = await createConnector(worker.api, name, {
      'connector.class': 'FileStreamSink',
      topics: topic,
      file,
      'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
    });
    expect(res.body.config['connector.class']).toBe('FileStreamSink');
    expect(res.body.type).toBe('sink');
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    const lines = await waitFor(() => {
      const l = readLines(file);
      return l.length >= 4 ? l : undefined;
    }, { timeoutMs: 30_000, description: 'file sink output' });
    expect([...lines].sort()).toEqual(['{"id":0}', '{"id":1}', '{"id":2}', '{"id":3}']);
    expect((await worker.api.get(`/connectors/${name}`)).body.type).toBe('sink');
    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  });

  it('KafkaTopicSink (alias) copies records to target.topic with ${topic} replaced, keeping keys', async () => {
    const name = uniqueName('copy');
    // target.partition defaults to 'same': the target has as many partitions as the source
    const target = await createTopic(`${topic}-copy`, 2);
    await createConnector(worker.api, name, { 'connector.class': 'KafkaTopicSink', topics: topic, 'target.topic': '${topic}-copy' });
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    const copies = await readAll(target, { expected: 4, timeoutMs: 30_000 });
    expect(copies).toHaveLength(4);
    const pairs = copies.map((r) => [r.key, JSON.parse(r.value ?? 'null')]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(pairs).toEqual([
      ['k0', { id: 0 }],
      ['k1', { id: 1 }],
      ['k2', { id: 2 }],
      ['k3', { id: 3 }],
    ]);
    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  });
});

describe('bodyless requests sent with Content-Type: application/json (as Lenses UI does)', () => {
  const name = uniqueName('lenses');
  const json = { headers: { 'Content-Type': 'application/json' } };

  beforeAll(async () => {
    await createConnector(worker.api, name, recordingSinkConfig(topic, outputFile('lenses')));
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
  });

  it('pause and resume answer 202', async () => {
    expectStatus(await worker.api.send('PUT', `/connectors/${name}/pause`, json), 202);
    await waitForState(worker.api, name, 'PAUSED');
    expectStatus(await worker.api.send('PUT', `/connectors/${name}/resume`, json), 202);
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
  });

  it('connector and task restart answer 204', async () => {
    expectStatus(await worker.api.send('POST', `/connectors/${name}/restart`, json), 204);
    expectStatus(await worker.api.send('POST', `/connectors/${name}/tasks/0/restart`, json), 204);
  });

  it('DELETE answers 204', async () => {
    expectStatus(await worker.api.send('DELETE', `/connectors/${name}`, json), 204);
  });
});

describe('CORS is off by default', () => {
  it('sends no Access-Control-Allow-Origin', async () => {
    const res = await worker.api.get('/connectors', { headers: { Origin: 'http://ui.example.test' } });
    expectStatus(res, 200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});
