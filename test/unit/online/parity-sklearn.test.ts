import { createLearner, sklearnPassiveAggressiveConfig } from '../../../src/ml/online';
import { dataset, fixture, Orders, relClose } from './helpers';

interface Run {
  dataset: string;
  seed: number;
  algorithm: 'pa-i' | 'pa-ii';
  C: number;
  standardize: 'off' | 'before';
  predictions: string;
  coef: number[][];
  intercept: number[];
  exact_ties: { t: number; tied: number[]; sklearn: number }[];
}

const parity = fixture<{ sklearn_version: string; runs: Run[] }>('parity-pa.json');
const orders = fixture<Orders>('orders.json');

describe(`PA-I/PA-II parity with scikit-learn ${parity.sklearn_version} (partial_fit, one sample per call)`, () => {
  it('uses the same data files as the oracle', () => {
    for (const name of ['banknote', 'iris', 'wine']) expect(dataset(name).sha256).toBe(orders.datasets[name]?.sha256);
  });

  it('reproduces every prequential prediction and the final weights', () => {
    let mismatches = 0; // outside exact ties
    let tieDisagreements = 0; // exact ties where sklearn's BLAS rounding chose another tied class
    let rawInputDisagreements = 0; // the same, in the protocol (raw features, no standardisation)
    let samples = 0;
    let worstRel = 0;
    for (const run of parity.runs) {
      const data = dataset(run.dataset);
      const order = orders.datasets[run.dataset]?.orders[String(run.seed)] as number[];
      const learner = createLearner(
        sklearnPassiveAggressiveConfig({
          algorithm: run.algorithm,
          classes: data.classes,
          nFeatures: data.X[0]!.length,
          C: run.C,
          standardize: run.standardize === 'before' ? 'before' : false,
        }),
      );
      const ties = new Map(run.exact_ties.map((e) => [e.t, e]));
      order.forEach((idx, t) => {
        const info = learner.update(data.X[idx]!, data.y[idx]!);
        samples++;
        const tie = ties.get(t);
        if (tie) {
          // our rule on exact ties: the first tied class; sklearn must have picked one of them
          expect(info.prediction.classIndex).toBe(tie.tied[0]);
          expect(tie.tied).toContain(tie.sklearn);
          if (tie.sklearn !== tie.tied[0]) {
            tieDisagreements++;
            if (run.standardize === 'off') rawInputDisagreements++;
          }
        } else if (String(info.prediction.classIndex) !== run.predictions[t]) {
          mismatches++;
        }
      });
      const model = learner.toLinearModel();
      run.coef.forEach((row, k) =>
        row.forEach((w, j) => {
          const ours = model.weights[k]![j]!;
          if (!relClose(ours, w, 1e-9)) throw new Error(`${run.dataset} seed ${run.seed} ${run.algorithm}: w[${k}][${j}] ${ours} vs ${w}`);
          if (ours !== w) worstRel = Math.max(worstRel, Math.abs(ours - w) / Math.abs(w));
        }),
      );
      run.intercept.forEach((b, k) => expect(relClose(model.intercepts[k]!, b, 1e-9)).toBe(true));
    }
    expect(samples).toBeGreaterThan(60000);
    expect(mismatches).toBe(0);
    // The protocol (raw features, one sample per partial_fit call): zero mismatches, ties included.
    expect(rawInputDisagreements).toBe(0);
    // 1 of 88,400: wine seed 5, PA-I, z-scores, sample 5, classes 1 and 2 tie exactly in rational
    // arithmetic; numpy's BLAS decision_function rounds them apart and sklearn predicts class 2.
    expect(tieDisagreements).toBeLessThanOrEqual(1);
    expect(worstRel).toBe(0); // the training trajectory is bit-identical
  });
});
