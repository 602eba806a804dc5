/**
 * The connector lifecycle end to end on a real broker: create → run → pause → resume → stop →
 * offsets (alter/reset, only while STOPPED) → resume from the altered offsets → restart variants →
 * delete; plus failing tasks and connectors (FAILED with trace, restart, fixed by a config change).
 */
import * as fs from 'fs';
import {
  closeKafka,
  createConnector,
  createTopic,
  expectError,
  expectStatus,
  FAILING_SINK,
  groupOffsets,
  listGroups,
  outputFile,
  produce,
  produceJson,
  readRecorded,
  recordingSinkConfig,
  sleep,
  startWorker,
  stopAllWorkers,
  uniqueName,
  waitFor,
  waitForRecorded,
  waitForState,
  waitForTaskState,
  Worker,
} from './helpers';

let worker: Worker;

beforeAll(async () => {
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

async function step(label: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof Error) err.message = `[step: ${label}] ${err.message}`;
    throw err;
  }
}

function offsetsObject(m: Map<number, number>): Record<number, number> {
  return Object.fromEntries([...m.entries()].sort((a, b) => a[0] - b[0]));
}

async function waitForGroupOffsets(group: string, topic: string, expected: Record<number, number>, timeoutMs = 20_000) {
  let last: Record<number, number> = {};
  try {
    await waitFor(
      async () => {
        last = offsetsObject(await groupOffsets(group, topic));
        return JSON.stringify(last) === JSON.stringify(expected);
      },
      { timeoutMs, intervalMs: 500 },
    );
  } catch {
    throw new Error(`group ${group} offsets on ${topic}: expected ${JSON.stringify(expected)}, last ${JSON.stringify(last)}`);
  }
}

interface LifecycleEvent {
  event: string;
  task?: number;
}
function readEvents(file: string): LifecycleEvent[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l));
}
function countEvents(file: string, event: string, task?: number): number {
  return readEvents(file).filter((e) => e.event === event && (task === undefined || e.task === task)).length;
}

const notStoppedMessage = (name: string) =>
  `Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/${name}/stop' endpoint`;

