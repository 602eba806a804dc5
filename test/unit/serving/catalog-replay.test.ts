/**
 * Re-reading the model-control topic (after a broker hiccup the follower's consumer starts over
 * from offset 0; a rebalance or a second task does the same) must not change what is served, and
 * a model the catalog hands out as ready must never fail records for good because its sessions
 * were released under it (issue 10, bug 1).
 */
import { ArtifactStore } from '../../../src/ml/serving/artifacts';
import { LinearBackend, OnnxBackend, type ModelBackend, type ServingModel } from '../../../src/ml/serving/backends';
import { ModelCatalog, type Resolution } from '../../../src/ml/serving/catalog';
import { dataUri, encodeControl, parseControl, sha256Hex, type ModelControl } from '../../../src/ml/serving/control';
import { peekCatalog } from '../../../src/ml/serving/hub';
import { InferencePool, ServingError } from '../../../src/ml/serving/onnx';
import { Score } from '../../../src/ml/serving/score';
import type { SinkRecord } from '../../../src/api';
import { FakeKafka, context, rec } from '../online/learn-helpers';
import { meta, modelBytes, rowsOf, testPolicy } from './fixtures';

const iris = meta('iris-logreg-v1');
const N = iris.expected.rows.length;

function irisControl(version = '1'): ModelControl {
  const bytes = modelBytes('iris-logreg-v1');
  return parseControl({ id: 'm', version, format: 'onnx', uri: dataUri(bytes), sha256: sha256Hex(bytes), input: { features: ['x1', 'x2', 'x3', 'x4'] } });
}

function served(r: Resolution): ServingModel {
  if (r.kind !== 'model') throw new Error(`expected a model, got ${r.kind}: ${r.kind === 'error' ? r.error.message : r.reason}`);
  return r.model;
}

/** Lets the pool's worker messages and the catalog's promise chains run (timers are fake). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Waits (in real time: the pool's threads need it) until `cond` holds, at most 10 s. */
async function until(cond: () => Promise<boolean>): Promise<void> {
  const deadline = process.hrtime.bigint() + 10_000_000_000n;
  while (!(await cond()) && process.hrtime.bigint() < deadline) await settle(1);
}

describe('the model catalog under replays of the control topic', () => {
  const GRACE = 30_000;
  let pool: InferencePool;
  let catalog: ModelCatalog;
  let warnings: string[];
  beforeAll(() => {
    pool = new InferencePool({ threads: 1 });
  });
  afterAll(() => pool.close());
  beforeEach(() => {
    // a fake clock for the catalog's unload timers; the pool's thread messages stay real
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'hrtime'] });
    // one request per model call: no micro-batch timer in the way of the fake clock
    catalog = new ModelCatalog({ artifacts: new ArtifactStore({ cacheDir: null, policy: testPolicy() }), backends: { onnx: new OnnxBackend(pool, { maxBatchRecords: 1 }) }, unloadGraceMs: GRACE });
    warnings = [];
    catalog.onWarning((_id, m) => warnings.push(m));
  });
  afterEach(async () => {
    await catalog.close();
    jest.useRealTimers();
  });

  const score = async () => (await served(await catalog.resolve('m')).score(rowsOf(iris), N));

  it('a re-read of a history with a tombstone and a republish of the serving version keeps it loaded after the unload grace', async () => {
    // the compacted topic as a broker keeps it: v1, its tombstone (kept for delete.retention.ms), v1 again
    const history: [Buffer | null, number][] = [[encodeControl(irisControl()), 0], [null, 1], [encodeControl(irisControl()), 2]];
    for (const [value, offset] of history) catalog.apply('m', value, { partition: 0, offset });
    expect((await score()).labels).toEqual(iris.expected.labels);
    const loadedBefore = pool.loaded().length;

    // the follower's consumer came back after a broker hiccup and reads the topic again from offset 0
    for (const [value, offset] of history) catalog.apply('m', value, { partition: 0, offset });
    jest.advanceTimersByTime(2 * GRACE);
    await settle();

    expect((await score()).labels).toEqual(iris.expected.labels);
    expect(catalog.replayedRecords).toBe(3);
    expect(catalog.snapshot('m')[0]).toMatchObject({ serving: '1', versions: [{ version: '1', state: 'ready' }] });
    expect(pool.loaded().length).toBe(loadedBefore); // nothing was loaded again
    expect(warnings).toEqual([]);
  });

  it('records after the re-read are applied: a new version published later still swaps in', async () => {
    catalog.apply('m', encodeControl(irisControl('1')), { partition: 0, offset: 0 });
    await score();
    catalog.apply('m', encodeControl(irisControl('1')), { partition: 0, offset: 0 }); // re-read
    catalog.apply('m', encodeControl(irisControl('2')), { partition: 0, offset: 1 }); // new
    await until(async () => served(await catalog.resolve('m')).version === '2');
    expect(served(await catalog.resolve('m')).version).toBe('2');
    expect(catalog.replayedRecords).toBe(1);
  });

  it('retiring a version and publishing it again within the grace: the old load is released without touching the new one', async () => {
    catalog.publish(irisControl());
    await score();
    catalog.retire('m');
    catalog.publish(irisControl()); // a fresh history for the id: loaded again
    await score();
    jest.advanceTimersByTime(2 * GRACE); // the retired load is released now
    await settle();
    expect((await score()).labels).toEqual(iris.expected.labels);
    expect(warnings).toEqual([]);
  });
});

