import { Adwin, Ddm, PageHinkley, detectorFromState, type DriftDetector } from '../../../src/ml/online/drift';
import { Mulberry32 } from '../../../src/ml/online';

/**
 * The three drift detectors on seeded Bernoulli streams (1 = a mistake): a rise of the error rate
 * is found soon and once, a stationary stream raises no drift, a fall of the error (a learner that
 * improves) is no drift, and a JSON round trip of the state continues identically.
 */
type Alarm = { t: number; kind: 'warning' | 'drift' };

function feed(d: DriftDetector, seed: number, phases: { p: number; n: number }[]): Alarm[] {
  const rng = new Mulberry32(seed);
  const alarms: Alarm[] = [];
  let t = 0;
  for (const { p, n } of phases) {
    for (let i = 0; i < n; i++, t++) {
      const s = d.update(rng.next() < p ? 1 : 0);
      if (s !== 'none') alarms.push({ t, kind: s });
    }
  }
  return alarms;
}

const drifts = (a: Alarm[]) => a.filter((x) => x.kind === 'drift');
const SEEDS = [1, 2, 3, 4, 5];
const STATIONARY_SEEDS = [1, 2, 3];

/** Same continuation from the live detector and from its JSON round trip: same signals, same state. */
function expectRoundTrip(make: () => DriftDetector): void {
  const live = make();
  feed(live, 7, [{ p: 0.1, n: 700 }, { p: 0.6, n: 80 }]);
  const copy = detectorFromState(JSON.parse(JSON.stringify(live.toState())));
  const a = feed(live, 8, [{ p: 0.6, n: 300 }, { p: 0.05, n: 500 }, { p: 0.7, n: 500 }]);
  const b = feed(copy, 8, [{ p: 0.6, n: 300 }, { p: 0.05, n: 500 }, { p: 0.7, n: 500 }]);
  expect(b).toEqual(a);
  expect(JSON.stringify(copy.toState())).toBe(JSON.stringify(live.toState()));
}

describe('ADWIN (Bifet & Gavaldà 2007, exponential histogram)', () => {
  it('detects a shift of the mean from 0.2 to 0.8 within 100 samples, with one alarm', () => {
    for (const seed of SEEDS) {
      const a = drifts(feed(new Adwin({ delta: 0.002 }), seed, [{ p: 0.2, n: 1000 }, { p: 0.8, n: 2000 }]));
      expect(a).toHaveLength(1);
      expect(a[0]!.t).toBeGreaterThanOrEqual(1000);
      expect(a[0]!.t - 1000).toBeLessThan(100);
    }
  });

  it('gives no false alarm on 10,000 stationary Bernoulli samples at delta = 0.002 (p = 0.2 and 0.5)', () => {
    for (const seed of STATIONARY_SEEDS) {
      for (const p of [0.2, 0.5]) expect(feed(new Adwin({ delta: 0.002 }), seed, [{ p, n: 10_000 }])).toEqual([]);
    }
  });

  it('shrinks its window to the new level on a fall of the error, without calling it a drift', () => {
    const d = new Adwin();
    expect(feed(d, 3, [{ p: 0.8, n: 1000 }, { p: 0.2, n: 1000 }])).toEqual([]);
    expect(d.width).toBeLessThan(1100); // the old, higher part was cut away
    expect(d.mean).toBeLessThan(0.3);
  });

  it('reports a second change as a second drift', () => {
    const a = drifts(feed(new Adwin(), 4, [{ p: 0.05, n: 1500 }, { p: 0.4, n: 1500 }, { p: 0.9, n: 1500 }]));
    expect(a.map((x) => Math.floor(x.t / 1500))).toEqual([1, 2]);
  });

  it('continues identically after a JSON round trip of its state', () => expectRoundTrip(() => new Adwin()));

  it('refuses a delta outside (0, 1)', () => {
    expect(() => new Adwin({ delta: 0 })).toThrow(/ADWIN delta must be in \(0, 1\)/);
    expect(() => new Adwin({ delta: 1.5 })).toThrow(/delta/);
  });
});

