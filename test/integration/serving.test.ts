/**
 * Model serving on a real broker through a worker: the /models resource, hot swap under load,
 * routing by field, one model shared by two connectors, retirement and exp_date, faults (sha256
 * mismatch, unreachable URI, mismatched inputs, missing feature) and kill -9 + restart.
 */
import {
  Worker, closeKafka, createConnector, createTopic, deleteTopics, endOffsets, expectError, getStatus, produce, randomSuffix, readAll,
  runWorkerToExit, sleep, startWorker, stopAllWorkers, tmpDir, waitFor, waitForState, type OutRecord,
} from './helpers';
import { fixture, modelBody, onnxUri, publish, scoringConnector } from './serving-support';

jest.setTimeout(300_000);

const iris = fixture('iris-logreg-v1');
const banknote = fixture('banknote-logreg');

function irisRecords(n: number, start = 0, partitions = 1, extra: (i: number) => Record<string, unknown> = () => ({})): OutRecord[] {
  const out: OutRecord[] = [];
  for (let i = start; i < start + n; i++) {
    const row = iris.expected.rows[i % 150]!;
    out.push({ key: `k${i}`, partition: i % partitions, value: { seq: i, x1: row[0], x2: row[1], x3: row[2], x4: row[3], ...extra(i) } });
  }
  return out;
}

async function total(topic: string): Promise<number> {
  let n = 0;
  for (const v of (await endOffsets(topic)).values()) n += v;
  return n;
}

