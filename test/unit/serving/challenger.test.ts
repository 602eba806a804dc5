/**
 * Champion/challenger: the sticky canary split, challenger records, the catalog's challenger
 * (shadow, canary, rollback, promotion without a reload, records after compaction), Score's
 * output in both modes, and the evaluation store that joins labels to predictions.
 */
import { DataException, type SinkRecord } from '../../../src/api';
import { ArtifactStore } from '../../../src/ml/serving/artifacts';
import { LinearBackend, type ModelBackend, type ServingModel } from '../../../src/ml/serving/backends';
import { ModelCatalog, type Resolution } from '../../../src/ml/serving/catalog';
import {
  challengerRecord, encodeChallenger, goesToChallenger, parseChallenger, promotionRecords, splitPoint, type ChallengerControl,
} from '../../../src/ml/serving/challenger';
import { ControlMessageError, dataUri, encodeControl, parseControl, sha256Hex, type ModelControl } from '../../../src/ml/serving/control';
import { EvaluationTotals, labelOutcome, PendingPredictions } from '../../../src/ml/serving/evaluation';
import { evaluationOf } from '../../../src/ml/serving/hub';
import { Score } from '../../../src/ml/serving/score';
import { FakeKafka, context, rec } from '../online/learn-helpers';
import { testPolicy } from './fixtures';

/** value = w·x (a regression model whose output tells which version scored) */
function linear(id: string, version: string, w: number[]): ModelControl {
  const bytes = Buffer.from(JSON.stringify({ format: 'kappa-linear-model', version: 1, task: 'regression', classes: null, nFeatures: w.length, weights: [w], intercepts: [0] }));
  return parseControl({ id, version, format: 'linear', uri: dataUri(bytes), sha256: sha256Hex(bytes), input: { features: w.map((_, i) => `f${i}`) } });
}

function challenger(model: ModelControl, mode: 'shadow' | 'canary', share = 1): ChallengerControl {
  return { id: model.id, version: model.version, mode, share, model, set_at: 1 };
}

function served(r: Resolution): Extract<Resolution, { kind: 'model' }> {
  if (r.kind !== 'model') throw new Error(`expected a model, got ${r.kind}`);
  return r;
}

class CountingBackend implements ModelBackend {
  private readonly inner = new LinearBackend();
  loads: string[] = [];
  load(c: ModelControl, bytes: Uint8Array): Promise<ServingModel> {
    this.loads.push(c.version);
    return this.inner.load(c, bytes);
  }
}

const settle = () => new Promise((res) => setTimeout(res, 5));

describe('the sticky canary split', () => {
  it('puts the share of 50,000 distinct keys on the challenger (0.1 ± 0.002), the same key always on the same side', () => {
    for (const share of [0.1, 0.5]) {
      let n = 0;
      for (let i = 0; i < 50_000; i++) if (goesToChallenger(splitPoint(`k${i}`, i % 4, i), share)) n++;
      expect(Math.abs(n / 50_000 - share)).toBeLessThan(0.002);
    }
    // the key decides, not where the record sits; a string key and its UTF-8 bytes are the same key
    const p = splitPoint('customer-42', 0, 0);
    expect(splitPoint('customer-42', 3, 987)).toBe(p);
    expect(splitPoint(Buffer.from('customer-42'), 1, 5)).toBe(p);
    expect(splitPoint('customer-43', 0, 0)).not.toBe(p);
  });

  it('keeps every key of the challenger there when the share grows', () => {
    for (let i = 0; i < 5000; i++) {
      const point = splitPoint(`user-${i}`, 0, i);
      if (goesToChallenger(point, 0.1)) expect(goesToChallenger(point, 0.3)).toBe(true);
    }
  });

  it('splits records without a key by partition and offset: the same record always goes the same way', () => {
    expect(splitPoint(null, 2, 100)).toBe(splitPoint(undefined, 2, 100));
    expect(splitPoint(null, 2, 100)).not.toBe(splitPoint(null, 2, 101));
    expect(splitPoint(null, 2, 100)).not.toBe(splitPoint(null, 3, 100));
    let n = 0;
    for (let o = 0; o < 20_000; o++) if (goesToChallenger(splitPoint(null, 0, o), 0.25)) n++;
    expect(Math.abs(n / 20_000 - 0.25)).toBeLessThan(0.01);
  });
});