describe('full lifecycle of a sink connector', () => {
  it('create → pause → resume → stop → offsets → resume → restarts → delete', async () => {
    const name = uniqueName('life');
    const group = `connect-${name}`;
    const topic = await createTopic(uniqueName('it-life'), 2);
    const file = outputFile('life');
    const events = outputFile('life-events');
    const ids = (recs: { value: unknown }[]) => recs.map((r) => (r.value as { id: number }).id).sort((a, b) => a - b);
    const anOffsetsBody = { offsets: [{ partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: 1 } }] };

    await step('create', async () => {
      const res = await createConnector(worker.api, name, recordingSinkConfig(topic, file, { 'tasks.max': '2', 'events.file': events }));
      expect(res.body.name).toBe(name);
      await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2 });
    });

    await step('consume while RUNNING, offsets committed to connect-<name>', async () => {
      await produceJson(topic, 6, { partitions: 2 });
      expect(ids(await waitForRecorded(file, 6))).toEqual([0, 1, 2, 3, 4, 5]);
      await waitForGroupOffsets(group, topic, { 0: 3, 1: 3 });
    });

    await step('offsets GET works while RUNNING; PATCH/DELETE are 400 unless STOPPED', async () => {
      const get = await worker.api.get(`/connectors/${name}/offsets`);
      expectStatus(get, 200);
      expect(get.body.offsets).toEqual(
        expect.arrayContaining([
          { partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: 3 } },
          { partition: { kafka_topic: topic, kafka_partition: 1 }, offset: { kafka_offset: 3 } },
        ]),
      );
      expect(get.body.offsets).toHaveLength(2);
      expectError(await worker.api.patch(`/connectors/${name}/offsets`, anOffsetsBody), 400, notStoppedMessage(name));
      expectError(await worker.api.delete(`/connectors/${name}/offsets`), 400, notStoppedMessage(name));
      expect(offsetsObject(await groupOffsets(group, topic))).toEqual({ 0: 3, 1: 3 });
    });

    await step('pause: 202 empty, PAUSED, nothing consumed, offsets do not move', async () => {
      const res = await worker.api.put(`/connectors/${name}/pause`);
      expectStatus(res, 202);
      expect(res.text).toBe('');
      await waitForState(worker.api, name, 'PAUSED', { taskState: 'PAUSED', taskCount: 2 });
      // idempotent
      expectStatus(await worker.api.put(`/connectors/${name}/pause`), 202);
      await produceJson(topic, 4, { start: 6, partitions: 2 });
      await sleep(4000); // 4 flush intervals
      expect(readRecorded(file)).toHaveLength(6);
      expect(offsetsObject(await groupOffsets(group, topic))).toEqual({ 0: 3, 1: 3 });
      const status = await worker.api.get(`/connectors/${name}/status`);
      expect(status.body.connector.state).toBe('PAUSED');
      expectError(await worker.api.patch(`/connectors/${name}/offsets`, anOffsetsBody), 400, notStoppedMessage(name));
    });

    await step('resume: 202 empty, RUNNING, the records produced while paused arrive once', async () => {
      const res = await worker.api.put(`/connectors/${name}/resume`);
      expectStatus(res, 202);
      expect(res.text).toBe('');
      await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2 });
      await waitForRecorded(file, 10);
      await waitForGroupOffsets(group, topic, { 0: 5, 1: 5 });
      expect(ids(readRecorded(file))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    await step('stop: 204 empty, STOPPED with tasks [] everywhere', async () => {
      const res = await worker.api.put(`/connectors/${name}/stop`);
      expectStatus(res, 204);
      expect(res.text).toBe('');
      const status = await waitForState(worker.api, name, 'STOPPED');
      expect(status.tasks).toEqual([]);
      expect(status.connector.worker_id).toEqual(worker.workerId);
      const info = await worker.api.get(`/connectors/${name}`);
      expect(info.body.tasks).toEqual([]);
      const tasks = await worker.api.get(`/connectors/${name}/tasks`);
      expectStatus(tasks, 200);
      expect(tasks.body).toEqual([]);
      // idempotent
      expectStatus(await worker.api.put(`/connectors/${name}/stop`), 204);
      // tasks were really stopped
      await waitFor(() => countEvents(events, 'task-stop') >= 2, 10_000);
    });

    await step('offsets GET while STOPPED reflects the group', async () => {
      const get = await worker.api.get(`/connectors/${name}/offsets`);
      expectStatus(get, 200);
      expect(get.body).toEqual({
        offsets: expect.arrayContaining([
          { partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: 5 } },
          { partition: { kafka_topic: topic, kafka_partition: 1 }, offset: { kafka_offset: 5 } },
        ]),
      });
      expect(get.body.offsets).toHaveLength(2);
    });

    await step('PATCH offsets: empty and malformed bodies are 400', async () => {
      expectError(await worker.api.patch(`/connectors/${name}/offsets`, { offsets: [] }), 400, 'Partitions / offsets need to be provided for an alter offsets request');
      const bad = await worker.api.patch(`/connectors/${name}/offsets`, {
        offsets: [{ partition: { kafka_topic: topic }, offset: { kafka_offset: 1 } }],
      });
      expectError(bad, 400);
      expect(offsetsObject(await groupOffsets(group, topic))).toEqual({ 0: 5, 1: 5 });
    });

    await step('PATCH offsets while STOPPED: 200 message, group offsets altered', async () => {
      const res = await worker.api.patch(`/connectors/${name}/offsets`, {
        offsets: [
          { partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: 2 } },
          { partition: { kafka_topic: topic, kafka_partition: 1 }, offset: { kafka_offset: 4 } },
        ],
      });
      expectStatus(res, 200);
      expect(res.body).toEqual({ message: 'The offsets for this connector have been altered successfully' });
      expect(offsetsObject(await groupOffsets(group, topic))).toEqual({ 0: 2, 1: 4 });
      const get = await worker.api.get(`/connectors/${name}/offsets`);
      expect(get.body.offsets).toEqual(
        expect.arrayContaining([
          { partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: 2 } },
          { partition: { kafka_topic: topic, kafka_partition: 1 }, offset: { kafka_offset: 4 } },
        ]),
      );
    });

    await step('DELETE offsets while STOPPED: 200 message, consumer group deleted', async () => {
      const res = await worker.api.delete(`/connectors/${name}/offsets`);
      expectStatus(res, 200);
      expect(res.body).toEqual({ message: 'The offsets for this connector have been reset successfully' });
      expect(await listGroups()).not.toContain(group);
      expect(offsetsObject(await groupOffsets(group, topic))).toEqual({ 0: -1, 1: -1 });
      const get = await worker.api.get(`/connectors/${name}/offsets`);
      expectStatus(get, 200);
      expect(get.body).toEqual({ offsets: [] });
    });

    await step('PATCH offsets again (partition 0 → 3, partition 1 → end)', async () => {
      const res = await worker.api.patch(`/connectors/${name}/offsets`, {
        offsets: [
          { partition: { kafka_topic: topic, kafka_partition: 0 }, offset: { kafka_offset: 3 } },
          { partition: { kafka_topic: topic, kafka_partition: 1 }, offset: { kafka_offset: 5 } },
        ],
      });
      expectStatus(res, 200);
      expect(offsetsObject(await groupOffsets(group, topic))).toEqual({ 0: 3, 1: 5 });
    });

    await step('resume from STOPPED: consumption restarts at the altered offsets', async () => {
      expect(readRecorded(file)).toHaveLength(10);
      const res = await worker.api.put(`/connectors/${name}/resume`);
      expectStatus(res, 202);
      expect(res.text).toBe('');
      await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2 });
      await waitForRecorded(file, 12);
      await waitForGroupOffsets(group, topic, { 0: 5, 1: 5 });
      const replayed = readRecorded(file).slice(10);
      expect(replayed.map((r) => `${r.partition}@${r.offset}`).sort()).toEqual(['0@3', '0@4']);
    });

    await step('plain restart: 204 empty, the connector object restarts, tasks keep running', async () => {
      const starts = countEvents(events, 'connector-start');
      const res = await worker.api.post(`/connectors/${name}/restart`);
      expectStatus(res, 204);
      expect(res.text).toBe('');
      await waitFor(() => countEvents(events, 'connector-start') > starts, { timeoutMs: 15_000, description: 'connector restarted' });
      await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2 });
      // kafbat-ui sends both parameters explicitly false and expects the legacy answer
      const explicit = await worker.api.post(`/connectors/${name}/restart?includeTasks=false&onlyFailed=false`);
      expectStatus(explicit, 204);
      expect(explicit.text).toBe('');
      await waitFor(() => countEvents(events, 'connector-start') > starts + 1, { timeoutMs: 15_000, description: 'connector restarted again' });
      await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2 });
    });

    await step('restart?includeTasks=true: 202 with connector and every task RESTARTING', async () => {
      const taskStarts = countEvents(events, 'task-start');
      const res = await worker.api.post(`/connectors/${name}/restart?includeTasks=true`);
      expectStatus(res, 202);
      expect(res.body).toEqual({
        name,
        connector: { state: 'RESTARTING', worker_id: worker.workerId, version: '1.2.3' },
        tasks: [
          { id: 0, state: 'RESTARTING', worker_id: worker.workerId, version: '1.2.3' },
          { id: 1, state: 'RESTARTING', worker_id: worker.workerId, version: '1.2.3' },
        ],
        type: 'sink',
      });
      await waitFor(() => countEvents(events, 'task-start') >= taskStarts + 2, { timeoutMs: 20_000, description: 'both tasks restarted' });
      await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2 });
    });

    await step('restart?onlyFailed=true (nothing failed): 202, nothing RESTARTING, nothing restarted', async () => {
      const starts = countEvents(events, 'connector-start');
      const taskStarts = countEvents(events, 'task-start');
      for (const q of ['onlyFailed=true', 'includeTasks=true&onlyFailed=true']) {
        const res = await worker.api.post(`/connectors/${name}/restart?${q}`);
        expectStatus(res, 202);
        expect(res.body.name).toBe(name);
        expect(res.body.connector.state).toBe('RUNNING');
        expect(res.body.tasks.map((t: { state: string }) => t.state)).toEqual(['RUNNING', 'RUNNING']);
      }
      await sleep(2000);
      expect(countEvents(events, 'connector-start')).toBe(starts);
      expect(countEvents(events, 'task-start')).toBe(taskStarts);
    });

    await step('task restart: 204 empty; unknown task 404', async () => {
      const before = countEvents(events, 'task-start', 1);
      const res = await worker.api.post(`/connectors/${name}/tasks/1/restart`);
      expectStatus(res, 204);
      expect(res.text).toBe('');
      await waitFor(() => countEvents(events, 'task-start', 1) > before, { timeoutMs: 15_000, description: 'task 1 restarted' });
      await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2 });
      expectError(await worker.api.post(`/connectors/${name}/tasks/5/restart`), 404, `Unknown task: ${name}-5`);
    });

    await step('still consuming after the restarts', async () => {
      await produceJson(topic, 2, { start: 10, partitions: 2 });
      const recs = await waitForRecorded(file, 14);
      expect(ids(recs.slice(12))).toEqual([10, 11]);
    });

    await step('delete: 204, gone (404), tasks stopped, nothing consumed afterwards', async () => {
      const res = await worker.api.delete(`/connectors/${name}`);
      expectStatus(res, 204);
      expect(res.text).toBe('');
      expectError(await worker.api.get(`/connectors/${name}`), 404, `Connector ${name} not found`);
      await waitFor(async () => (await worker.api.get(`/connectors/${name}/status`)).status === 404, { timeoutMs: 15_000, description: 'status gone' });
      expectError(await worker.api.get(`/connectors/${name}/status`), 404, `No status found for connector ${name}`);
      expect((await worker.api.get('/connectors')).body).not.toContain(name);
      await waitFor(() => readEvents(events).slice(-1)[0]?.event.endsWith('-stop'), 10_000);
      await produceJson(topic, 2, { start: 12, partitions: 2 });
      await sleep(3000);
      expect(readRecorded(file)).toHaveLength(14);
    });
  }, 240_000);
});