describe('model serving through a worker', () => {
  let worker: Worker;
  const suffix = randomSuffix();
  const modelTopic = `kappa-it-models-${suffix}`;
  const topics: string[] = [modelTopic];
  const t = async (name: string, partitions = 1) => {
    const topic = await createTopic(`kappa-it-${name}-${suffix}`, partitions);
    topics.push(topic);
    return topic;
  };

  beforeAll(async () => {
    worker = await startWorker({ props: {
      'kappa.model.topic': modelTopic, 'kappa.model.cache.dir': tmpDir('kappa-it-cache-'), 'kappa.model.unload.grace.ms': '5000',
      'kappa.model.http.allowed.hosts': '127.0.0.1:9', // an allowed host that does not answer (the faults test)
    } });
  });
  afterAll(async () => {
    await stopAllWorkers();
    await deleteTopics(topics);
    await closeKafka();
  });

  it('/models: publish, list with versions and connectors, get, validation errors, retire', async () => {
    const id = `rest-${suffix}`;
    expectError(await worker.api.get(`/models/${id}`), 404, `Model ${id} not found`);
    expectError(await worker.api.post('/models', { id, version: '1' }), 400, /Invalid model-control message: 'uri' is required/);
    expectError(await worker.api.post('/models', { ...modelBody(id, '1', 'iris-logreg-v1'), format: 'pmml' }), 400, /'format' must be one of onnx, linear, remote/);
    // sha256 omitted: computed by the worker from the artifact
    const body = modelBody(id, '1', 'iris-logreg-v1', { exp_date: '2999-01-01', more_info: { owner: 'ml-team' } });
    const sha = body.sha256;
    delete body.sha256;
    const res = await worker.api.post(`/models/${id}/versions`, body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id, version: '1', sha256: sha, format: 'onnx', exp_date: '2999-01-01', more_info: { owner: 'ml-team' } });
    expectError(await worker.api.post('/models', { ...modelBody(id, '1', 'iris-logreg-v2') }), 409, /already exists with sha256/);
    await publish(worker.api, modelBody(id, '2', 'iris-logreg-v2'));
    const input = await t('rest-in');
    const output = await t('rest-out');
    await createConnector(worker.api, `rest-conn-${suffix}`, scoringConnector(input, output, { 'model.id': id }));
    const one = await worker.api.get(`/models/${id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id, latest_version: '2', connectors: [`rest-conn-${suffix}`] });
    expect(one.body.versions.map((v: { version: string }) => v.version)).toEqual(['1', '2']);
    const list = await worker.api.get('/models');
    expect(list.body.find((m: { id: string }) => m.id === id)).toMatchObject({ latest_version: '2' });
    expect((await worker.api.delete(`/models/${id}`)).status).toBe(204);
    expectError(await worker.api.get(`/models/${id}`), 404);
    expectError(await worker.api.delete(`/models/${id}`), 404);
    await worker.api.delete(`/connectors/rest-conn-${suffix}`);
  });

  it('CLI: models publish/get/list/retire through the REST API', async () => {
    const id = `cli-${suffix}`;
    const pub = await runWorkerToExit(['models', 'publish', '--url', worker.url, '--id', id, '--version', '5', '--uri', onnxUri('iris-logreg-v1'), '--features', 'x1,x2,x3,x4', '--info', 'owner=cli']);
    expect(pub.code).toBe(0);
    expect(JSON.parse(pub.stdout)).toMatchObject({ id, version: '5', more_info: { owner: 'cli' } });
    const get = await runWorkerToExit(['models', 'get', id, '--url', worker.url]);
    expect(JSON.parse(get.stdout)).toMatchObject({ id, latest_version: '5' });
    const list = await runWorkerToExit(['models', 'list', '--url', worker.url]);
    expect(JSON.parse(list.stdout).some((m: { id: string }) => m.id === id)).toBe(true);
    expect((await runWorkerToExit(['models', 'retire', id, '--url', worker.url])).code).toBe(0);
    const gone = await runWorkerToExit(['models', 'get', id, '--url', worker.url]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`error: HTTP 404: Model ${id} not found\n`);
  });

  it('hot swap under load: 50,000 records, a new version mid-stream, versions change once per partition, none lost or duplicated', async () => {
    const id = `swap-${suffix}`;
    const P = 4;
    const N = 50_000;
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1'));
    const input = await t('swap-in', P);
    const output = await t('swap-out', P);
    await createConnector(worker.api, `swap-${suffix}`, scoringConnector(input, output, { 'model.id': id }));
    await waitForState(worker.api, `swap-${suffix}`, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    const half = N / 2;
    for (let s = 0; s < half; s += 5000) await produce(input, irisRecords(5000, s, P));
    await waitFor(async () => (await total(output)) >= 5000, { timeoutMs: 120_000, description: 'first scored records' });
    await publish(worker.api, modelBody(id, '2', 'iris-logreg-v2'));
    for (let s = half; s < N; s += 5000) await produce(input, irisRecords(5000, s, P));
    try {
      await waitFor(async () => (await total(output)) >= N, { timeoutMs: 240_000, description: `${N} scored records` });
    } catch (e) {
      const status = await getStatus(worker.api, `swap-${suffix}`);
      throw new Error(`${(e as Error).message}; have ${await total(output)}; status ${JSON.stringify(status.body)}; logs: ${worker.logs().slice(-3000)}`);
    }
    const out = await readAll(output, { expected: N, timeoutMs: 120_000 });
    expect(out).toHaveLength(N);
    const seen = new Set<number>();
    const v2 = fixture('iris-logreg-v2');
    for (let p = 0; p < P; p++) {
      const versions = out.filter((r) => r.partition === p).map((r) => {
        const v = JSON.parse(r.value!);
        seen.add(v.seq);
        expect(r.headers['kappa.model.version']).toBe(v.prediction.model_version);
        const want = v.prediction.model_version === '1' ? iris : v2;
        expect(Math.abs(v.prediction.probabilities['1'] - want.expected.probabilities![v.seq % 150]![0]!)).toBeLessThan(1e-5);
        return v.prediction.model_version as string;
      });
      const changes = versions.filter((v, i) => i > 0 && v !== versions[i - 1]).length;
      expect(changes).toBe(1);
      expect(versions[0]).toBe('1');
      expect(versions[versions.length - 1]).toBe('2');
    }
    expect(seen.size).toBe(N);
    // How long the stream pauses around a swap is a timing goal: `make bench` measures it (serving-swap).
  });

  it('routes records to two models by a field, and one model serves two connectors', async () => {
    const a = `route-iris-${suffix}`;
    const b = `route-bank-${suffix}`;
    await publish(worker.api, modelBody(a, '1', 'iris-logreg-v1'));
    await publish(worker.api, { ...modelBody(b, '3', 'banknote-logreg'), input: { features: ['x1', 'x2', 'x3', 'x4'], fields: {} } });
    const input = await t('route-in');
    const output = await t('route-out');
    const records: OutRecord[] = [];
    for (let i = 0; i < 100; i++) {
      const useIris = i % 2 === 0;
      const row = useIris ? iris.expected.rows[i]! : banknote.expected.rows[i]!;
      records.push({ key: `k${i}`, value: { seq: i, model: useIris ? a : b, x1: row[0], x2: row[1], x3: row[2], x4: row[3] } });
    }
    await produce(input, records);
    await createConnector(worker.api, `route-${suffix}`, scoringConnector(input, output, { 'model.id.field': 'model' }));
    const out = await readAll(output, { expected: 100, timeoutMs: 60_000 });
    expect(out).toHaveLength(100);
    for (const r of out) {
      const v = JSON.parse(r.value!);
      expect(v.prediction.model_id).toBe(v.model);
      const f = v.model === a ? iris : banknote;
      expect(v.prediction.label).toBe(f.expected.labels![v.seq]);
      expect(r.headers['kappa.model.version']).toBe(v.model === a ? '1' : '3');
    }
    // a second connector on the same model id (the first one's model a)
    const input2 = await t('shared-in');
    const output2 = await t('shared-out');
    await produce(input2, irisRecords(150));
    await createConnector(worker.api, `shared-${suffix}`, scoringConnector(input2, output2, { 'model.id': a }));
    const out2 = await readAll(output2, { expected: 150, timeoutMs: 60_000 });
    expect(out2.map((r) => JSON.parse(r.value!).prediction.label)).toEqual(iris.expected.labels);
    const m = await worker.api.get(`/models/${a}`);
    expect(m.body.connectors).toEqual([`route-${suffix}`, `shared-${suffix}`].sort());
  });

  it('retire (tombstone) and exp_date behave as configured', async () => {
    const id = `retire-${suffix}`;
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1'));
    await publish(worker.api, modelBody(id, '2', 'iris-logreg-v2', { exp_date: '2001-01-01' }));
    const input = await t('exp-in');
    const fallbackOut = await t('exp-fallback-out');
    const passOut = await t('exp-pass-out');
    const dlq = await t('exp-dlq');
    await createConnector(worker.api, `exp-fb-${suffix}`, scoringConnector(input, fallbackOut, { 'model.id': id, 'model.missing.policy': 'passthrough' }));
    await createConnector(worker.api, `exp-err-${suffix}`, scoringConnector(input, passOut, { 'model.id': id, 'model.expired.policy': 'error' }, {
      'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq, 'errors.deadletterqueue.topic.replication.factor': '1', 'errors.deadletterqueue.context.headers.enable': 'true',
    }));
    await produce(input, irisRecords(10));
    const fb = await readAll(fallbackOut, { expected: 10, timeoutMs: 60_000 });
    expect(fb.map((r) => r.headers['kappa.model.version'])).toEqual(Array(10).fill('1')); // v2 expired: fallback to v1
    const dead = await readAll(dlq, { expected: 10, timeoutMs: 60_000 });
    expect(dead).toHaveLength(10);
    expect(dead[0]!.headers['__connect.errors.exception.message']).toMatch(/model retire-\w+ version 2 expired at 2001-01-01/);
    expect(await total(passOut)).toBe(0);
    // retire: the passthrough connector forwards records unscored
    expect((await worker.api.delete(`/models/${id}`)).status).toBe(204);
    await new Promise((r) => setTimeout(r, 1500));
    await produce(input, irisRecords(5, 10));
    const after = await readAll(fallbackOut, { expected: 15, timeoutMs: 60_000 });
    const last = after.filter((r) => JSON.parse(r.value!).seq >= 10);
    expect(last).toHaveLength(5);
    for (const r of last) {
      expect(JSON.parse(r.value!).prediction).toBeUndefined();
      expect(r.headers['kappa.model.id']).toBeUndefined();
    }
    const dead2 = await readAll(dlq, { expected: 15, timeoutMs: 60_000 });
    expect(dead2[14]!.headers['__connect.errors.exception.message']).toMatch(/model retire-\w+ is retired/);
  });

  it('faults: sha256 mismatch, unreachable URI, mismatched inputs are refused and reported; a missing feature goes to the DLQ; others keep running', async () => {
    const id = `fault-${suffix}`;
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1'));
    const input = await t('fault-in');
    const output = await t('fault-out');
    const dlq = await t('fault-dlq');
    const name = `fault-${suffix}`;
    await createConnector(worker.api, name, scoringConnector(input, output, { 'model.id': id }, {
      'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq, 'errors.deadletterqueue.topic.replication.factor': '1', 'errors.deadletterqueue.context.headers.enable': 'true',
    }));
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    const trace = async (re: RegExp) => waitFor(async () => {
      const s = await getStatus(worker.api, name);
      const task = s.body.tasks[0];
      return task && task.state === 'RUNNING' && re.test(task.trace ?? '') ? task.trace : undefined;
    }, { timeoutMs: 30_000, description: `task trace matching ${re}` });
    await publish(worker.api, { ...modelBody(id, '2', 'iris-logreg-v2'), sha256: 'ab'.repeat(32) });
    await trace(/model fault-\w+ version 2 refused: artifact .* has sha256 [0-9a-f]{64}, but the model-control message says abab.*; version 1 keeps serving/);
    await publish(worker.api, { ...modelBody(id, '3', 'iris-logreg-v2'), uri: 'http://127.0.0.1:9/model.onnx', sha256: 'cd'.repeat(32) });
    await trace(/model fault-\w+ version 3 refused: cannot fetch artifact http:\/\/127.0.0.1:9\/model.onnx/);
    await publish(worker.api, modelBody(id, '4', 'iris-mismatch-3f', { input: { features: ['x1', 'x2', 'x3', 'x4'] } }));
    await trace(/model fault-\w+ version 4 refused: .*expects 3 features/);
    expect(worker.logs()).toMatch(/version 4 refused/);
    // records: still scored by version 1; one without x3 goes to the DLQ
    await produce(input, [...irisRecords(5), { key: 'bad', value: { seq: 99, x1: 1, x2: 2, x4: 4 } }, ...irisRecords(5, 5)]);
    const out = await readAll(output, { expected: 10, timeoutMs: 60_000 });
    expect(out.map((r) => r.headers['kappa.model.version'])).toEqual(Array(10).fill('1'));
    const dead = await readAll(dlq, { expected: 1, timeoutMs: 60_000 });
    expect(dead[0]!.key).toBe('bad');
    expect(dead[0]!.headers['__connect.errors.exception.message']).toMatch(/is missing feature 'x3' for model fault-\w+ version 1/);
    const status = await getStatus(worker.api, name);
    expect(status.body.tasks[0]!.state).toBe('RUNNING');
    const model = await worker.api.get(`/models/${id}`);
    expect(model.body.versions.map((v: { version: string; state?: string }) => `${v.version}:${v.state}`)).toEqual(['1:ready', '2:refused', '3:refused', '4:refused']);
  });

  it('retiring a version and publishing it again: once the retired load is released (unload grace), the new one keeps scoring', async () => {
    const id = `again-${suffix}`;
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1'));
    const input = await t('again-in');
    const output = await t('again-out');
    const name = `again-${suffix}`;
    await createConnector(worker.api, name, scoringConnector(input, output, { 'model.id': id }, { 'errors.tolerance': 'none' }));
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    await produce(input, irisRecords(5));
    await readAll(output, { expected: 5, timeoutMs: 60_000 });
    expect((await worker.api.delete(`/models/${id}`)).status).toBe(204);
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1')); // same version, a fresh history: loaded again
    await waitFor(async () => (await worker.api.get(`/models/${id}`)).body?.versions?.[0]?.state === 'ready', { timeoutMs: 30_000, description: 'version 1 ready again' });
    await sleep(7000); // the retired load is released after kappa.model.unload.grace.ms (5 s)
    await produce(input, irisRecords(5, 5));
    const out = await readAll(output, { expected: 10, timeoutMs: 60_000 });
    expect(out.map((r) => JSON.parse(r.value!).seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const task = (await getStatus(worker.api, name)).body.tasks[0]!;
    expect(task.state).toBe('RUNNING'); // tolerance none: a record failing for 'not loaded' would have failed it
    expect(task.trace).toBeUndefined(); // and the catalog never had to recover a lost model
  });

  it('after kill -9 and restart, the catalog is rebuilt from the topic and scoring resumes with the same versions', async () => {
    const id = `restart-${suffix}`;
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1'));
    await publish(worker.api, modelBody(id, '2', 'iris-logreg-v2'));
    await publish(worker.api, modelBody(id, '3', 'iris-mismatch-3f', { input: { features: ['x1', 'x2', 'x3', 'x4'] } }));
    const input = await t('restart-in');
    const output = await t('restart-out');
    const name = `restart-${suffix}`;
    await createConnector(worker.api, name, scoringConnector(input, output, { 'model.id': id }));
    await produce(input, irisRecords(20));
    const before = await readAll(output, { expected: 20, timeoutMs: 60_000 });
    expect(new Set(before.map((r) => r.headers['kappa.model.version']))).toEqual(new Set(['2']));
    await worker.kill();
    await worker.restart();
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1, timeoutMs: 60_000 });
    await produce(input, irisRecords(20, 20));
    const all = await readAll(output, { expected: 40, timeoutMs: 90_000 });
    const seqs = all.map((r) => JSON.parse(r.value!).seq as number);
    for (let i = 0; i < 40; i++) expect(seqs).toContain(i); // nothing lost (at-least-once: replays allowed)
    expect(new Set(all.map((r) => r.headers['kappa.model.version']))).toEqual(new Set(['2']));
    const m = await worker.api.get(`/models/${id}`);
    expect(m.body).toMatchObject({ latest_version: '3', serving_version: '2' });
  });
});