describe('challenger records', () => {
  const m = linear('m', '2', [1]);
  it('round-trip and refuse what they cannot mean', () => {
    expect(parseChallenger(JSON.parse(encodeChallenger(challenger(m, 'canary', 0.1)).toString()))).toEqual(challenger(m, 'canary', 0.1));
    expect(parseChallenger({ mode: 'SHADOW', model: m })).toMatchObject({ mode: 'shadow', share: 1, version: '2' });
    expect(() => parseChallenger({ mode: 'canary', model: m })).toThrow(new ControlMessageError("'share' must be a number in (0, 1] for canary mode (the share of records the challenger scores), got undefined"));
    expect(() => parseChallenger({ mode: 'canary', share: 1.5, model: m })).toThrow(/'share' must be a number in \(0, 1\]/);
    expect(() => parseChallenger({ mode: 'canary', share: 0, model: m })).toThrow(/'share' must be a number in \(0, 1\]/);
    expect(() => parseChallenger({ mode: 'shadow', share: 0.5, model: m })).toThrow("'share' applies to canary mode only");
    expect(() => parseChallenger({ mode: 'a-b', model: m })).toThrow("'mode' must be one of shadow, canary, got \"a-b\"");
    expect(() => parseChallenger({ mode: 'shadow' })).toThrow(ControlMessageError);
  });

  it('are keyed <id>/challenger; a promotion publishes the version under the model id, then removes the challenger', () => {
    expect(challengerRecord('t', 'm', null)).toEqual({ topic: 't', key: Buffer.from('m/challenger'), value: null });
    const [publish, remove] = promotionRecords('t', challenger(m, 'shadow'), 42);
    expect(publish!.key.toString()).toBe('m');
    expect(JSON.parse(publish!.value!.toString())).toMatchObject({ id: 'm', version: '2', sha256: m.sha256, published_at: 42 });
    expect(remove).toEqual({ topic: 't', key: Buffer.from('m/challenger'), value: null });
  });
});

describe('the catalog with a challenger', () => {
  let catalog: ModelCatalog;
  let backend: CountingBackend;
  let warnings: string[];
  const v1 = linear('m', '1', [1]);
  const v2 = linear('m', '2', [2]);
  const make = () => {
    backend = new CountingBackend();
    catalog = new ModelCatalog({ artifacts: new ArtifactStore({ cacheDir: null, policy: testPolicy() }), backends: { linear: backend }, unloadGraceMs: 10 });
    warnings = [];
    catalog.onWarning((_id, message) => warnings.push(message));
  };
  const apply = (records: { key: Buffer; value: Buffer | null }[]) => { for (const r of records) catalog.apply(r.key, r.value); };
  beforeEach(make);
  afterEach(() => catalog.close());

  it('serves the champion alone until the challenger is loaded, then both; the challenger is loaded once', async () => {
    catalog.apply('m', encodeControl(v1));
    expect(served(await catalog.resolve('m')).challenger).toBeUndefined();
    apply([challengerRecord('t', 'm', challenger(v2, 'canary', 0.25))]);
    await settle(); // the model is in use: the challenger is activated at once, in the background
    const r = served(await catalog.resolve('m'));
    expect(r.model.version).toBe('1');
    expect(r.challenger).toMatchObject({ mode: 'canary', share: 0.25 });
    expect(r.challenger!.model.version).toBe('2');
    expect(catalog.snapshot('m')[0]).toMatchObject({ serving: '1', latest: '1', challenger: { version: '2', mode: 'canary', share: 0.25, state: 'ready' } });
    expect(backend.loads).toEqual(['1', '2']);
    expect(warnings).toEqual([]);
  });

  it('rollback: the challenger is removed and the champion keeps serving', async () => {
    catalog.apply('m', encodeControl(v1));
    apply([challengerRecord('t', 'm', challenger(v2, 'shadow'))]);
    await catalog.resolve('m');
    await settle();
    expect(served(await catalog.resolve('m')).challenger?.model.version).toBe('2');
    apply([challengerRecord('t', 'm', null)]);
    const r = served(await catalog.resolve('m'));
    expect(r.model.version).toBe('1');
    expect(r.challenger).toBeUndefined();
    expect(catalog.snapshot('m')[0]!.challenger).toBeUndefined();
  });

  it('promotion: the loaded challenger serves from the next resolution, without a second load, and never the old version again', async () => {
    catalog.apply('m', encodeControl(v1));
    apply([challengerRecord('t', 'm', challenger(v2, 'shadow'))]);
    await catalog.resolve('m');
    await settle();
    const before = served(await catalog.resolve('m'));
    apply(promotionRecords('t', challenger(v2, 'shadow')));
    const after = served(await catalog.resolve('m'));
    expect(after.model.version).toBe('2');
    expect(after.model).toBe(before.challenger!.model);
    expect(after.challenger).toBeUndefined();
    expect(backend.loads).toEqual(['1', '2']);
    await new Promise((res) => setTimeout(res, 30)); // past the unload grace of the old champion
    expect(served(await catalog.resolve('m')).model.version).toBe('2');
    expect(catalog.snapshot('m')[0]).toMatchObject({ serving: '2', latest: '2', versions: [{ version: '1', state: 'known' }, { version: '2', state: 'ready' }] });
  });

  it('a challenger record read before its model (a compacted topic) still applies; a retirement removes it', async () => {
    apply([challengerRecord('t', 'm', challenger(v2, 'shadow'))]);
    catalog.apply('m', encodeControl(v1));
    await catalog.resolve('m');
    await settle();
    expect(served(await catalog.resolve('m')).challenger?.model.version).toBe('2');
    catalog.apply('m', null);
    catalog.apply('m', encodeControl(linear('m', '3', [3])));
    const r = served(await catalog.resolve('m'));
    expect(r.model.version).toBe('3');
    expect(r.challenger).toBeUndefined();
  });

  it('a challenger that cannot be loaded is refused and reported; the champion scores alone', async () => {
    catalog.apply('m', encodeControl(v1));
    await catalog.resolve('m');
    const wrong = parseControl({ ...linear('m', '2', [2]), input: { features: ['f0', 'f1'] } }); // the model takes 1 feature
    apply([challengerRecord('t', 'm', challenger(wrong, 'canary', 0.5))]);
    await settle();
    expect(warnings).toEqual([expect.stringMatching(/^model m version 2 refused: .*takes 1 features, but input.features maps 2.*; version 1 keeps serving alone \(the challenger is not used\)$/)]);
    expect(served(await catalog.resolve('m')).challenger).toBeUndefined();
    expect(catalog.snapshot('m')[0]!.challenger).toMatchObject({ version: '2', state: 'refused', error: expect.stringMatching(/takes 1 features/) });
  });

  it('an invalid challenger record is reported and changes nothing', async () => {
    catalog.apply('m', encodeControl(v1));
    catalog.apply('m/challenger', Buffer.from('{"mode":"canary","share":7}'));
    expect(warnings).toEqual([expect.stringMatching(/^ignoring an invalid challenger record for model "m": /)]);
    expect(served(await catalog.resolve('m')).challenger).toBeUndefined();
  });
});

