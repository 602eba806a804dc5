/**
 * Worker configuration: invalid configs make `node dist/main.js` exit non-zero with a message
 * naming the offending key; CONNECT_* environment variables supply properties.
 */
import * as path from 'path';
import {
  closeKafka,
  createConnector,
  createTopic,
  defaultProperties,
  freePort,
  outputFile,
  produceJson,
  randomSuffix,
  recordingSinkConfig,
  runWorkerToExit,
  startWorker,
  stopAllWorkers,
  tmpDir,
  uniqueName,
  waitForRecorded,
  waitForState,
  writeProperties,
} from './helpers';

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

async function propsFile(change: (p: Record<string, string>) => void): Promise<string> {
  const p = defaultProperties(await freePort());
  change(p);
  const file = path.join(tmpDir('kappa-it-cfg-'), 'worker.properties');
  writeProperties(file, p);
  return file;
}

function expectFailureNaming(res: { code: number | null; stderr: string; stdout: string; timedOut: boolean }, key: string): void {
  const ctx = `exit=${res.code} timedOut=${res.timedOut}\nstderr: ${res.stderr.slice(0, 2000)}\nstdout: ${res.stdout.slice(0, 500)}`;
  if (res.timedOut) throw new Error(`worker kept running with an invalid config (${key}):\n${ctx}`);
  if (res.code === 0 || res.code === null) throw new Error(`worker exited with code ${res.code} for an invalid ${key}:\n${ctx}`);
  if (!res.stderr.includes(key)) throw new Error(`stderr does not name ${key}:\n${ctx}`);
}

describe('invalid worker configuration exits non-zero naming the key', () => {
  it.each(['group.id', 'config.storage.topic', 'offset.storage.topic', 'status.storage.topic', 'key.converter', 'value.converter'])(
    'missing required %s',
    async (key) => {
      const file = await propsFile((p) => delete p[key]);
      expectFailureNaming(await runWorkerToExit([file]), key);
    },
  );

  it.each([
    ['kappa.connector.tasks.max.limit', '0'],
    ['kappa.rest.request.max.bytes', 'lots'],
    ['kappa.model.http.allowed.hosts', 'http://models.example/'],
    ['kappa.model.artifact.max.bytes', '-1'],
  ])('%s=%s', async (key, value) => {
    const file = await propsFile((p) => (p[key] = value));
    const res = await runWorkerToExit([file]);
    expectFailureNaming(res, key);
    expect(res.code).toBe(2);
  });

  it('listeners=nonsense', async () => {
    const file = await propsFile((p) => (p.listeners = 'nonsense'));
    expectFailureNaming(await runWorkerToExit([file]), 'listeners');
  });

  it('a converter class that does not exist', async () => {
    const file = await propsFile((p) => (p['value.converter'] = 'com.acme.NoSuchConverter'));
    expectFailureNaming(await runWorkerToExit([file]), 'value.converter');
  });

  it('a non-numeric offset.flush.interval.ms', async () => {
    const file = await propsFile((p) => (p['offset.flush.interval.ms'] = 'soon'));
    expectFailureNaming(await runWorkerToExit([file]), 'offset.flush.interval.ms');
  });

  it('a properties file that does not exist', async () => {
    const missing = path.join(tmpDir('kappa-it-cfg-'), 'nope.properties');
    const res = await runWorkerToExit([missing]);
    expect(res.timedOut).toBe(false);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('nope.properties');
  });
});

describe('CONNECT_* environment variables', () => {
  it('supply properties missing from the file (CONNECT_GROUP_ID, CONNECT_VALUE_CONVERTER_SCHEMAS_ENABLE, CONNECT_REST_ADVERTISED_HOST_NAME)', async () => {
    const w = await startWorker({
      omit: ['group.id', 'value.converter.schemas.enable', 'rest.advertised.host.name'],
      env: {
        CONNECT_GROUP_ID: `kappa-it-env-${randomSuffix()}`,
        CONNECT_VALUE_CONVERTER_SCHEMAS_ENABLE: 'false',
        CONNECT_REST_ADVERTISED_HOST_NAME: 'localhost',
      },
    });
    expect((await w.api.get('/connectors')).body).toEqual([]);
    // schemaless JSON is readable only if value.converter.schemas.enable=false came from the environment
    const topic = await createTopic(uniqueName('it-env'), 1);
    await produceJson(topic, 2);
    const name = uniqueName('env');
    const file = outputFile('env');
    await createConnector(w.api, name, recordingSinkConfig(topic, file));
    const recs = await waitForRecorded(file, 2);
    expect(recs.map((r) => r.value)).toEqual([{ id: 0 }, { id: 1 }]);
    // worker_id uses the advertised host name from the environment
    const status = await waitForState(w.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    expect(status.connector.worker_id).toBe(`localhost:${w.port}`);
    expect(status.tasks[0].worker_id).toBe(`localhost:${w.port}`);
    await w.stop();
  }, 90_000);
});