describe('DDM (Gama et al. 2004)', () => {
  it('warns, then signals a drift within 150 samples of a rise from 0.2 to 0.8', () => {
    for (const seed of SEEDS) {
      const all = feed(new Ddm(), seed, [{ p: 0.2, n: 1000 }, { p: 0.8, n: 1000 }]);
      const d = drifts(all);
      expect(d.length).toBeGreaterThanOrEqual(1);
      expect(d[0]!.t).toBeGreaterThanOrEqual(1000);
      expect(d[0]!.t - 1000).toBeLessThan(150);
      // the warning level (2 s_min) is crossed before the drift level (3 s_min): the last signal before the drift is a warning
      expect(all.filter((x) => x.t < d[0]!.t).pop()?.kind).toBe('warning');
    }
  });

  it('gives no drift on 10,000 stationary Bernoulli samples (p = 0.2 and 0.5)', () => {
    for (const seed of SEEDS) {
      for (const p of [0.2, 0.5]) expect(drifts(feed(new Ddm(), seed, [{ p, n: 10_000 }]))).toEqual([]);
    }
  });

  it('a fall of the error is no drift, and nothing is tested before 30 instances', () => {
    expect(drifts(feed(new Ddm(), 2, [{ p: 0.6, n: 500 }, { p: 0.05, n: 2000 }]))).toEqual([]);
    const d = new Ddm();
    for (let i = 0; i < 29; i++) expect(d.update(1)).toBe('none');
  });

  it('a learner perfect over its first 30 labels does not turn its first mistake into a drift', () => {
    const d = new Ddm();
    for (let i = 0; i < 40; i++) d.update(0);
    expect(d.update(1)).toBe('none');
  });

  it('takes only 0/1 mistakes, and continues identically after a JSON round trip', () => {
    expect(() => new Ddm().update(0.5)).toThrow(/DDM takes 0\/1 mistakes/);
    expect(() => new Ddm({ warningLevel: 3, driftLevel: 2 })).toThrow(/must be above the warning level/);
    expectRoundTrip(() => new Ddm());
  });
});

describe('Page-Hinkley', () => {
  it('detects a rise from 0.2 to 0.8 within 150 samples with its defaults (delta 0.005, lambda 50), once', () => {
    for (const seed of SEEDS) {
      const a = drifts(feed(new PageHinkley(), seed, [{ p: 0.2, n: 1000 }, { p: 0.8, n: 1000 }]));
      expect(a).toHaveLength(1);
      expect(a[0]!.t - 1000).toBeGreaterThanOrEqual(0);
      expect(a[0]!.t - 1000).toBeLessThan(150);
    }
  });

  it('gives no false alarm on 10,000 stationary Bernoulli samples of a learner-like error rate (p = 0.05 and 0.1)', () => {
    for (const seed of SEEDS) {
      for (const p of [0.05, 0.1]) expect(feed(new PageHinkley(), seed, [{ p, n: 10_000 }])).toEqual([]);
    }
  });

  it('a fall of the mean is no drift; absolute errors (regression) work as well as 0/1', () => {
    expect(feed(new PageHinkley(), 1, [{ p: 0.7, n: 1000 }, { p: 0.1, n: 2000 }])).toEqual([]);
    const d = new PageHinkley({ threshold: 5 });
    const rng = new Mulberry32(9);
    let at = -1;
    for (let t = 0; t < 2000 && at < 0; t++) if (d.update((t < 1000 ? 0.5 : 1.5) * rng.next()) === 'drift') at = t;
    expect(at).toBeGreaterThanOrEqual(1000);
    expect(at).toBeLessThan(1100);
  });

  it('continues identically after a JSON round trip, and refuses bad parameters', () => {
    expectRoundTrip(() => new PageHinkley());
    expect(() => new PageHinkley({ threshold: 0 })).toThrow(/threshold/);
    expect(() => new PageHinkley({ alpha: 1.5 })).toThrow(/alpha/);
    expect(() => new PageHinkley().update(NaN)).toThrow(/finite/);
  });
});
