import { ClassificationMetrics, createLearner, LearnerConfig, recoveryEvents, SEAStream } from '../../../src/ml/online';

/**
 * Drift check on SEA: variant 1 (theta = 9) for 5000 events, then an abrupt switch to variant 2
 * (theta = 7; ~16% of the square changes label), no label noise. Windowed accuracy over the last
 * 200 events; the pre-drift level is the mean windowed accuracy over events 4000-4999; recovery is
 * the number of events after the drift until the windowed accuracy is back within 0.02 of it.
 */
const DRIFT_AT = 5000;
const TOTAL = 8000;

function recovery(cfg: LearnerConfig, seed: number): { pre: number; min: number; events: number } {
  const stream = new SEAStream({ seed, variant: 1, noise: 0, drifts: [{ at: DRIFT_AT, variant: 2 }] });
  const learner = createLearner(cfg);
  const metrics = new ClassificationMetrics([0, 1], 200);
  const series = new Float64Array(TOTAL);
  for (let t = 0; t < TOTAL; t++) {
    const { x, y } = stream.next();
    const info = learner.update(x, y);
    metrics.add(y, info.prediction.label as number);
    series[t] = metrics.windowed().accuracy;
  }
  let pre = 0;
  for (let t = DRIFT_AT - 1000; t < DRIFT_AT; t++) pre += (series[t] as number) / 1000;
  let min = 1;
  for (let t = DRIFT_AT; t < TOTAL; t++) min = Math.min(min, series[t] as number);
  return { pre, min, events: recoveryEvents(series, DRIFT_AT, 0.02, pre) };
}

describe('SEA abrupt drift: windowed accuracy recovery', () => {
  it('PA-I (C = 0.1, online z-score) recovers within 600 events of the change', () => {
    const results = [1, 2, 3, 4, 5].map((seed) => recovery({ algorithm: 'pa-i', task: 'binary', nFeatures: 3, C: 0.1, standardize: true }, seed));
    for (const r of results) {
      expect(r.pre).toBeGreaterThan(0.97);
      expect(r.min).toBeLessThan(r.pre - 0.02); // the drift is visible
      expect(r.events).toBeGreaterThan(0);
      expect(r.events).toBeLessThanOrEqual(600);
    }
    if (process.env.ONLINE_REPORT) console.log('PA-I recovery', JSON.stringify(results));
  });

  // With drift detection and covariance inflation it does recover: test/unit/online/drift-adaptation.test.ts
  it('SCW-I adapts far more slowly (its covariance has shrunk): a known limitation, documented', () => {
    const r = recovery({ algorithm: 'scw-i', task: 'binary', nFeatures: 3 }, 1);
    if (process.env.ONLINE_REPORT) console.log('SCW-I recovery', JSON.stringify(r));
    expect(r.pre).toBeGreaterThan(0.99);
    expect(r.events === -1 || r.events > 1000).toBe(true);
  });
});
