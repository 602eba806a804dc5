/** The model catalog: publish, lazy activation, swap, tombstone, expiry, refusals, artifact cache. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ArtifactStore } from '../../../src/ml/serving/artifacts';
import { LinearBackend, ModelNotReachableError, OnnxBackend, type ModelBackend, type ServingModel } from '../../../src/ml/serving/backends';
import { ModelCatalog, type Resolution } from '../../../src/ml/serving/catalog';
import { dataUri, encodeControl, parseControl, sha256Hex, type ModelControl } from '../../../src/ml/serving/control';
import { InferencePool } from '../../../src/ml/serving/onnx';
import { MODELS_DIR, meta, modelBytes, rowsOf, testPolicy } from './fixtures';
import { threadMetrics } from '../../../src/metrics/thread-metrics';

function linearBytes(w: number[], b = 0): Uint8Array {
  return Buffer.from(JSON.stringify({ format: 'kappa-linear-model', version: 1, task: 'regression', classes: null, nFeatures: w.length, weights: [w], intercepts: [b] }));
}

function linearControl(id: string, version: string, w: number[], extra: Partial<Record<string, unknown>> = {}): ModelControl {
  const bytes = linearBytes(w);
  return parseControl({ id, version, format: 'linear', uri: dataUri(bytes), sha256: sha256Hex(bytes), input: { features: w.map((_, i) => `f${i}`) }, ...extra });
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-catalog-'));
}

function version(r: Resolution): string {
  if (r.kind !== 'model') throw new Error(`expected a model, got ${r.kind}: ${r.kind === 'error' ? r.error.message : r.reason}`);
  return r.model.version;
}

/** A backend whose loads wait until released (to observe a swap in progress). */
class GatedBackend implements ModelBackend {
  private readonly inner = new LinearBackend();
  gates: (() => void)[] = [];
  loads = 0;
  async load(c: ModelControl, bytes: Uint8Array): Promise<ServingModel> {
    this.loads++;
    await new Promise<void>((r) => this.gates.push(r));
    return this.inner.load(c, bytes);
  }
  openAll(): void {
    for (const g of this.gates.splice(0)) g();
  }
}

