/**
 * Connector names: every name Connect accepts works on every route, the way clients send it
 * (percent-encoded in the path). Connect's only rules are its name validator's (non-empty, no ISO
 * control characters; KIP-212), so long names, spaces, '%', '/', '?', '#', '+' and any Unicode must
 * be creatable, readable, pausable, resumable, restartable, reconfigurable and deletable. A name
 * that is created but cannot be read back is the failure this file guards against (it used to be
 * a 414 from the HTTP framework above 100 characters, so health checks saw the worker unhealthy).
 */
import {
  closeKafka,
  createTopic,
  expectError,
  expectStatus,
  outputFile,
  produceJson,
  randomSuffix,
  recordingSinkConfig,
  startWorker,
  stopAllWorkers,
  uniqueName,
  waitForRecorded,
  waitForState,
  Worker,
} from './helpers';

let worker: Worker;
let topic: string;

beforeAll(async () => {
  topic = await createTopic(uniqueName('it-names'), 1);
  await produceJson(topic, 2);
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

/** A name of exactly `length` UTF-16 units, unique per run (the consumer group `connect-<name>` lives on the broker). */
function ofLength(length: number): string {
  const tag = randomSuffix(8);
  return length <= tag.length ? tag.slice(0, length) : 'n'.repeat(length - tag.length - 1) + '-' + tag;
}

const path = (name: string) => `/connectors/${encodeURIComponent(name)}`;

const names: [string, string][] = [
  ['1 character', ofLength(1)],
  ['100 characters', ofLength(100)],
  ['101 characters', ofLength(101)],
  ['249 characters', ofLength(249)],
  ['1,000 characters', ofLength(1000)],
  ['spaces', `my scoring connector ${randomSuffix()}`],
  ["'%' (also what looks like an escape)", `100% sure %41%2F ${randomSuffix()}`],
  ['Unicode (accents, CJK, emoji)', `modèle-日本語-🚀-${randomSuffix()}`],
  ["'/', '?', '#', '+', '&'", `team/a?b#c+d&e ${randomSuffix()}`],
];

describe.each(names)('a connector name with %s', (_what, name) => {
  const file = outputFile('names');

  it('is created (201, Location percent-encoded) and listed', async () => {
    const res = await worker.api.post('/connectors', { name, config: recordingSinkConfig(topic, file) });
    expectStatus(res, 201);
    expect(res.body.name).toBe(name);
    expect(res.headers.get('location')).toBe(path(name));
    expect((await worker.api.get('/connectors')).body).toContain(name);
  });

  it('GET info, config, status, tasks and task status work', async () => {
    const info = await worker.api.get(path(name));
    expectStatus(info, 200);
    expect(info.body.name).toBe(name);
    const config = await worker.api.get(`${path(name)}/config`);
    expectStatus(config, 200);
    expect(config.body.name).toBe(name);
    const status = await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    expect(status.name).toBe(name);
    expectStatus(await worker.api.get(`${path(name)}/tasks`), 200);
    expectStatus(await worker.api.get(`${path(name)}/tasks/0/status`), 200);
    // and it does its job: the records reach the sink
    await waitForRecorded(file, 2);
    // the expanded list (what health checks and UIs read) has it too
    const expanded = await worker.api.get('/connectors?expand=status');
    expect(expanded.body[name].status.connector.state).toBe('RUNNING');
  });

  it('pause (202) and resume (202) change its state', async () => {
    expectStatus(await worker.api.put(`${path(name)}/pause`), 202);
    await waitForState(worker.api, name, 'PAUSED', { taskState: 'PAUSED', taskCount: 1 });
    expectStatus(await worker.api.put(`${path(name)}/resume`), 202);
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
  });

  it('restart (204), restart with tasks (202) and task restart (204) work', async () => {
    expectStatus(await worker.api.post(`${path(name)}/restart`), 204);
    const res = await worker.api.post(`${path(name)}/restart?includeTasks=true`);
    expectStatus(res, 202);
    expect(res.body.name).toBe(name);
    expectStatus(await worker.api.post(`${path(name)}/tasks/0/restart`), 204);
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
  });

  it('PUT and PATCH config (200) reconfigure it', async () => {
    const put = await worker.api.put(`${path(name)}/config`, { ...recordingSinkConfig(topic, file), 'tasks.max': '2' });
    expectStatus(put, 200);
    expect(put.body.config.name).toBe(name);
    const patch = await worker.api.patch(`${path(name)}/config`, { 'tasks.max': '1' });
    expectStatus(patch, 200);
    expect((await worker.api.get(`${path(name)}/config`)).body['tasks.max']).toBe('1');
  });

  it('topics, offsets and stop answer for it', async () => {
    expectStatus(await worker.api.get(`${path(name)}/topics`), 200);
    expectStatus(await worker.api.put(`${path(name)}/stop`), 204);
    await waitForState(worker.api, name, 'STOPPED');
    expectStatus(await worker.api.get(`${path(name)}/offsets`), 200);
  });

  it('is deleted (204) and then gone (404 naming it)', async () => {
    expectStatus(await worker.api.delete(path(name)), 204);
    expectError(await worker.api.get(path(name)), 404, `Connector ${name} not found`);
    expect((await worker.api.get('/connectors')).body).not.toContain(name);
  });
});

describe('names Connect rejects, with its validator messages', () => {
  it.each([
    ['a line feed', 'bad\nname', '10'],
    ['a tab', 'bad\tname', '9'],
    ['a C1 control (NEL)', 'bad\u0085name', '133'],
  ])('a name with %s is 400 naming the control characters', async (_what, name, codes) => {
    const res = await worker.api.post('/connectors', { name, config: recordingSinkConfig(topic, outputFile('bad')) });
    expectError(res, 400, /^Connector configuration is invalid and contains the following 1 error\(s\):\n/);
    expect(res.body.message).toContain(`Invalid value ${name} for configuration name: String may not contain control sequences but had the following ASCII chars: ${codes}`);
    expect((await worker.api.get('/connectors')).body).not.toContain(name);
  });

  it('an empty (or blank, it is trimmed) name is 400 "String may not be empty"', async () => {
    for (const name of ['', '   ']) {
      const res = await worker.api.post('/connectors', { name, config: recordingSinkConfig(topic, outputFile('bad')) });
      expectError(res, 400, /Invalid value {2}for configuration name: String may not be empty/);
    }
  });
});
