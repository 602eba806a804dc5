import { MicroBatcher, SHARED_MEMORY_MS } from '../../../src/ml/serving/onnx/micro-batcher';
import { ServingError } from '../../../src/ml/serving/onnx/types';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('MicroBatcher', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('dispatches when the batch reaches maxBatchSize, without waiting for the timer', async () => {
    const calls: number[][] = [];
    const b = new MicroBatcher<number, number>({ maxBatchSize: 3, maxWaitMs: 1000, run: async (xs) => (calls.push(xs), xs.map((x) => x * 10)) });
    const ps = [1, 2, 3].map((x) => b.submit(x));
    await expect(Promise.all(ps)).resolves.toEqual([10, 20, 30]);
    expect(calls).toEqual([[1, 2, 3]]);
    expect(b.stats).toMatchObject({ batches: 1, sizeTriggered: 1, timeTriggered: 0 });
  });

  it('dispatches a partial batch after maxWaitMs, counted from the first request', async () => {
    const calls: number[][] = [];
    const b = new MicroBatcher<number, number>({ maxBatchSize: 100, maxWaitMs: 50, run: async (xs) => (calls.push(xs), xs) });
    const p1 = b.submit(1);
    jest.advanceTimersByTime(30);
    const p2 = b.submit(2);
    jest.advanceTimersByTime(19);
    expect(calls).toEqual([]);
    jest.advanceTimersByTime(1);
    await expect(Promise.all([p1, p2])).resolves.toEqual([1, 2]);
    expect(calls).toEqual([[1, 2]]);
    expect(b.stats).toMatchObject({ batches: 1, timeTriggered: 1 });
  });

  it('waitOnlyWhenShared: a lone caller never waits; callers that meet wait for each other; alone again a second later', async () => {
    const calls: number[][] = [];
    const running: { resolve: () => void }[] = [];
    const b = new MicroBatcher<number, number>({
      maxBatchSize: 100, maxWaitMs: 50, waitOnlyWhenShared: true,
      run: (xs) => new Promise((resolve) => { calls.push(xs); running.push({ resolve: () => resolve(xs) }); }),
    });
    // one caller, one request after another: each goes at once (no timer advanced)
    const p1 = b.submit(1);
    await Promise.resolve();
    expect(calls).toEqual([[1]]);
    running.shift()!.resolve();
    await expect(p1).resolves.toBe(1);
    const p2 = b.submit(2);
    expect(calls).toEqual([[1], [2]]);
    // a second caller arrives while the first one's batch runs: from now on requests wait for company
    const p3 = b.submit(3);
    const p4 = b.submit(4);
    expect(calls).toEqual([[1], [2]]);
    jest.advanceTimersByTime(50);
    expect(calls).toEqual([[1], [2], [3, 4]]);
    running.splice(0).forEach((r) => r.resolve());
    await expect(Promise.all([p2, p3, p4])).resolves.toEqual([2, 3, 4]);
    // a request within the second still waits; after a quiet second the lone caller goes at once again
    jest.advanceTimersByTime(SHARED_MEMORY_MS - 100);
    const p5 = b.submit(5);
    expect(calls).toHaveLength(3);
    jest.advanceTimersByTime(50);
    expect(calls).toEqual([[1], [2], [3, 4], [5]]);
    running.splice(0).forEach((r) => r.resolve());
    await p5;
    jest.advanceTimersByTime(SHARED_MEMORY_MS + 1);
    const p6 = b.submit(6);
    expect(calls).toEqual([[1], [2], [3, 4], [5], [6]]);
    running.splice(0).forEach((r) => r.resolve());
    await p6;
    expect(b.stats).toMatchObject({ batches: 5, aloneDispatched: 3, timeTriggered: 2 });
  });

  it('counts records with sizeOf; a request that does not fit cuts the batch first', async () => {
    const calls: string[][] = [];
    const b = new MicroBatcher<string, number>({
      maxBatchSize: 5,
      maxWaitMs: 10,
      sizeOf: (s) => s.length,
      run: async (xs) => (calls.push(xs), xs.map((s) => s.length)),
    });
    const ps = [b.submit('aa'), b.submit('bb'), b.submit('ccc'), b.submit('dddddddd'), b.submit('e')];
    jest.advanceTimersByTime(10);
    await expect(Promise.all(ps)).resolves.toEqual([2, 2, 3, 8, 1]);
    // 'aa'+'bb' (4) + 'ccc' would be 7 > 5 -> cut; 'ccc' + 8 > 5 -> cut; 8 alone >= 5 -> cut; 'e' by time
    expect(calls).toEqual([['aa', 'bb'], ['ccc'], ['dddddddd'], ['e']]);
  });

  it('gives each caller its own result, in order, across batches', async () => {
    const b = new MicroBatcher<number, string>({ maxBatchSize: 2, maxWaitMs: 5, run: async (xs) => xs.map((x) => `r${x}`) });
    const ps = Array.from({ length: 7 }, (_, i) => b.submit(i));
    jest.advanceTimersByTime(5);
    await expect(Promise.all(ps)).resolves.toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    expect(b.stats).toMatchObject({ batches: 4, requests: 7, records: 7 });
  });

  it('rejects every caller of a failing batch with the same error, and only them', async () => {
    const boom = new Error('model exploded');
    const b = new MicroBatcher<number, number>({
      maxBatchSize: 2,
      maxWaitMs: 5,
      run: async (xs) => {
        if (xs.includes(3)) throw boom;
        return xs;
      },
    });
    const ps = [1, 2, 3, 4].map((x) => b.submit(x).then((v) => ({ ok: v }), (e: unknown) => ({ err: e })));
    await expect(Promise.all(ps)).resolves.toEqual([{ ok: 1 }, { ok: 2 }, { err: boom }, { err: boom }]);
    expect(b.stats.failedBatches).toBe(1);
  });

  it('treats a synchronous throw and a wrong result count as batch failures', async () => {
    const sync = new MicroBatcher<number, number>({
      maxBatchSize: 2,
      maxWaitMs: 5,
      run: () => {
        throw new Error('sync');
      },
    });
    const a = [sync.submit(1), sync.submit(2)];
    for (const p of a) await expect(p).rejects.toThrow('sync');

    const short = new MicroBatcher<number, number>({ maxBatchSize: 2, maxWaitMs: 5, run: async () => [1] });
    const b = [short.submit(1), short.submit(2)];
    for (const p of b) await expect(p).rejects.toThrow(/returned 1 results for 2 requests/);
  });

  it('limits concurrent batches and keeps their order', async () => {
    const started: number[][] = [];
    const gates: ReturnType<typeof deferred<void>>[] = [];
    const b = new MicroBatcher<number, number>({
      maxBatchSize: 1,
      maxWaitMs: 5,
      maxConcurrentBatches: 1,
      run: async (xs) => {
        started.push(xs);
        const g = deferred<void>();
        gates.push(g);
        await g.promise;
        return xs;
      },
    });
    const ps = [1, 2, 3].map((x) => b.submit(x));
    await Promise.resolve();
    expect(started).toEqual([[1]]);
    expect(b.waiting).toBe(2);
    gates[0]!.resolve();
    await ps[0];
    await Promise.resolve();
    expect(started).toEqual([[1], [2]]);
    gates[1]!.resolve();
    await ps[1];
    await Promise.resolve();
    gates[2]!.resolve();
    await expect(Promise.all(ps)).resolves.toEqual([1, 2, 3]);
  });

  it('flush dispatches at once; close flushes and then refuses new work', async () => {
    const calls: number[][] = [];
    const b = new MicroBatcher<number, number>({ maxBatchSize: 10, maxWaitMs: 60_000, run: async (xs) => (calls.push(xs), xs) });
    const p = b.submit(1);
    await b.flush();
    await expect(p).resolves.toBe(1);
    const q = b.submit(2);
    const closed = b.close();
    expect(b.close()).toBe(closed);
    await closed;
    await expect(q).resolves.toBe(2);
    expect(calls).toEqual([[1], [2]]);
    await expect(b.submit(3)).rejects.toMatchObject({ code: 'BATCHER_CLOSED' });
    await expect(b.submit(3)).rejects.toBeInstanceOf(ServingError);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('validates its options', () => {
    const run = async (xs: number[]) => xs;
    expect(() => new MicroBatcher({ maxBatchSize: 0, maxWaitMs: 1, run })).toThrow(RangeError);
    expect(() => new MicroBatcher({ maxBatchSize: 1, maxWaitMs: -1, run })).toThrow(RangeError);
    expect(() => new MicroBatcher({ maxBatchSize: 1, maxWaitMs: 1, maxConcurrentBatches: 0, run })).toThrow(RangeError);
  });
});
