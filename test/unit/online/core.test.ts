import {
  Algorithm,
  ClassificationMetrics,
  createLearner,
  decodeF64,
  encodeF64,
  evaluateLinearModel,
  fromState,
  HyperplaneStream,
  LearnerConfig,
  Mulberry32,
  normalCdf,
  permutation,
  RandomRBFStream,
  RegressionMetrics,
  SEAStream,
  take,
  recoveryEvents,
} from '../../../src/ml/online';
import { dataset, fixture, Orders } from './helpers';

describe('mulberry32 + Fisher-Yates', () => {
  it('reproduces the committed orders (the Python twin wrote them)', () => {
    const o = fixture<Orders>('orders.json');
    for (const [name, d] of Object.entries(o.datasets)) {
      for (const [seed, order] of Object.entries(d.orders)) expect(permutation(d.rows, Number(seed))).toEqual(order);
      expect(dataset(name).X.length).toBe(d.rows);
    }
  });
  it('known first outputs for seed 0 and uniform range', () => {
    const r = new Mulberry32(0);
    const a = [r.nextUint32(), r.nextUint32()];
    const r2 = new Mulberry32(0);
    expect([r2.nextUint32(), r2.nextUint32()]).toEqual(a);
    const g = new Mulberry32(42);
    let mean = 0;
    let inRange = true;
    for (let i = 0; i < 10000; i++) {
      const u = g.next();
      inRange = inRange && u >= 0 && u < 1;
      mean += u / 10000;
    }
    expect(inRange).toBe(true);
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
  });
});

describe('normal CDF', () => {
  it('matches textbook values', () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(Math.abs(normalCdf(1.959963984540054) - 0.975)).toBeLessThan(1e-15);
    expect(Math.abs(normalCdf(-3.5) - 2.3262907903552504e-4)).toBeLessThan(1e-15); // absolute accuracy ~1e-16 in the lower tail
  });
});

const ALL: { algorithm: Algorithm; extra?: Partial<LearnerConfig> }[] = [
  { algorithm: 'perceptron' },
  { algorithm: 'pa' },
  { algorithm: 'pa-i', extra: { bias: 'feature' } },
  { algorithm: 'pa-ii', extra: { standardize: 'include' } },
  { algorithm: 'arow', extra: { covariance: 'diagonal' } },
  { algorithm: 'scw-i', extra: { standardize: true } },
  { algorithm: 'scw-ii', extra: { multiclass: 'ovr', covariance: 'diagonal' } },
];

describe('state round trip and linear export', () => {
  const iris = dataset('iris');
  const order = permutation(iris.X.length, 7);
  for (const task of ['binary', 'multiclass'] as const) {
    for (const { algorithm, extra } of ALL) {
      it(`${algorithm} ${task} ${JSON.stringify(extra ?? {})}`, () => {
        const classes = task === 'binary' ? [0, 1] : iris.classes;
        const lab = (i: number): number => (task === 'binary' ? (iris.y[i] === 1 ? 1 : 0) : (iris.y[i] as number));
        const cfg: LearnerConfig = { algorithm, task, classes, nFeatures: 4, ...extra };
        const a = createLearner(cfg);
        order.slice(0, 60).forEach((i) => a.update(iris.X[i]!, lab(i)));
        const state = a.toState();
        const json = JSON.stringify(state);
        expect(state).toMatchObject({ format: 'kappa-learner', version: 1 });
        const b = fromState(JSON.parse(json));
        expect(JSON.stringify(b.toState())).toBe(json);
        // identical continuation
        for (const i of order.slice(60)) {
          const ia = a.update(iris.X[i]!, lab(i));
          const ib = b.update(iris.X[i]!, lab(i));
          expect(ib.prediction.scores).toEqual(ia.prediction.scores);
        }
        expect(JSON.stringify(b.toState())).toBe(JSON.stringify(a.toState()));
        // the exported linear model scores like the learner (standardisation 'include' differs by design)
        if (cfg.standardize !== 'include') {
          const model = JSON.parse(JSON.stringify(a.toLinearModel()));
          for (const i of order.slice(0, 30)) {
            const p = a.predict(iris.X[i]!);
            const q = evaluateLinearModel(model, iris.X[i]!);
            expect(q.label).toBe(p.label);
            q.scores.forEach((s, k) => expect(Math.abs(s - p.scores[k]!)).toBeLessThan(1e-9 * Math.max(1, Math.abs(s))));
          }
        }
      });
    }
  }
  it('encodes float64 arrays exactly, including -0, NaN and denormals', () => {
    const a = Float64Array.from([-0, NaN, 5e-324, 1 / 3, -Infinity, 1e308]);
    const b = decodeF64(JSON.parse(JSON.stringify(encodeF64(a))));
    expect(Object.is(b[0], -0)).toBe(true);
    expect(Array.from(b.slice(1))).toEqual(Array.from(a.slice(1)));
  });
  it('rejects bad configs and states', () => {
    expect(() => createLearner({ algorithm: 'scw-i', task: 'regression', nFeatures: 2 })).toThrow(/regression/);
    expect(() => createLearner({ algorithm: 'arow', task: 'binary', nFeatures: 2, bias: 'intercept' })).toThrow(/bias/);
    expect(() => createLearner({ algorithm: 'pa-i', task: 'multiclass', nFeatures: 2 })).toThrow(/classes/);
    expect(() => createLearner({ algorithm: 'pa-i', task: 'binary', nFeatures: 2, C: 0 })).toThrow(/C/);
    expect(() => createLearner({ algorithm: 'scw-i', task: 'binary', nFeatures: 2, eta: 0.4 })).toThrow(/eta/);
    const s = createLearner({ algorithm: 'pa-i', task: 'binary', nFeatures: 2 }).toState();
    expect(() => fromState({ ...s, version: 2 as 1 })).toThrow(/version/);
    expect(() => createLearner({ algorithm: 'pa-i', task: 'binary', nFeatures: 2 }).update([1, 2], 5)).toThrow(/unknown class/);
    expect(() => createLearner({ algorithm: 'pa-i', task: 'binary', nFeatures: 2 }).predict([1])).toThrow(/features/);
  });
});

