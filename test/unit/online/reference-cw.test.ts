import { createLearner, LinearOnlineLearner, normalQuantile } from '../../../src/ml/online';
import { dataset, fixture, Orders, relClose } from './helpers';

interface Run {
  dataset: string;
  seed: number;
  algorithm: 'arow' | 'scw-i' | 'scw-ii';
  task: 'binary' | 'multiclass';
  multiclass: string;
  covariance: 'full' | 'diagonal';
  standardize: 'off' | 'before';
  predictions: string;
  phi: number;
  eta: number;
  weights: number[][];
}

const ref = fixture<{ runs: Run[] }>('reference-scw-arow.json');
const orders = fixture<Orders>('orders.json');

describe('AROW / SCW-I / SCW-II against the numpy reference (scripts/online/reference_scw_arow.py)', () => {
  it('computes phi = Phi^-1(eta) within 1e-15 relative of scipy.stats.norm.ppf', () => {
    for (const r of ref.runs) expect(relClose(normalQuantile(r.eta), r.phi, 1e-15)).toBe(true);
  });

  it('reproduces every prediction exactly and the final means within 1e-9 relative', () => {
    let mismatches = 0;
    let worst = 0;
    for (const run of ref.runs) {
      const data = dataset(run.dataset);
      const order = orders.datasets[run.dataset]?.orders[String(run.seed)] as number[];
      const learner = createLearner({
        algorithm: run.algorithm,
        task: run.task,
        classes: data.classes,
        nFeatures: data.X[0]!.length,
        covariance: run.covariance,
        multiclass: run.multiclass === 'ovr' ? 'ovr' : 'max-score',
        standardize: run.standardize === 'before' ? 'before' : false,
      }) as LinearOnlineLearner;
      expect(learner.config.eta).toBe(run.eta);
      order.forEach((idx, t) => {
        const info = learner.update(data.X[idx]!, data.y[idx]!);
        if (String(info.prediction.classIndex) !== run.predictions[t]) mismatches++;
      });
      const p = learner.parameters();
      run.weights.forEach((row, k) =>
        row.forEach((w, j) => {
          const ours = p.weights[k * p.dim + j]!;
          if (!relClose(ours, w, 1e-9)) throw new Error(`${run.dataset}/${run.algorithm}/${run.covariance}/${run.seed}: mu[${k}][${j}] ${ours} vs ${w}`);
          worst = Math.max(worst, Math.abs(ours - w) / Math.max(Math.abs(w), 1e-300));
        }),
      );
    }
    expect(mismatches).toBe(0);
    expect(worst).toBeLessThan(1e-9);
  });
});
