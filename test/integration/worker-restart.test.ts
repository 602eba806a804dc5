/**
 * A worker that goes away (SIGTERM, then SIGKILL) and is started again with the same properties
 * brings every connector back in its target state: RUNNING runs, PAUSED stays PAUSED, STOPPED
 * stays STOPPED.
 */
import {
  closeKafka,
  createConnector,
  createTopic,
  expectStatus,
  outputFile,
  produceJson,
  readRecorded,
  recordingSinkConfig,
  sleep,
  startWorker,
  stopAllWorkers,
  uniqueName,
  waitForRecorded,
  waitForState,
  Worker,
} from './helpers';

let worker: Worker;
let topic: string;
const running = uniqueName('keep-running');
const paused = uniqueName('keep-paused');
const stopped = uniqueName('keep-stopped');
const files = { running: outputFile('running'), paused: outputFile('paused'), stopped: outputFile('stopped') };
let produced = 0;

beforeAll(async () => {
  topic = await createTopic(uniqueName('it-restart'), 1);
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

async function expectTargetStates(): Promise<void> {
  const r = await waitForState(worker.api, running, 'RUNNING', { taskState: 'RUNNING', taskCount: 1, timeoutMs: 60_000 });
  expect(r.connector.worker_id).toBe(worker.workerId);
  await waitForState(worker.api, paused, 'PAUSED', { taskState: 'PAUSED', taskCount: 1, timeoutMs: 30_000 });
  const s = await waitForState(worker.api, stopped, 'STOPPED', { timeoutMs: 30_000 });
  expect(s.tasks).toEqual([]);
  expect((await worker.api.get('/connectors')).body.sort()).toEqual([running, paused, stopped].sort());
  const cfg = await worker.api.get(`/connectors/${running}/config`);
  expectStatus(cfg, 200);
  expect(cfg.body).toEqual({ ...recordingSinkConfig(topic, files.running), name: running });
}

/** New records reach the running connector only; its output grows by exactly the new ones. */
async function expectOnlyRunningConsumes(): Promise<void> {
  await produceJson(topic, 3, { start: produced });
  produced += 3;
  const recs = await waitForRecorded(files.running, produced, 45_000);
  const ids = recs.map((r) => (r.value as { id: number }).id);
  // every id produced so far was delivered (at-least-once: duplicates tolerated, gaps are not)
  for (let i = 0; i < produced; i++) expect(ids).toContain(i);
  await sleep(2000);
  expect(readRecorded(files.paused)).toEqual([]);
  expect(readRecorded(files.stopped)).toEqual([]);
}

it('sets up one RUNNING, one PAUSED and one STOPPED connector', async () => {
  await createConnector(worker.api, running, recordingSinkConfig(topic, files.running));
  await createConnector(worker.api, paused, recordingSinkConfig(topic, files.paused), 'PAUSED');
  await createConnector(worker.api, stopped, recordingSinkConfig(topic, files.stopped));
  await waitForState(worker.api, stopped, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
  expectStatus(await worker.api.put(`/connectors/${stopped}/stop`), 204);
  await expectTargetStates();
  // the topic was empty until now, so the stopped connector has consumed nothing
  await expectOnlyRunningConsumes();
});

it('after SIGTERM and a restart, every connector is back in its target state', async () => {
  const code = await worker.stop();
  expect(code).toBe(0);
  await expect(fetch(`${worker.url}/health`)).rejects.toThrow();
  await worker.restart();
  await expectTargetStates();
  await expectOnlyRunningConsumes();
}, 150_000);

it('after SIGKILL and a restart, every connector is back in its target state', async () => {
  await worker.kill();
  await worker.restart();
  await expectTargetStates();
  await expectOnlyRunningConsumes();
}, 180_000);