describe('update rules on hand-checked examples', () => {
  it('PA-I binary step with intercept outside the norm', () => {
    const l = createLearner({ algorithm: 'pa-i', task: 'binary', nFeatures: 2, C: 10 });
    // w = 0, x = (1, 2): loss 1, ||x||^2 = 5, tau = 0.2, y = +1
    l.update([1, 2], 1);
    const m = l.toLinearModel();
    expect(m.weights[0]).toEqual([0.2, 0.4]);
    expect(m.intercepts[0]).toBe(0.2);
  });
  it('PA-II and the bias feature count the constant in the norm', () => {
    const l = createLearner({ algorithm: 'pa-ii', task: 'binary', nFeatures: 2, C: 0.5, bias: 'feature' });
    l.update([1, 2], 0); // y = -1, loss 1, ||x||^2 = 6, tau = 1/(6 + 1) ; update = -1/7
    const m = l.toLinearModel();
    expect(m.weights[0]![0]).toBeCloseTo(-1 / 7, 15);
    expect(m.intercepts[0]).toBeCloseTo(-1 / 7, 15);
  });
  it('Crammer multiclass PA uses 2||x||^2', () => {
    const l = createLearner({ algorithm: 'pa', task: 'multiclass', classes: ['a', 'b', 'c'], nFeatures: 1, bias: 'none' });
    const info = l.update([2], 'c'); // scores 0, s = 'a' (first), loss 1, tau = 1/8
    expect(info.prediction.label).toBe('a');
    const m = l.toLinearModel();
    expect(m.weights).toEqual([[-0.25], [0], [0.25]]);
  });
  it('PA regression is epsilon-insensitive', () => {
    const l = createLearner({ algorithm: 'pa-i', task: 'regression', nFeatures: 1, epsilon: 0.5, C: 100 });
    expect(l.update([1], 0.4).updated).toBe(false);
    const info = l.update([1], 3); // f = 0, loss 2.5, tau = 2.5 / 1
    expect(info.loss).toBe(2.5);
    expect(l.predict([1]).value).toBe(5); // w = 2.5, b = 2.5
    const metrics = new RegressionMetrics(2);
    metrics.add(1, 2);
    metrics.add(1, 4);
    metrics.add(1, 1);
    expect(metrics.cumulative().mae).toBeCloseTo(4 / 3, 15);
    expect(metrics.windowed().rmse).toBeCloseTo(Math.sqrt(4.5), 12);
  });
  it('AROW binary first step', () => {
    const l = createLearner({ algorithm: 'arow', task: 'binary', nFeatures: 1, r: 1, a: 1, bias: 'none' });
    l.update([2], 1); // v = 4, beta = 1/5, alpha = 1/5, mu = 0.2 * 2 = 0.4, Sigma = 1 - 0.2 * 4 = 0.2
    const p = (l as any).parameters();
    expect(p.weights[0]).toBeCloseTo(0.4, 15);
    expect(p.covariance[0]).toBeCloseTo(0.2, 15);
  });
  it('online standardisation timing: before vs include', () => {
    const before = createLearner({ algorithm: 'pa-i', task: 'regression', nFeatures: 1, standardize: 'before' });
    const incl = createLearner({ algorithm: 'pa-i', task: 'regression', nFeatures: 1, standardize: 'include' });
    for (const v of [1, 3]) {
      before.update([v], v);
      incl.update([v], v);
    }
    // after 1, 3: mean 2, population sd 1
    expect(before.toLinearModel().standardisation).toEqual({ mean: [2], scale: [1] });
    expect(incl.toLinearModel().standardisation).toEqual({ mean: [2], scale: [1] });
  });
});