describe('ModelCatalog', () => {
  let warnings: string[];
  let catalog: ModelCatalog;
  let now = Date.parse('2030-01-01T00:00:00Z');
  const make = (backends: ConstructorParameters<typeof ModelCatalog>[0]['backends'] = { linear: new LinearBackend() }, cacheDir: string | null = null) => {
    catalog = new ModelCatalog({ artifacts: new ArtifactStore({ cacheDir, policy: testPolicy({ fileDirs: ['/nonexistent'], httpHosts: ['127.0.0.1'] }) }), backends, now: () => now, unloadGraceMs: 10 });
    warnings = [];
    catalog.onWarning((_id, m) => warnings.push(m));
    return catalog;
  };
  afterEach(() => catalog?.close());

  it('activates lazily: nothing is fetched until first use, then only the newest version', async () => {
    const backend = new GatedBackend();
    make({ linear: backend });
    catalog.apply('m', encodeControl(linearControl('m', '1', [1, 2])));
    catalog.apply('m', encodeControl(linearControl('m', '2', [3, 4])));
    expect(backend.loads).toBe(0);
    const r = catalog.resolve('m');
    await new Promise((res) => setImmediate(res));
    expect(backend.loads).toBe(1);
    backend.openAll();
    expect(version(await r)).toBe('2');
    const p = await ((await catalog.resolve('m')) as { model: ServingModel }).model.score(new Float32Array([1, 1]), 1);
    expect(p.values![0]).toBe(7);
  });

  it('swaps in a new version without waiting for it: the previous version serves until the new one is ready', async () => {
    const backend = new GatedBackend();
    make({ linear: backend });
    catalog.publish(linearControl('m', '1', [1]));
    const first = catalog.resolve('m');
    await new Promise((res) => setImmediate(res));
    backend.openAll();
    expect(version(await first)).toBe('1');
    catalog.publish(linearControl('m', '2', [2])); // in use: activated at once, in the background
    await new Promise((res) => setImmediate(res));
    expect(backend.loads).toBe(2);
    expect(version(await catalog.resolve('m'))).toBe('1'); // does not wait
    backend.openAll();
    await new Promise((res) => setTimeout(res, 5));
    expect(version(await catalog.resolve('m'))).toBe('2');
    expect(catalog.snapshot('m')[0]).toMatchObject({ latest: '2', serving: '2' });
  });

  it('retires a model on a tombstone (error or passthrough), and a new publish brings it back', async () => {
    make();
    catalog.apply('m', encodeControl(linearControl('m', '1', [1])));
    expect(version(await catalog.resolve('m'))).toBe('1');
    catalog.apply('m', null);
    const err = await catalog.resolve('m');
    expect(err.kind).toBe('error');
    expect(err.kind === 'error' && err.error.message).toBe('model m is retired');
    expect((await catalog.resolve('m', 'fallback', 'passthrough')).kind).toBe('passthrough');
    expect(catalog.snapshot('m')[0]!.retired).toBe(true);
    catalog.apply('m', encodeControl(linearControl('m', '3', [1])));
    expect(version(await catalog.resolve('m'))).toBe('3');
    const unknown = await catalog.resolve('nope');
    expect(unknown.kind === 'error' && unknown.error.message).toBe('model nope is not in the model catalog');
  });

  it('does not use an expired version: fallback to the previous one, error, or passthrough', async () => {
    make();
    catalog.publish(linearControl('m', '1', [1]));
    catalog.publish(linearControl('m', '2', [2], { exp_date: '2029-12-31' }));
    expect(version(await catalog.resolve('m', 'fallback'))).toBe('1');
    const e = await catalog.resolve('m', 'error');
    expect(e.kind === 'error' && e.error.message).toBe('model m version 2 expired at 2029-12-31T00:00:00.000Z');
    expect((await catalog.resolve('m', 'passthrough')).kind).toBe('passthrough');
    // a version that expires later is used until then
    catalog.publish(linearControl('m', '3', [3], { exp_date: '2030-01-01T01:00:00Z' }));
    await new Promise((res) => setTimeout(res, 5)); // activated in the background (v1 serves meanwhile)
    expect(version(await catalog.resolve('m', 'fallback'))).toBe('3');
    now += 2 * 3600_000;
    expect(version(await catalog.resolve('m', 'fallback'))).toBe('1');
    // nothing usable left
    catalog.publish(linearControl('x', '1', [1], { exp_date: '2000-01-01' }));
    const none = await catalog.resolve('x', 'fallback');
    expect(none.kind === 'error' && none.error.message).toMatch(/every version has expired/);
    now = Date.parse('2030-01-01T00:00:00Z');
  });

  it('refuses a version whose artifact does not match its sha256; the previous version keeps serving', async () => {
    make();
    catalog.publish(linearControl('m', '1', [1]));
    expect(version(await catalog.resolve('m'))).toBe('1');
    const good = linearControl('m', '2', [2]);
    catalog.publish({ ...good, sha256: sha256Hex(Buffer.from('something else')) });
    await new Promise((res) => setTimeout(res, 20));
    expect(version(await catalog.resolve('m'))).toBe('1');
    expect(warnings.join('\n')).toMatch(/model m version 2 refused: artifact data:\(\d+ chars\) has sha256 [0-9a-f]{64}, but the model-control message says [0-9a-f]{64}: refusing it; version 1 keeps serving/);
    const snap = catalog.snapshot('m')[0]!;
    expect(snap.versions.map((v) => [v.version, v.state])).toEqual([['1', 'ready'], ['2', 'refused']]);
    // and counted for /metrics
    expect(await threadMetrics().registry.metrics()).toContain('kappa_model_activation_refusals_total{model="m"} 1');
    // the corrected version can be republished
    catalog.publish(good);
    await new Promise((res) => setTimeout(res, 20));
    expect(version(await catalog.resolve('m'))).toBe('2');
  });

  it('activates an unreachable (remote) model again with backoff, warning once, until it loads', async () => {
    let reachable = false;
    let loads = 0;
    const inner = new LinearBackend();
    const backend: ModelBackend = {
      async load(c: ModelControl, bytes: Uint8Array): Promise<ServingModel> {
        loads++;
        if (!reachable) throw new ModelNotReachableError(`model ${c.id}@${c.version} refused: the remote model is not ready: connect ECONNREFUSED 127.0.0.1:1`);
        return inner.load(c, bytes);
      },
    };
    make({ linear: backend });
    catalog.publish(linearControl('r', '1', [1, 2]));
    const first = await catalog.resolve('r');
    expect(first.kind === 'error' && first.error.message).toMatch(/version 1 refused \(model r@1 refused: the remote model is not ready: connect ECONNREFUSED .*tried again from/);
    // before the backoff has passed: no new attempt
    now += 1000;
    expect((await catalog.resolve('r')).kind).toBe('error');
    expect(loads).toBe(1);
    // after it: tried again (still down: one warning in all), then the next after a doubled delay
    now += 1500;
    expect((await catalog.resolve('r')).kind).toBe('error');
    expect(loads).toBe(2);
    now += 3000;
    expect((await catalog.resolve('r')).kind).toBe('error');
    expect(loads).toBe(2);
    expect(warnings.filter((w) => w.startsWith('model r version 1 refused'))).toHaveLength(1);
    // the server is back: the next attempt loads it and it serves
    reachable = true;
    now += 2000;
    expect(version(await catalog.resolve('r'))).toBe('1');
    expect(loads).toBe(3);
    expect(catalog.snapshot().find((m) => m.id === 'r')!.versions.map((v) => v.state)).toEqual(['ready']);
  });

  it('refuses unreachable URIs (file and http) and reports them; with nothing else, records get the error', async () => {
    make();
    const bytes = linearBytes([1]);
    catalog.publish(parseControl({ id: 'f', version: '1', format: 'linear', uri: 'file:///nonexistent/model.json', sha256: sha256Hex(bytes), input: { features: ['a'] } }));
    const r = await catalog.resolve('f');
    expect(r.kind === 'error' && r.error.message).toMatch(/model f has no usable version: version 1 refused \(cannot read artifact file:\/\/\/nonexistent\/model.json: ENOENT/);
    catalog.publish(parseControl({ id: 'h', version: '1', format: 'linear', uri: 'http://127.0.0.1:1/model.json', sha256: sha256Hex(bytes), input: { features: ['a'] } }));
    const h = await catalog.resolve('h');
    expect(h.kind === 'error' && h.error.message).toMatch(/cannot fetch artifact http:\/\/127.0.0.1:1\/model.json: fetch failed/);
    expect(warnings.some((w) => w.startsWith('model h version 1 refused'))).toBe(true);
  });

  it('ignores invalid control messages with a warning (bad URI scheme, key/id mismatch, not JSON)', async () => {
    make();
    catalog.apply('m', Buffer.from(JSON.stringify({ ...linearControl('m', '1', [1]), uri: 'ftp://x/y' })));
    catalog.apply('other', encodeControl(linearControl('m', '1', [1])));
    catalog.apply('m', Buffer.from('{nope'));
    expect(catalog.has('m')).toBe(false);
    expect(warnings).toEqual([
      expect.stringMatching(/'uri' must be a file:, http\(s\):, data: or kafka-artifact: URI/),
      expect.stringMatching(/keyed "other" whose id is "m"/),
      expect.stringMatching(/not JSON/),
    ]);
  });

  it('ignores a republish of a version with another artifact, but a republish of the same one is a rollback', async () => {
    make();
    catalog.publish(linearControl('m', '1', [1]));
    catalog.publish(linearControl('m', '2', [2]));
    catalog.publish(linearControl('m', '1', [5])); // same version, different bytes
    expect(warnings[0]).toMatch(/version 1 was already published with artifact sha256/);
    expect(version(await catalog.resolve('m'))).toBe('2');
    catalog.publish(linearControl('m', '1', [1]));
    await new Promise((res) => setTimeout(res, 5));
    expect(version(await catalog.resolve('m'))).toBe('1');
  });

  it('caches artifacts on disk by sha256: after a restart the model loads without its URI', async () => {
    const dir = tmp();
    const file = path.join(dir, 'model.json');
    const bytes = linearBytes([2, 3]);
    fs.writeFileSync(file, bytes);
    const control = parseControl({ id: 'c', version: '1', format: 'linear', uri: `file://${file}`, sha256: sha256Hex(bytes), input: { features: ['a', 'b'] } });
    const cache = path.join(dir, 'cache');
    make({ linear: new LinearBackend() }, cache);
    catalog.publish(control);
    expect(version(await catalog.resolve('c'))).toBe('1');
    expect(fs.readFileSync(path.join(cache, control.sha256))).toEqual(Buffer.from(bytes));
    await catalog.close();
    fs.rmSync(file);
    const store = new ArtifactStore({ cacheDir: cache, policy: testPolicy() });
    catalog = new ModelCatalog({ artifacts: store, backends: { linear: new LinearBackend() } });
    catalog.publish(control);
    expect(version(await catalog.resolve('c'))).toBe('1');
    expect(store.fetches).toBe(0);
    // a corrupt cache entry is not trusted
    fs.writeFileSync(path.join(cache, control.sha256), 'garbage');
    await expect(new ArtifactStore({ cacheDir: cache, policy: testPolicy() }).get(control.uri, control.sha256)).rejects.toThrow(/cannot read artifact/);
  });

  describe('with ONNX models', () => {
    let pool: InferencePool;
    beforeAll(() => {
      pool = new InferencePool({ threads: 1 });
    });
    afterAll(() => pool.close());

    const onnx = (name: 'iris-logreg-v1' | 'iris-logreg-v2' | 'iris-mismatch-3f', version: string, features = ['x1', 'x2', 'x3', 'x4']) =>
      parseControl({ id: 'iris', version, format: 'onnx', uri: `file://${path.join(MODELS_DIR, `${name}.onnx`)}`, sha256: sha256Hex(modelBytes(name)), input: { tensor: 'float_input', features } });

    it('refuses a version whose inputs do not fit, reports it, and keeps the previous version serving', async () => {
      make({ onnx: new OnnxBackend(pool) });
      catalog.publish(onnx('iris-logreg-v1', '1'));
      expect(version(await catalog.resolve('iris'))).toBe('1');
      catalog.publish(onnx('iris-mismatch-3f', '2'));
      await new Promise((res) => setTimeout(res, 300));
      for (let i = 0; i < 50 && catalog.snapshot('iris')[0]!.versions[1]!.state === 'loading'; i++) await new Promise((res) => setTimeout(res, 50));
      expect(version(await catalog.resolve('iris'))).toBe('1');
      expect(warnings.join('\n')).toMatch(/model iris version 2 refused: model iris@2 refused: .*expects 3 features.*4.*; version 1 keeps serving/);
      const r = await catalog.resolve('iris');
      const m = meta('iris-logreg-v1');
      const p = await (r as { model: ServingModel }).model.score(rowsOf(m), m.expected.rows.length);
      expect(p.labels).toEqual(m.expected.labels);
      // a wrong input tensor name is refused too
      catalog.publish({ ...onnx('iris-logreg-v2', '3'), input: { tensor: 'features', features: ['x1', 'x2', 'x3', 'x4'], fields: {} } });
      for (let i = 0; i < 50 && catalog.snapshot('iris')[0]!.versions[2]!.state !== 'refused'; i++) await new Promise((res) => setTimeout(res, 50));
      expect(warnings.join('\n')).toMatch(/its input tensor is 'float_input', but input.tensor says 'features'/);
      // and a fitting v4 swaps in
      catalog.publish(onnx('iris-logreg-v2', '4'));
      for (let i = 0; i < 50 && version(await catalog.resolve('iris')) !== '4'; i++) await new Promise((res) => setTimeout(res, 50));
      expect(version(await catalog.resolve('iris'))).toBe('4');
    });
  });
});