describe('Score with a challenger', () => {
  const workerConfig = { 'kappa.model.cache.dir': 'none', 'kappa.model.pool.threads': '1' };
  const keyed = (i: number, topic = 'events'): SinkRecord => ({ ...rec({ id: `e${i}`, f0: 1 }, i, { topic }), key: `user-${i}` });
  const label = (i: number, value: unknown): SinkRecord => rec({ id: `e${i}`, label: value }, 10_000 + i, { topic: 'labels' });

  async function scorer(model: string, records: { key: Buffer; value: Buffer | null }[], extra: Record<string, string> = {}): Promise<Score> {
    const kafka = new FakeKafka();
    await kafka.send(records.map((r) => ({ ...r, topic: 'kappa-models' })));
    const score = new Score();
    score.configure({ 'model.id': model, ...extra });
    await score.open({ ...context(kafka, 'scorer'), workerConfig });
    await settle(); // the challenger loads in the background
    return score;
  }
  const valueOf = (r: SinkRecord | null | Error) => ((r as SinkRecord).value as { prediction: { value: number; model_version: string } }).prediction;
  const header = (r: SinkRecord | null | Error, key: string) => (r as SinkRecord).headers.find((h) => h.key === key)?.value;

  it('canary: each record is scored by the version its key falls to, marked in the prediction and the headers', async () => {
    const c1 = linear('canary', '1', [1]);
    const c2 = linear('canary', '2', [2]);
    const score = await scorer('canary', [{ key: Buffer.from('canary'), value: encodeControl(c1) }, challengerRecord('t', 'canary', challenger(c2, 'canary', 0.3))]);
    try {
      const records = Array.from({ length: 1000 }, (_, i) => keyed(i));
      const out = await score.applyBatch(records);
      let toChallenger = 0;
      out.forEach((r, i) => {
        const want = goesToChallenger(splitPoint(`user-${i}`, 0, i), 0.3) ? '2' : '1';
        if (want === '2') toChallenger++;
        expect(valueOf(r)).toMatchObject({ model_version: want, value: Number(want) });
        expect(header(r, 'kappa.model.version')).toBe(want);
        expect(header(r, 'kappa.challenger.version')).toBeUndefined();
      });
      expect(toChallenger).toBeGreaterThan(200);
      expect(toChallenger).toBeLessThan(400);
      expect(evaluationOf('canary')).toEqual({ 1: { scored: 1000 - toChallenger, labels: 0 }, 2: { scored: toChallenger, labels: 0 } });
    } finally {
      await score.close();
    }
  });

  it('shadow + labels: the champion is emitted, the challenger in headers; labels are joined per version (MAE), dropped, and a label without an id goes to the error path', async () => {
    const s1 = linear('shadow', '1', [1]);
    const s2 = linear('shadow', '2', [3]);
    const score = await scorer('shadow', [{ key: Buffer.from('shadow'), value: encodeControl(s1) }, challengerRecord('t', 'shadow', challenger(s2, 'shadow'))], { 'evaluation.label.topics': 'labels' });
    try {
      // a label in the same batch as its event is joined too; e5's label comes before e5 was scored
      const out = await score.applyBatch([keyed(0), keyed(1), label(0, 1), label(5, 2), keyed(2)]);
      expect(valueOf(out[0]!)).toMatchObject({ model_version: '1', value: 1 });
      expect(header(out[0]!, 'kappa.challenger.version')).toBe('2');
      expect(JSON.parse(header(out[0]!, 'kappa.challenger.prediction') as string)).toEqual({ model_id: 'shadow', model_version: '2', value: 3 });
      expect(out[2]).toBeNull();
      expect(out[3]).toBeNull(); // no prediction waits for e5: nothing to compare
      const later = await score.applyBatch([label(1, 2), label(2, '3'), rec({ label: 1 }, 77, { topic: 'labels' }), label(1, 2)]);
      expect(later.slice(0, 2)).toEqual([null, null]);
      expect(later[2]).toEqual(new DataException("label record labels-0@77 has no field 'id' with the event id (evaluation.id.field), got null"));
      expect(later[3]).toBeNull(); // e1 was labelled already
      // champion (value 1): |1-1| + |1-2| + |1-3| = 3 over 3 labels; challenger (value 3): 2 + 1 + 0 = 3
      expect(evaluationOf('shadow')).toEqual({ 1: { scored: 3, labels: 3, mae: 1 }, 2: { scored: 3, labels: 3, mae: 1 } });
    } finally {
      await score.close();
    }
  });
});