describe('metrics', () => {
  it('binary and macro precision/recall/F1, cumulative and windowed', () => {
    const m = new ClassificationMetrics([0, 1], 3);
    const pairs: [number, number][] = [[1, 1], [0, 1], [1, 0], [1, 1], [0, 0]];
    for (const [t, p] of pairs) m.add(t, p);
    const c = m.cumulative();
    expect(c.accuracy).toBeCloseTo(3 / 5, 15);
    expect(c.precision).toBeCloseTo(2 / 3, 15);
    expect(c.recall).toBeCloseTo(2 / 3, 15);
    const w = m.windowed(); // last 3: (1,0), (1,1), (0,0)
    expect(w.n).toBe(3);
    expect(w.accuracy).toBeCloseTo(2 / 3, 15);
    expect(w.precision).toBe(1);
    expect(w.recall).toBe(0.5);
    const mc = new ClassificationMetrics(['a', 'b', 'c']);
    mc.add('a', 'a');
    mc.add('b', 'a');
    mc.add('c', 'c');
    const r = mc.cumulative(); // P: a 1/2, b 0, c 1 ; R: a 1, b 0, c 1
    expect(r.precision).toBeCloseTo(0.5, 15);
    expect(r.recall).toBeCloseTo(2 / 3, 15);
    expect(r.f1).toBeCloseTo((2 / 3 + 0 + 1) / 3, 15);
  });
  it('recovery events', () => {
    expect(recoveryEvents([0.9, 0.9, 0.5, 0.6, 0.89, 0.9], 2, 0.02)).toBe(3);
    expect(recoveryEvents([0.9, 0.9, 0.9], 2, 0.02)).toBe(0);
    expect(recoveryEvents([0.9, 0.9, 0.5, 0.5], 2, 0.02)).toBe(-1);
  });
});

describe('synthetic streams', () => {
  it('are deterministic for a seed and follow their concepts', () => {
    const a = take(new SEAStream({ seed: 3, drifts: [{ at: 100, variant: 2 }] }), 200);
    const b = take(new SEAStream({ seed: 3, drifts: [{ at: 100, variant: 2 }] }), 200);
    expect(a).toEqual(b);
    a.forEach((s, t) => expect(s.y).toBe(s.x[0]! + s.x[1]! > (t < 100 ? 8 : 7) ? 1 : 0));
    const h1 = take(new HyperplaneStream({ seed: 1 }), 50);
    expect(take(new HyperplaneStream({ seed: 1 }), 50)).toEqual(h1);
    expect(take(new HyperplaneStream({ seed: 2 }), 50)).not.toEqual(h1);
    const rbf = () => new RandomRBFStream({ modelSeed: 1, sampleSeed: 2, nClasses: 3, nDriftCentroids: 10, changeSpeed: 0.01 });
    const r1 = take(rbf(), 300);
    expect(take(rbf(), 300)).toEqual(r1);
    expect(new Set(r1.map((s) => s.y)).size).toBe(3);
    const h = new HyperplaneStream({ seed: 5, magChange: 0.01 });
    const w0 = Array.from(h.weights);
    take(h, 100);
    expect(Array.from(h.weights)).not.toEqual(w0);
  });
});