describe('sink offsets: a null offset resets the partition', () => {
  it('PATCH with offset null removes the committed offset; on resume the partition is read from the start again', async () => {
    const name = uniqueName('nulloff');
    const group = `connect-${name}`;
    const topic = await createTopic(uniqueName('it-nulloff'), 1);
    const file = outputFile('nulloff');
    await produceJson(topic, 3);
    await createConnector(worker.api, name, recordingSinkConfig(topic, file));
    await waitForRecorded(file, 3);
    await waitForGroupOffsets(group, topic, { 0: 3 });
    expectStatus(await worker.api.put(`/connectors/${name}/stop`), 204);
    await waitForState(worker.api, name, 'STOPPED');

    const res = await worker.api.patch(`/connectors/${name}/offsets`, {
      offsets: [{ partition: { kafka_topic: topic, kafka_partition: 0 }, offset: null }],
    });
    expectStatus(res, 200);
    expect(res.body).toEqual({ message: 'The offsets for this connector have been altered successfully' });
    // Connect deletes the partition's committed offset (the consumer's auto.offset.reset then applies)
    expect(offsetsObject(await groupOffsets(group, topic))).toEqual({ 0: -1 });
    expect((await worker.api.get(`/connectors/${name}/offsets`)).body).toEqual({ offsets: [] });

    expectStatus(await worker.api.put(`/connectors/${name}/resume`), 202);
    const recs = await waitForRecorded(file, 6);
    expect(recs.map((r) => r.offset)).toEqual([0, 1, 2, 0, 1, 2]);
    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  }, 90_000);
});

