import { BatchScorer } from '../../../src/ml/serving/onnx/batch-scorer';
import { InferencePool } from '../../../src/ml/serving/onnx/pool';
import { Prediction, ServingError } from '../../../src/ml/serving/onnx/types';
import { meta, modelBytes, rowsOf } from './fixtures';

const iris = meta('iris-logreg-v1');
const irisV2 = meta('iris-logreg-v2');
const IRIS_V1 = { modelId: 'iris-logreg', version: 1 };
const IRIS_V2 = { modelId: 'iris-logreg', version: 2 };
const N = iris.expected.rows.length;

function maxAbsDiff(p: Float32Array, expected: number[][]): number {
  let d = 0;
  expected.forEach((row, i) => row.forEach((v, j) => (d = Math.max(d, Math.abs(p[i * row.length + j]! - v)))));
  return d;
}

describe('InferencePool', () => {
  let pool: InferencePool;
  beforeAll(async () => {
    pool = new InferencePool({ threads: 1 });
    await pool.load(IRIS_V1, modelBytes('iris-logreg-v1'));
  });
  afterAll(() => pool.close());

  it('refuses rows that do not fit the mismatched 3-feature model, with a clear error', async () => {
    const key = { modelId: 'iris-mismatch-3f', version: 1 };
    const info = await pool.load(key, modelBytes('iris-mismatch-3f'));
    expect(info.nFeatures).toBe(3);
    const run = pool.run(key, rowsOf(iris), N, 4);
    await expect(run).rejects.toBeInstanceOf(ServingError);
    await expect(run).rejects.toMatchObject({
      code: 'MODEL_INPUT_MISMATCH',
      message: "model iris-mismatch-3f@1 expects 3 features per row on input 'float_input' (float32 [N, 3]), but the request has 4",
    });
    // ... and is refused at load time when the caller says how many features it maps.
    await expect(pool.load({ modelId: 'iris-mismatch-3f', version: 2 }, modelBytes('iris-mismatch-3f'), { expectedFeatures: 4 })).rejects.toMatchObject({
      code: 'MODEL_INPUT_MISMATCH',
      message: expect.stringContaining('expects 3 features per row') as unknown as string,
    });
    expect(pool.info({ modelId: 'iris-mismatch-3f', version: 2 })).toBeUndefined();
    // It does serve rows of 3 features.
    const ok = await pool.run(key, rowsOf(meta('iris-mismatch-3f')), N, 3);
    expect(ok.labels).toEqual(meta('iris-mismatch-3f').expected.labels);
    await pool.unload(key);
  });

  it('reports bad requests, unknown models and invalid model bytes', async () => {
    await expect(pool.run(IRIS_V1, new Float32Array(7), 2, 4)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(pool.run({ modelId: 'nope', version: 1 }, new Float32Array(4), 1, 4)).rejects.toMatchObject({ code: 'MODEL_NOT_LOADED' });
    await expect(pool.load({ modelId: 'junk', version: 1 }, new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    await expect(pool.load({ modelId: 'junk', version: 1 }, new Uint8Array(0))).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    expect(pool.info({ modelId: 'junk', version: 1 })).toBeUndefined();
  });

  it('scores zero rows without calling the model', async () => {
    const p = await pool.run(IRIS_V1, new Float32Array(0), 0, 4);
    expect(p).toMatchObject({ nRows: 0, labels: [], nClasses: 3 });
    expect(p.probabilities!.length).toBe(0);
  });

  it('serves two versions side by side and swaps without interruption', async () => {
    const v2 = await pool.load(IRIS_V2, modelBytes('iris-logreg-v2'));
    expect(v2.key).toEqual(IRIS_V2);
    expect(pool.loaded().map((i) => i.key)).toEqual([IRIS_V1, IRIS_V2]);
    const [a, b] = await Promise.all([pool.run(IRIS_V1, rowsOf(iris), N, 4), pool.run(IRIS_V2, rowsOf(irisV2), N, 4)]);
    expect(maxAbsDiff(a.probabilities!, iris.expected.probabilities!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(b.probabilities!, irisV2.expected.probabilities!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(a.probabilities!, irisV2.expected.probabilities!)).toBeGreaterThan(0.05);
    // retire v2 while a run on it is in flight: the run completes, later runs are refused
    const inFlight = pool.run(IRIS_V2, rowsOf(irisV2), N, 4);
    expect(await pool.unload(IRIS_V2)).toBe(true);
    await expect(inFlight).resolves.toMatchObject({ nRows: N });
    await expect(pool.run(IRIS_V2, rowsOf(irisV2), N, 4)).rejects.toMatchObject({ code: 'MODEL_NOT_LOADED' });
    expect(await pool.unload(IRIS_V2)).toBe(false);
  });

  it('moves the input buffer when asked to, and copies only the view otherwise', async () => {
    const rows = rowsOf(iris);
    await pool.run(IRIS_V1, rows, N, 4, { transfer: true });
    expect(rows.byteLength).toBe(0); // detached: ownership went to the worker
    const big = rowsOf(iris);
    const view = big.subarray(4, 12); // rows 1..2
    const p = await pool.run(IRIS_V1, view, 2, 4, { transfer: true });
    expect(big.byteLength).toBe(N * 16); // a partial view is copied, never detached
    expect(p.labels).toEqual(iris.expected.labels!.slice(1, 3));
  });

  it('BatchScorer: many small concurrent requests become few model calls with the same results', async () => {
    const scorer = new BatchScorer(pool, IRIS_V1, 4, { maxBatchRecords: 64, maxWaitMs: 5 });
    const all = rowsOf(iris);
    const requests: Promise<Prediction>[] = [];
    const starts: number[] = [];
    for (let i = 0; i < N; ) {
      const n = Math.min(1 + (i % 3), N - i); // 1, 2 or 3 rows per request
      starts.push(i);
      requests.push(scorer.score(all.slice(i * 4, (i + n) * 4), n));
      i += n;
    }
    const results = await Promise.all(requests);
    const labels = results.flatMap((r) => r.labels as number[]);
    expect(labels).toEqual(iris.expected.labels);
    const probs = new Float32Array(N * 3);
    results.forEach((r, j) => probs.set(r.probabilities!, starts[j]! * 3));
    expect(maxAbsDiff(probs, iris.expected.probabilities!)).toBeLessThan(1e-5);
    expect(scorer.stats.requests).toBe(requests.length);
    expect(scorer.stats.batches).toBeLessThanOrEqual(Math.ceil(N / 64) + 1);
    await expect(scorer.score(new Float32Array(3), 1)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await scorer.close();
    await expect(scorer.score(all.slice(0, 4), 1)).rejects.toMatchObject({ code: 'BATCHER_CLOSED' });
  });

  it('BatchScorer: a failing model call rejects every request of that batch', async () => {
    const key = { modelId: 'short-lived', version: 1 };
    await pool.load(key, modelBytes('iris-logreg-v1'));
    // both requests wait in one batch (a lone caller's request would go at once)
    const scorer = new BatchScorer(pool, key, 4, { maxBatchRecords: 100, maxWaitMs: 20, waitOnlyWhenShared: false });
    const a = scorer.score(rowsOf(iris).slice(0, 4), 1);
    const b = scorer.score(rowsOf(iris).slice(4, 12), 2);
    await pool.unload(key); // before the batch's timer fires
    await expect(a).rejects.toMatchObject({ code: 'MODEL_NOT_LOADED' });
    await expect(b).rejects.toMatchObject({ code: 'MODEL_NOT_LOADED' });
    await scorer.close();
  });

  it('replaces a crashed worker and loads its models again', async () => {
    const slots = (pool as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
    const pending = pool.run(IRIS_V1, rowsOf(iris), N, 4);
    await slots[0]!.worker.terminate();
    // The run may have finished before the thread died; if not, it fails with WORKER_FAILED.
    const [settled] = await Promise.allSettled([pending]);
    if (settled!.status === 'rejected') expect(settled!.reason).toMatchObject({ code: 'WORKER_FAILED' });
    const p = await pool.run(IRIS_V1, rowsOf(iris), N, 4);
    expect(p.labels).toEqual(iris.expected.labels);
  });
});

describe('InferencePool.close', () => {
  it('drains in-flight runs, is idempotent, and refuses work afterwards', async () => {
    const pool = new InferencePool({ threads: 2 });
    await pool.load(IRIS_V1, modelBytes('iris-logreg-v1'));
    const inFlight = pool.run(IRIS_V1, rowsOf(iris), N, 4);
    const c1 = pool.close();
    const c2 = pool.close();
    expect(c2).toBe(c1);
    await expect(inFlight).resolves.toMatchObject({ nRows: N });
    await c1;
    await pool.close();
    expect(pool.closed).toBe(true);
    await expect(pool.run(IRIS_V1, rowsOf(iris), N, 4)).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    await expect(pool.load(IRIS_V1, modelBytes('iris-logreg-v1'))).rejects.toMatchObject({ code: 'POOL_CLOSED' });
  });

  it('closes a pool that never loaded anything', async () => {
    const pool = new InferencePool({ threads: 1 });
    await pool.close();
  });
});
