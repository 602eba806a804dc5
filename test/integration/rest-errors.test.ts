/**
 * Error responses: unknown routes, wrong methods, malformed JSON, per-endpoint not-found texts,
 * create-time validation, unknown classes, and `topic.tracking.allow.reset=false`.
 * Every error body must be {"error_code": <status>, "message": "..."}.
 */
import {
  closeKafka,
  createConnector,
  createTopic,
  expectError,
  expectStatus,
  outputFile,
  RECORDING_SINK,
  recordingSinkConfig,
  startWorker,
  stopAllWorkers,
  uniqueName,
  VALIDATE_HINT,
  Worker,
} from './helpers';

let worker: Worker;
let topic: string;

beforeAll(async () => {
  topic = await createTopic(uniqueName('it-err'), 1);
  worker = await startWorker({ props: { 'topic.tracking.allow.reset': 'false' } });
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

describe('framework-level errors', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', '/connectors/x/nope'],
    ['POST', '/not/a/route'],
    ['GET', '/connector-plugins/x/y/z'],
    ['GET', '/connectors/x/tasks/abc/status'],
  ])('%s %s is 404 "HTTP 404 Not Found"', async (method, path) => {
    const res = await worker.api.send(method, path);
    expectError(res, 404, 'HTTP 404 Not Found');
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
  });

  it.each([
    ['DELETE', '/connectors'],
    ['PATCH', '/connector-plugins'],
    ['POST', '/connectors/x/pause'],
    ['GET', '/connectors/x/restart'],
    ['DELETE', '/admin/loggers'],
  ])('%s %s is 405 with the error body', async (method, path) => {
    const res = await worker.api.send(method, path);
    expectError(res, 405);
    expect(res.body.message.length).toBeGreaterThan(0);
  });

  it('a path that is not valid percent-encoding is 400 in the error shape (the router rejects it before any route)', async () => {
    const res = await worker.api.get('/connectors/%E0%A4%A/status');
    expectError(res, 400);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('headers larger than the HTTP parser accepts are 431 in the error shape', async () => {
    const res = await worker.api.get('/connectors', { headers: { 'X-Padding': 'x'.repeat(32 * 1024) } });
    expectError(res, 431, 'HTTP 431 Request Header Fields Too Large');
  });

  it('malformed JSON on POST /connectors is a 4xx error body and creates nothing', async () => {
    const res = await worker.api.send('POST', '/connectors', { rawBody: '{"name": "broken", "config": {' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body).toEqual(expect.objectContaining({ error_code: res.status, message: expect.any(String) }));
    expect((await worker.api.get('/connectors')).body).not.toContain('broken');
  });

  it('malformed JSON on PUT /connectors/{c}/config is a 4xx error body', async () => {
    const res = await worker.api.send('PUT', '/connectors/broken2/config', { rawBody: 'this is not json' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body).toEqual(expect.objectContaining({ error_code: res.status, message: expect.any(String) }));
  });

  it('malformed JSON on PUT .../config/validate is a 4xx error body', async () => {
    const res = await worker.api.send('PUT', '/connector-plugins/RecordingSinkConnector/config/validate', { rawBody: '{"connector.class":' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body).toEqual(expect.objectContaining({ error_code: res.status, message: expect.any(String) }));
  });
});

describe('unknown connector: each endpoint has its own 404 text', () => {
  const c = 'ghost';
  it.each([
    ['GET', `/connectors/${c}`, `Connector ${c} not found`],
    ['GET', `/connectors/${c}/config`, `Connector ${c} not found`],
    ['GET', `/connectors/${c}/tasks`, `Connector ${c} not found`],
    ['DELETE', `/connectors/${c}`, `Connector ${c} not found`],
    ['GET', `/connectors/${c}/status`, `No status found for connector ${c}`],
    ['GET', `/connectors/${c}/tasks/0/status`, `No status found for task ${c}-0`],
    ['PUT', `/connectors/${c}/pause`, `Unknown connector ${c}`],
    ['PUT', `/connectors/${c}/resume`, `Unknown connector ${c}`],
    ['PUT', `/connectors/${c}/stop`, `Unknown connector ${c}`],
    ['POST', `/connectors/${c}/restart`, `Unknown connector: ${c}`],
    ['POST', `/connectors/${c}/restart?includeTasks=true&onlyFailed=true`, `Unknown connector: ${c}`],
    ['POST', `/connectors/${c}/tasks/0/restart`, `Unknown connector: ${c}`],
    ['GET', `/connectors/${c}/offsets`, `Connector ${c} not found`],
    ['DELETE', `/connectors/${c}/offsets`, `Connector ${c} not found`],
  ])('%s %s → 404 "%s"', async (method, path, message) => {
    expectError(await worker.api.send(method, path), 404, message);
  });

  it('PATCH /connectors/ghost/offsets → 404 "Connector ghost not found"', async () => {
    const res = await worker.api.patch(`/connectors/${c}/offsets`, {
      offsets: [{ partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: 1 } }],
    });
    expectError(res, 404, `Connector ${c} not found`);
  });

  it('PATCH /connectors/ghost/config → 404', async () => {
    expectError(await worker.api.patch(`/connectors/${c}/config`, { 'tasks.max': '1' }), 404);
  });
});

describe('create-time validation', () => {
  it('an unknown connector class is 500 "Failed to find any class ..." listing the available connectors', async () => {
    const res = await worker.api.post('/connectors', { name: uniqueName('nocls'), config: { 'connector.class': 'com.acme.NoSuchConnector', topics: topic } });
    expectError(res, 500, /^Failed to find any class that implements Connector and which name matches com\.acme\.NoSuchConnector, available connectors are: /);
    expect(res.body.message).toContain(RECORDING_SINK);
  });

  it('invalid values are 400 listing each error and pointing to the validate endpoint', async () => {
    const name = uniqueName('invalid');
    const res = await worker.api.post('/connectors', {
      name,
      config: { 'connector.class': RECORDING_SINK, topics: topic, 'tasks.max': 'abc' },
    });
    expectError(res, 400);
    const lines: string[] = res.body.message.split('\n');
    expect(lines[0]).toBe('Connector configuration is invalid and contains the following 2 error(s):');
    expect(lines[lines.length - 1]).toBe(VALIDATE_HINT);
    const errors = lines.slice(1, -1);
    expect(errors).toHaveLength(2);
    expect(errors).toContain('Missing required configuration "output.file" which has no default value.');
    expect(errors.some((l) => l.includes('tasks.max'))).toBe(true);
    expect((await worker.api.get('/connectors')).body).not.toContain(name);
  });

  it('a sink without topics or topics.regex is 400', async () => {
    const res = await worker.api.post('/connectors', {
      name: uniqueName('notopics'),
      config: { 'connector.class': RECORDING_SINK, 'output.file': outputFile() },
    });
    expectError(res, 400, /^Connector configuration is invalid and contains the following \d+ error\(s\):/);
    expect(res.body.message).toContain('Must configure one of topics or topics.regex');
  });

  it('a config without connector.class is 400 "... contains no connector type"', async () => {
    const res = await worker.api.post('/connectors', { name: uniqueName('nocls'), config: { topics: topic } });
    expectError(res, 400, /^Connector config \{.*\} contains no connector type$/s);
  });

  it('config.name different from the name is 400', async () => {
    const res = await worker.api.post('/connectors', { name: 'one', config: { ...recordingSinkConfig(topic, outputFile()), name: 'two' } });
    expectError(res, 400, "Connector name configuration (two) doesn't match connector name in the URL (one)");
  });

  it('a missing name is 400', async () => {
    const res = await worker.api.post('/connectors', { config: recordingSinkConfig(topic, outputFile()) });
    expectError(res, 400);
    expect((await worker.api.get('/connectors')).body).toEqual([]);
  });
});

describe('topic.tracking.allow.reset=false', () => {
  it('GET topics still works; PUT topics/reset is 403 "Topic tracking reset is disabled."', async () => {
    const name = uniqueName('track');
    await createConnector(worker.api, name, recordingSinkConfig(topic, outputFile()));
    const get = await worker.api.get(`/connectors/${name}/topics`);
    expectStatus(get, 200);
    expect(get.body).toEqual({ [name]: { topics: expect.any(Array) } });
    expectError(await worker.api.put(`/connectors/${name}/topics/reset`), 403, 'Topic tracking reset is disabled.');
    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  });
});