describe('failing tasks and connectors', () => {
  it('a task whose put() throws becomes FAILED with a trace; restart retries it; a config fix brings it back to RUNNING', async () => {
    const name = uniqueName('failput');
    const topic = await createTopic(uniqueName('it-fail'), 1);
    const file = outputFile('failput');
    await produce(topic, [{ value: { id: 1, msg: 'fine' } }, { value: { id: 2, msg: 'please fail here' } }]);

    await step('FAILED with trace', async () => {
      await createConnector(worker.api, name, { 'connector.class': FAILING_SINK, topics: topic, 'output.file': file });
      const task = await waitForTaskState(worker.api, name, 0, 'FAILED');
      expect(typeof task.trace).toBe('string');
      expect(task.trace!.length).toBeGreaterThan(0);
      expect(task.trace).toContain('FailingSinkTask');
      expect(task.worker_id).toEqual(worker.workerId);
      const status = await worker.api.get(`/connectors/${name}/status`);
      expect(status.body.connector.state).toBe('RUNNING');
      expect(status.body.connector).not.toHaveProperty('trace');
      const ts = await worker.api.get(`/connectors/${name}/tasks/0/status`);
      expectStatus(ts, 200);
      expect(ts.body).toEqual({ id: 0, state: 'FAILED', worker_id: worker.workerId, trace: expect.stringContaining('FailingSinkTask'), version: '0.0.1' });
    });

    await step('restart?includeTasks=true&onlyFailed=true: only the failed task is RESTARTING; it fails again', async () => {
      const res = await worker.api.post(`/connectors/${name}/restart?includeTasks=true&onlyFailed=true`);
      expectStatus(res, 202);
      expect(res.body.connector.state).toBe('RUNNING');
      expect(res.body.tasks).toEqual([expect.objectContaining({ id: 0, state: 'RESTARTING' })]);
      // the bad record is still there (its offset was never committed): FAILED again
      await sleep(1000);
      const task = await waitForTaskState(worker.api, name, 0, 'FAILED');
      expect(task.trace).toContain('FailingSinkTask');
    });

    await step('PUT a config without the trigger, restart the task: RUNNING, both records delivered', async () => {
      const put = await worker.api.put(`/connectors/${name}/config`, {
        'connector.class': FAILING_SINK,
        topics: topic,
        'output.file': file,
        'fail.on.value': 'no-record-contains-this',
      });
      expectStatus(put, 200);
      const restart = await worker.api.post(`/connectors/${name}/tasks/0/restart`);
      expectStatus(restart, 204);
      const task = await waitForTaskState(worker.api, name, 0, 'RUNNING');
      expect(task).not.toHaveProperty('trace');
      const recs = await waitForRecorded(file, 2);
      expect(recs.map((r) => (r.value as { id: number }).id)).toEqual(expect.arrayContaining([1, 2]));
    });

    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  }, 120_000);

  it('a record the converter cannot read fails the task (errors.tolerance=none) with the converter error in the trace', async () => {
    const name = uniqueName('badjson');
    const topic = await createTopic(uniqueName('it-badjson'), 1);
    await produce(topic, [{ value: { id: 1 } }]);
    await createConnector(
      worker.api,
      name,
      recordingSinkConfig(topic, outputFile('badjson'), {
        'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
        'value.converter.schemas.enable': 'true',
      }),
    );
    const task = await waitForTaskState(worker.api, name, 0, 'FAILED');
    expect(task.trace).toContain('JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields');
    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  }, 60_000);

  it('a task that throws from start() is FAILED with a trace; after PATCH fixes the config a task restart runs it', async () => {
    const name = uniqueName('failstart');
    const topic = await createTopic(uniqueName('it-failstart'), 1);
    await createConnector(worker.api, name, { 'connector.class': FAILING_SINK, topics: topic, 'fail.on.start': true });
    const task = await waitForTaskState(worker.api, name, 0, 'FAILED');
    expect(task.trace).toContain('fail.on.start');
    expect((await worker.api.get(`/connectors/${name}/status`)).body.connector.state).toBe('RUNNING');

    expectStatus(await worker.api.patch(`/connectors/${name}/config`, { 'fail.on.start': 'false' }), 200);
    expectStatus(await worker.api.post(`/connectors/${name}/tasks/0/restart`), 204);
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  }, 90_000);

  it('a connector that throws from start() is FAILED with a trace; restart?onlyFailed restarts it; a config fix runs it', async () => {
    const name = uniqueName('failconn');
    const topic = await createTopic(uniqueName('it-failconn'), 1);
    await createConnector(worker.api, name, { 'connector.class': FAILING_SINK, topics: topic, 'connector.fail.on.start': 'true' });
    const status = await waitForState(worker.api, name, 'FAILED');
    expect(status.connector.trace).toContain('connector.fail.on.start');
    expect(status.connector.worker_id).toEqual(worker.workerId);

    const res = await worker.api.post(`/connectors/${name}/restart?onlyFailed=true`);
    expectStatus(res, 202);
    expect(res.body.connector).toEqual(expect.objectContaining({ state: 'RESTARTING', worker_id: worker.workerId }));
    const again = await waitForState(worker.api, name, 'FAILED');
    expect(again.connector.trace).toContain('connector.fail.on.start');

    const put = await worker.api.put(`/connectors/${name}/config`, { 'connector.class': FAILING_SINK, topics: topic });
    expectStatus(put, 200);
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1, timeoutMs: 30_000 });
    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  }, 90_000);
});