/** A linear backend whose first model loses its sessions after it was handed out. */
class LosingBackend implements ModelBackend {
  private readonly inner = new LinearBackend();
  loads = 0;
  async load(c: ModelControl, bytes: Uint8Array): Promise<ServingModel> {
    const model = await this.inner.load(c, bytes);
    if (this.loads++ > 0) return model;
    return { ...model, score: () => Promise.reject(new ServingError('MODEL_NOT_LOADED', `model ${c.id}@${c.version} is not loaded`)) };
  }
}

describe('a model that cannot score although the catalog says ready', () => {
  it('is reported to the tasks using it and loaded again', async () => {
    const backend = new LosingBackend();
    const catalog = new ModelCatalog({ artifacts: new ArtifactStore({ cacheDir: null, policy: testPolicy() }), backends: { linear: backend }, unloadGraceMs: 10 });
    const warnings: string[] = [];
    catalog.onWarning((_id, m) => warnings.push(m));
    const bytes = Buffer.from(JSON.stringify({ format: 'kappa-linear-model', version: 1, task: 'regression', classes: null, nFeatures: 1, weights: [[2]], intercepts: [0] }));
    catalog.publish(parseControl({ id: 'lin', version: '7', format: 'linear', uri: dataUri(bytes), sha256: sha256Hex(bytes), input: { features: ['a'] } }));
    const first = served(await catalog.resolve('lin'));
    const error = await first.score(new Float32Array([1]), 1).catch((e: Error) => e);
    catalog.recover(first, (error as Error).message);
    expect(warnings).toEqual(['model lin version 7 was ready but could not score (model lin@7 is not loaded); loading it again']);
    const second = served(await catalog.resolve('lin'));
    expect(second).not.toBe(first);
    expect((await second.score(new Float32Array([3]), 1)).values![0]).toBe(6);
    expect(catalog.snapshot('lin')[0]).toMatchObject({ serving: '7', versions: [{ state: 'ready' }] });
    await catalog.close();
  });
});

describe('Score with a model whose sessions were released under it', () => {
  const workerConfig = { 'kappa.model.pool.threads': '1', 'kappa.model.cache.dir': 'none', 'kappa.model.unload.grace.ms': '50' };
  const records = (): SinkRecord[] => iris.expected.rows.slice(0, 20).map((r, i) => rec({ x1: r[0], x2: r[1], x3: r[2], x4: r[3] }, i));

  it('scores every record of the batch and puts the inconsistency in the task status', async () => {
    const kafka = new FakeKafka();
    await kafka.send([{ topic: 'kappa-models', key: Buffer.from('m'), value: encodeControl(irisControl()) }]);
    const reported: string[] = [];
    const score = new Score();
    score.configure({ 'model.id': 'm' });
    await score.open({ ...context(kafka, 'scorer'), workerConfig, reportWarning: (m) => reported.push(m) });
    try {
      const first = await score.applyBatch(records());
      expect(first.every((r) => r !== null && !(r instanceof Error))).toBe(true);
      // release the serving model behind the catalog's back, as the replayed tombstone used to do
      await served(await peekCatalog('kappa-models')!.resolve('m')).close();
      const second = await score.applyBatch(records());
      expect(second.filter((r) => r instanceof Error)).toEqual([]);
      expect(second.map((r) => ((r as SinkRecord).value as { prediction: { label: number } }).prediction.label)).toEqual(iris.expected.labels!.slice(0, 20));
      expect(reported).toEqual([expect.stringMatching(/^model m version 1 was ready but could not score \(.*\); loading it again$/)]);
    } finally {
      await score.close();
    }
  });
});
