/**
 * Champion/challenger through a worker: a challenger set, removed and promoted through /models and
 * the CLI; shadow (the challenger's prediction in headers) and canary (a sticky share by key) with
 * labels joined by event id, accuracy per version in GET /models/<id>; the challenger surviving a
 * restart; a promotion under load that scores every record exactly once, versions changing once per
 * partition. The canary oracle is the split function itself (pure), checked record by record.
 */
import * as fs from 'fs';
import * as path from 'path';
import { goesToChallenger, splitPoint } from '../../src/ml/serving/challenger';
import {
  BOOTSTRAP_SERVERS, Worker, closeKafka, createConnector, createTopic, deleteTopics, endOffsets, expectError, produce, randomSuffix, readAll,
  runWorkerToExit, startWorker, stopAllWorkers, tmpDir, waitFor, waitForState, type InRecord, type OutRecord,
} from './helpers';
import { MODELS_DIR, fixture, modelBody, publish, scoringConnector } from './serving-support';

jest.setTimeout(240_000);
/** a CLI process starts a Node.js runtime: allow for a busy machine */
const CLI = { timeoutMs: 60_000 };

const v1 = fixture('iris-logreg-v1');
const v2 = fixture('iris-logreg-v2');
/** the true classes of the iris rows, in the fixtures' row order */
const classes = fs.readFileSync(path.join(MODELS_DIR, '..', 'datasets', 'iris.csv'), 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[4]));

function events(n: number, start: number, partitions: number, key: (i: number) => string): OutRecord[] {
  const out: OutRecord[] = [];
  for (let i = start; i < start + n; i++) {
    const row = v1.expected.rows[i % 150]!;
    out.push({ key: key(i), partition: i % partitions, value: { id: `e${i}`, seq: i, x1: row[0], x2: row[1], x3: row[2], x4: row[3] } });
  }
  return out;
}

function labels(from: number, to: number): OutRecord[] {
  const out: OutRecord[] = [];
  for (let i = from; i < to; i++) out.push({ key: `e${i}`, value: { id: `e${i}`, label: classes[i % 150] } });
  return out;
}

/** accuracy of a fixture's predictions on the events `seqs` */
function accuracy(f: typeof v1, seqs: number[]): number {
  return seqs.filter((i) => f.expected.labels![i % 150] === classes[i % 150]).length / seqs.length;
}

async function total(topic: string): Promise<number> {
  let n = 0;
  for (const v of (await endOffsets(topic)).values()) n += v;
  return n;
}