describe('deletes', () => {
  it('20 connectors deleted in parallel, one with a slow task shutdown: every DELETE answers 204 within 2 s, the tasks stop behind it', async () => {
    const topic = await createTopic(uniqueName('it-del'), 1);
    const names = Array.from({ length: 20 }, (_, i) => uniqueName(`del${i}`));
    const events = outputFile('del-events');
    await Promise.all(names.map((name, i) =>
      createConnector(worker.api, name, recordingSinkConfig(topic, outputFile('del'), { 'events.file': events, ...(i === 0 ? { 'stop.delay.ms': '4000' } : {}) }))));
    for (const name of names) await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1, timeoutMs: 60_000 });

    const answers = await Promise.all(names.map(async (name) => {
      const started = Date.now();
      const res = await worker.api.delete(`/connectors/${name}`);
      return { name, status: res.status, ms: Date.now() - started };
    }));
    for (const a of answers) expect({ name: a.name, status: a.status }).toEqual({ name: a.name, status: 204 });
    const slowest = Math.max(...answers.map((a) => a.ms));
    expect(slowest).toBeLessThan(2000);

    const listed = (await worker.api.get('/connectors')).body as string[];
    expect(listed.filter((n) => names.includes(n))).toEqual([]);
    for (const name of names) expectError(await worker.api.get(`/connectors/${name}/status`), 404, `No status found for connector ${name}`);
    // behind the answers, every task stops (the slow one 4 s later, inside task.shutdown.graceful.timeout.ms)
    await waitFor(async () => countEvents(events, 'task-stop') === 20, { timeoutMs: 60_000, intervalMs: 500, description: 'all 20 tasks stopped' });
  });
});