describe('the evaluation store', () => {
  const p = (version: string, predicted: number | string) => ({ modelId: 'm', version, kind: 'classifier' as const, predicted });

  it('keeps predictions until their label, within the TTL and the bound', () => {
    let now = 0;
    const store = new PendingPredictions({ maxEvents: 3, ttlMs: 1000, now: () => now });
    store.put('a', [p('1', 1)]);
    now = 500;
    store.put('b', [p('1', 2)]);
    expect(store.take('a')).toEqual([p('1', 1)]); // a late label within the window
    expect(store.take('a')).toBeUndefined(); // joined once
    now = 1600;
    expect(store.take('b')).toBeUndefined(); // its wait was over
    expect(store.expired).toBe(1);
    for (const id of ['c', 'd', 'e', 'f']) store.put(id, [p('1', 0)]);
    expect(store.size).toBe(3);
    expect(store.evicted).toBe(1);
    expect(store.take('c')).toBeUndefined(); // the oldest made room
    expect(store.take('f')).toBeDefined();
  });

  it('counts accuracy per version for classifiers (labels compare as text) and MAE for regressors', () => {
    const totals = new EvaluationTotals();
    totals.add('m', '1', { scored: 4 });
    totals.add('m', '1', labelOutcome(p('1', 2), '2'));
    totals.add('m', '1', labelOutcome(p('1', 2), 3));
    totals.add('m', '2', labelOutcome(p('2', 3), 3));
    totals.add('r', '1', labelOutcome({ modelId: 'r', version: '1', kind: 'regressor', predicted: 1.5 }, 2));
    expect(totals.of('m')).toEqual({ 1: { scored: 4, labels: 2, accuracy: 0.5 }, 2: { scored: 0, labels: 1, accuracy: 1 } });
    expect(totals.of('r')).toEqual({ 1: { scored: 0, labels: 1, mae: 0.5 } });
    expect(totals.of('unknown')).toEqual({});
  });
});
