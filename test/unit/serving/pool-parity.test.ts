import { createHash } from 'crypto';
import { InferencePool } from '../../../src/ml/serving/onnx/pool';
import { FIXTURES, FixtureName, meta, modelBytes, rowsOf } from './fixtures';

const PARITY_MODELS = FIXTURES.filter((n) => n !== 'iris-mismatch-3f');
const worst: Record<string, { prob?: number; rel?: number; labelMismatches?: number }> = {};

describe('InferencePool parity with scikit-learn', () => {
  let pool: InferencePool;
  beforeAll(() => {
    pool = new InferencePool({ threads: 2 });
  });
  afterAll(async () => {
    await pool.close();
    // One line for the record: worst deviations seen per model.
    // eslint-disable-next-line no-console
    console.log(`parity: ${JSON.stringify(worst)}`);
  });

  it('fixtures match their recorded sha256', () => {
    for (const name of FIXTURES) {
      expect(createHash('sha256').update(modelBytes(name)).digest('hex')).toBe(meta(name).sha256);
    }
  });

  it.each(PARITY_MODELS)('%s: predictions equal the fixture predictions', async (name: FixtureName) => {
    const m = meta(name);
    const key = { modelId: m.id, version: m.version };
    const info = await pool.load(key, modelBytes(name), { expectedFeatures: m.features.length });
    expect(info.nFeatures).toBe(m.features.length);
    expect(info.inputs).toEqual([{ name: 'float_input', type: 'float32', dims: [null, m.features.length] }]);

    const n = m.expected.rows.length;
    const p = await pool.run(key, rowsOf(m), n, m.features.length);
    expect(p.nRows).toBe(n);
    if (m.task === 'classification') {
      expect(info.kind).toBe('classifier');
      expect(info.classLabels).toEqual(m.classLabels);
      expect(p.labels).toEqual(m.expected.labels);
      // the score tensor: probabilities, or (no predict_proba) decision_function values
      const expected = m.expected.probabilities ?? (m.expected.decisionScores as (number | number[])[]).map((v) => (Array.isArray(v) ? v : [v]));
      expect(info.scoreKind).toBe(m.expected.probabilities ? 'probabilities' : 'decision_scores');
      const k = expected[0]!.length;
      expect(p.nClasses).toBe(k);
      expect(Object.prototype.toString.call(p.probabilities)).toBe('[object Float32Array]');
      expect(p.probabilities!.length).toBe(n * k);
      let maxDiff = 0;
      expected.forEach((row, i) =>
        row.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(p.probabilities![i * k + j]! - v)))),
      );
      worst[name] = { prob: maxDiff };
      // decision scores are unbounded (|score| up to ~20 here): the same float32 rounding, relative to their size
      expect(maxDiff).toBeLessThanOrEqual(m.expected.probabilities ? 1e-5 : 1e-4);
    } else {
      expect(info.kind).toBe('regressor');
      expect(p.valuesPerRow).toBe(1);
      expect(p.values!.length).toBe(n);
      let maxRel = 0;
      m.expected.values!.forEach((v, i) => (maxRel = Math.max(maxRel, Math.abs(p.values![i]! - v) / Math.max(Math.abs(v), 1e-12))));
      worst[name] = { rel: maxRel };
      expect(maxRel).toBeLessThanOrEqual(1e-4);
    }
    await pool.unload(key);
  });
});