describe('champion/challenger through a worker', () => {
  let worker: Worker;
  const suffix = randomSuffix();
  const modelTopic = `kappa-it-models-${suffix}`;
  const topics: string[] = [modelTopic];
  const t = async (name: string, partitions = 1) => {
    const topic = await createTopic(`kappa-it-${name}-${suffix}`, partitions);
    topics.push(topic);
    return topic;
  };
  const model = async (id: string) => (await worker.api.get(`/models/${id}`)).body;
  const scored = async (output: string, n: number): Promise<InRecord[]> => {
    await waitFor(async () => (await total(output)) >= n, { timeoutMs: 150_000, description: `${n} scored records in ${output}` });
    return readAll(output, { expected: n, timeoutMs: 60_000 });
  };

  beforeAll(async () => {
    expect(classes).toHaveLength(150);
    worker = await startWorker({ props: { 'kappa.model.topic': modelTopic, 'kappa.model.cache.dir': tmpDir('kappa-it-cache-'), 'kappa.model.unload.grace.ms': '5000' } });
  });
  afterAll(async () => {
    await stopAllWorkers();
    await deleteTopics(topics);
    await closeKafka();
  });

  it('/models/<id>/challenger and CLI: errors, set, rollback; shadow with labels: accuracy per version; a refused challenger; the challenger survives a restart', async () => {
    const id = `shadow-${suffix}`;
    expectError(await worker.api.post(`/models/${id}/challenger`, { version: '2', mode: 'shadow' }), 404, `Model ${id} not found`);
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1'));
    expectError(await worker.api.post(`/models/${id}/challenger`, { version: '2', mode: 'canary', share: 2 }), 400, /^Invalid challenger: 'share' must be a number in \(0, 1\] for canary mode/);
    expectError(await worker.api.post(`/models/${id}/challenger`, { version: '2', mode: 'shadow' }), 404, `Model ${id} has no version 2; give its 'uri' (or 'artifact_base64') and 'input' to publish it as the challenger`);
    expectError(await worker.api.post(`/models/${id}/challenger`, { version: '1', mode: 'shadow' }), 400, /version 1 is the newest version of model .*, the one it serves/);
    expectError(await worker.api.delete(`/models/${id}/challenger`), 404, `Model ${id} has no challenger`);
    expectError(await worker.api.post(`/models/${id}/promote`, {}), 404, `Model ${id} has no challenger`);
    // the CLI sets a new version as the challenger only (its artifact given): version 1 keeps serving
    const set = await runWorkerToExit(['models', 'challenger', id, '--url', worker.url, '--version', '2', '--mode', 'canary', '--share', '0.5',
      '--uri', modelBody(id, '2', 'iris-logreg-v2').uri as string, '--features', 'x1,x2,x3,x4'], CLI);
    expect(set.stderr).toBe('');
    expect(JSON.parse(set.stdout)).toMatchObject({ id, version: '2', mode: 'canary', share: 0.5 });
    expect(await model(id)).toMatchObject({ latest_version: '1', challenger: { version: '2', mode: 'canary', share: 0.5 } });
    expect((await worker.api.delete(`/models/${id}/challenger`)).status).toBe(204);
    expect(await model(id)).toMatchObject({ latest_version: '1', challenger: null });
    // shadow: set by the CLI directly on the control topic
    const direct = await runWorkerToExit(['models', 'challenger', id, '--bootstrap-servers', BOOTSTRAP_SERVERS, '--topic', modelTopic, '--version', '2', '--mode', 'shadow',
      '--uri', modelBody(id, '2', 'iris-logreg-v2').uri as string, '--features', 'x1,x2,x3,x4'], CLI);
    expect(direct.stderr).toBe('');
    expect(JSON.parse(direct.stdout)).toMatchObject({ id, version: '2', mode: 'shadow', share: 1 });
    expect(await model(id)).toMatchObject({ latest_version: '1', challenger: { version: '2', mode: 'shadow', share: 1 } });

    const input = await t('shadow-in');
    const labelTopic = await t('shadow-labels');
    const output = await t('shadow-out');
    const name = `shadow-${suffix}`;
    await createConnector(worker.api, name, scoringConnector(`${input},${labelTopic}`, output, { 'model.id': id, 'evaluation.label.topics': labelTopic }));
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    await waitFor(async () => (await model(id)).challenger?.state === 'ready', { timeoutMs: 30_000, description: 'the challenger loaded' });
    const N = 450;
    await produce(input, events(N, 0, 1, (i) => `k${i}`));
    const out = await scored(output, N);
    for (const r of out) {
      const v = JSON.parse(r.value!);
      expect(v.prediction).toMatchObject({ model_version: '1', label: v1.expected.labels![v.seq % 150] });
      expect(r.headers['kappa.model.version']).toBe('1');
      expect(r.headers['kappa.challenger.version']).toBe('2');
      expect(JSON.parse(r.headers['kappa.challenger.prediction']!)).toMatchObject({ model_version: '2', label: v2.expected.labels![v.seq % 150] });
    }
    await produce(labelTopic, labels(0, N));
    await waitFor(async () => (await model(id)).evaluation?.['2']?.labels === N, { timeoutMs: 60_000, description: `${N} labels joined` });
    const seqs = Array.from({ length: N }, (_, i) => i);
    const evaluation = (await model(id)).evaluation;
    expect(evaluation).toEqual({
      1: { scored: N, labels: N, accuracy: expect.closeTo(accuracy(v1, seqs), 12) },
      2: { scored: N, labels: N, accuracy: expect.closeTo(accuracy(v2, seqs), 12) },
    });
    expect(evaluation['1'].accuracy).not.toBe(evaluation['2'].accuracy); // the fixtures' versions differ on 5 of 150 rows
    expect(await total(output)).toBe(N); // labels are not passed on

    // a challenger that cannot load (3 features, 4 mapped) is refused and shown; it cannot be promoted
    const bad = await worker.api.post(`/models/${id}/challenger`, { ...modelBody(id, '3', 'iris-mismatch-3f', { input: { features: ['x1', 'x2', 'x3', 'x4'] } }), mode: 'shadow' });
    expect(bad.status).toBe(201);
    await waitFor(async () => (await model(id)).challenger?.state === 'refused', { timeoutMs: 30_000, description: 'the bad challenger refused' });
    expect((await model(id)).challenger.error).toMatch(/refused/);
    expectError(await worker.api.post(`/models/${id}/promote`, {}), 409, /challenger version 3 was refused by this worker/);
    const again = await worker.api.post(`/models/${id}/challenger`, { ...modelBody(id, '2', 'iris-logreg-v2'), mode: 'shadow' });
    expect(again.body).toMatchObject({ id, version: '2', mode: 'shadow', share: 1 });

    // a graceful restart: the state is read back from the topic either way, and after a kill -9 the
    // task would wait for its consumer group to drop the dead member first (seconds of test time)
    await worker.stop();
    await worker.restart();
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1, timeoutMs: 60_000 });
    expect(await model(id)).toMatchObject({ latest_version: '1', challenger: { version: '2', mode: 'shadow' } });
    // the restarted task's catalog loads it again (scoring with it is what the first part showed)
    await waitFor(async () => (await model(id)).challenger?.state === 'ready', { timeoutMs: 30_000, description: 'the challenger loaded after the restart' });
  });

  it('canary: 10 % of 50,000 distinct keys scored by the challenger (sticky by key), its version in the output; accuracy per version', async () => {
    const id = `canary-${suffix}`;
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1'));
    await publish(worker.api, modelBody(id, '2', 'iris-logreg-v2'));
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1')); // republished: version 1 is the newest again (a rollback)
    expect((await worker.api.post(`/models/${id}/challenger`, { version: '2', mode: 'canary', share: 0.1 })).status).toBe(201);
    const P = 4;
    const N = 50_000;
    const labelled = 3000;
    const input = await t('canary-in', P);
    const labelTopic = await t('canary-labels');
    const output = await t('canary-out', P);
    const name = `canary-${suffix}`;
    await createConnector(worker.api, name, scoringConnector(`${input},${labelTopic}`, output, { 'model.id': id, 'evaluation.label.topics': labelTopic }));
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    await waitFor(async () => (await model(id)).challenger?.state === 'ready', { timeoutMs: 30_000, description: 'the challenger loaded' });
    const key = (i: number) => `user-${i}`;
    for (let s = 0; s < N; s += 25_000) await produce(input, events(25_000, s, P, key));
    const out = await scored(output, N);
    expect(out).toHaveLength(N);
    const byVersion: Record<string, number[]> = { 1: [], 2: [] };
    for (const r of out) {
      const v = JSON.parse(r.value!);
      const want = goesToChallenger(splitPoint(key(v.seq), 0, 0), 0.1) ? '2' : '1';
      expect(`${v.seq}:${v.prediction.model_version}:${r.headers['kappa.model.version']}`).toBe(`${v.seq}:${want}:${want}`);
      expect(v.prediction.label).toBe((want === '1' ? v1 : v2).expected.labels![v.seq % 150]);
      byVersion[want]!.push(v.seq);
    }
    expect(new Set(out.map((r) => JSON.parse(r.value!).seq)).size).toBe(N);
    const share = byVersion['2']!.length / N;
    expect(Math.abs(share - 0.1)).toBeLessThan(0.002); // within ±2 % of the setting
    await produce(labelTopic, labels(0, labelled));
    await waitFor(async () => {
      const e = (await model(id)).evaluation;
      return (e?.['1']?.labels ?? 0) + (e?.['2']?.labels ?? 0) === labelled;
    }, { timeoutMs: 60_000, description: `${labelled} labels joined` });
    const seen = (v: string) => byVersion[v]!.filter((i) => i < labelled);
    expect((await model(id)).evaluation).toEqual({
      1: { scored: N - byVersion['2']!.length, labels: seen('1').length, accuracy: expect.closeTo(accuracy(v1, seen('1')), 12) },
      2: { scored: byVersion['2']!.length, labels: seen('2').length, accuracy: expect.closeTo(accuracy(v2, seen('2')), 12) },
    });
  });

  it('promote under load: every record scored once, by version 1 and then 2, one change per partition, never back', async () => {
    const id = `promote-${suffix}`;
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1'));
    await publish(worker.api, modelBody(id, '2', 'iris-logreg-v2'));
    await publish(worker.api, modelBody(id, '1', 'iris-logreg-v1'));
    expect((await worker.api.post(`/models/${id}/challenger`, { version: '2', mode: 'shadow' })).status).toBe(201);
    const P = 4;
    const N = 8000;
    const input = await t('promote-in', P);
    const output = await t('promote-out', P);
    const name = `promote-${suffix}`;
    await createConnector(worker.api, name, scoringConnector(input, output, { 'model.id': id }));
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    await produce(input, events(N / 2, 0, P, (i) => `k${i}`));
    await waitFor(async () => (await total(output)) >= 1000, { timeoutMs: 60_000, description: 'first scored records' });
    const promoted = await runWorkerToExit(['models', 'promote', id, '--url', worker.url], CLI);
    expect(JSON.parse(promoted.stdout)).toEqual({ id, promoted_version: '2', previous_version: '1', mode: 'shadow' });
    await produce(input, events(N / 2, N / 2, P, (i) => `k${i}`));
    const out = await scored(output, N);
    expect(out).toHaveLength(N);
    expect(new Set(out.map((r) => JSON.parse(r.value!).seq)).size).toBe(N);
    for (let p = 0; p < P; p++) {
      const versions = out.filter((r) => r.partition === p).map((r) => {
        const v = JSON.parse(r.value!);
        expect(v.prediction.label).toBe((v.prediction.model_version === '1' ? v1 : v2).expected.labels![v.seq % 150]);
        // shadow before the promotion (when the challenger was loaded), none after it
        if (v.prediction.model_version === '2') expect(r.headers['kappa.challenger.version']).toBeUndefined();
        return v.prediction.model_version as string;
      });
      expect(versions.filter((v, i) => i > 0 && v !== versions[i - 1]).length).toBe(1);
      expect([versions[0], versions[versions.length - 1]]).toEqual(['1', '2']);
    }
    expect(await model(id)).toMatchObject({ latest_version: '2', serving_version: '2', challenger: null });
  });
});
