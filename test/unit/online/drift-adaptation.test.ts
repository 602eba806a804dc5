import { HyperplaneStream, Mulberry32, SEAStream, type DriftingStream, type LearnerConfig } from '../../../src/ml/online';
import { createAdaptiveLearner, type DriftConfig } from '../../../src/ml/online/drift/adaptive';
import { driftRecovery, stationaryAccuracy } from '../../../src/ml/online/drift/evaluation';
import { LearnEngine, type EngineState } from '../../../src/ml/online/engine';
import { LearnTransform, parseLearnSettings } from '../../../src/ml/online/learn-transform';
import { dataset, fixture, type Orders } from './helpers';
import { context, FakeKafka, rec } from './learn-helpers';

/**
 * Drift detection and adaptation around the confidence-weighted learners, in process.
 *
 * Acceptance: with the recommended setting (ADWIN, delta 0.002, action inflate), SCW-I, SCW-II and
 * AROW get back to within 0.02 of their pre-drift windowed accuracy (window 200, mean over the 1000
 * labels before the change) within 1,000 labels of an abrupt change, on SEA (variant 1 -> 2) and on
 * the rotating hyperplane (d = 10, noise 0.05, all weights drawn anew), seeds 1-5; and they lose less
 * than 0.005 of prequential accuracy on banknote, iris and wine (seeds 0-9 of orders.json) against
 * the same learners without detection. ONLINE_REPORT=1 prints the numbers.
 */
const RECOMMENDED: DriftConfig = { detector: 'adwin', action: 'inflate', adwin: { delta: 0.002 } };
const DRIFT_AT = 5000;
const TOTAL = 6500;
const ALGORITHMS = ['scw-i', 'scw-ii', 'arow'] as const;
const STREAMS: Record<string, (seed: number) => DriftingStream> = {
  sea: (seed) => new SEAStream({ seed, variant: 1, noise: 0, drifts: [{ at: DRIFT_AT, variant: 2 }] }),
  hyperplane: (seed) => new HyperplaneStream({ seed, magChange: 0, drifts: [{ at: DRIFT_AT, seed: seed + 1000 }] }),
};
const report = (...a: unknown[]) => { if (process.env.ONLINE_REPORT) console.log(...a); };

describe('abrupt drift: recovery of AROW / SCW with ADWIN + inflate', () => {
  for (const algorithm of ALGORITHMS) {
    for (const name of Object.keys(STREAMS)) {
      it(`${algorithm} on ${name}: back within 0.02 of the pre-drift level within 1,000 labels (seeds 1-5)`, () => {
        const rows: string[] = [];
        for (const seed of [1, 2, 3, 4, 5]) {
          const stream = STREAMS[name]!(seed);
          const learner: LearnerConfig = { algorithm, task: 'binary', nFeatures: stream.nFeatures };
          const r = driftRecovery({ stream, driftAt: DRIFT_AT, total: TOTAL, learner, drift: RECOMMENDED });
          rows.push(`seed ${seed}: pre ${r.pre.toFixed(3)} min ${r.min.toFixed(3)} recovered in ${r.recovery} (detected at +${(r.events[0]?.event ?? 0) - DRIFT_AT})`);
          expect(r.falseAlarms).toBe(0);
          expect(r.events.filter((e) => e.kind === 'drift')).toHaveLength(1); // one alarm for one change
          expect(r.recovery).toBeGreaterThanOrEqual(0);
          expect(r.recovery).toBeLessThanOrEqual(1000);
        }
        report(`${algorithm} ${name} adwin+inflate`, rows.join('; '));
      });
    }
  }

  it('without detection the same learners do not recover within 1,000 labels (the test above can fail)', () => {
    for (const algorithm of ALGORITHMS) {
      for (const name of Object.keys(STREAMS)) {
        const stream = STREAMS[name]!(1);
        const r = driftRecovery({ stream, driftAt: DRIFT_AT, total: TOTAL, learner: { algorithm, task: 'binary', nFeatures: stream.nFeatures } });
        report(`${algorithm} ${name} no detection, seed 1: pre ${r.pre.toFixed(3)} min ${r.min.toFixed(3)} recovery ${r.recovery}`);
        expect(r.recovery === -1 || r.recovery > 1000).toBe(true);
      }
    }
  });
});

describe('stationary data: what detection costs', () => {
  const orders = fixture<Orders>('orders.json');
  it('AROW / SCW-I / SCW-II lose less than 0.005 of accuracy on banknote, iris and wine (mean of seeds 0-9)', () => {
    for (const ds of ['banknote', 'iris', 'wine']) {
      const data = dataset(ds);
      for (const algorithm of ALGORITHMS) {
        const learner: LearnerConfig = {
          algorithm, task: data.classes.length === 2 ? 'binary' : 'multiclass', classes: data.classes,
          nFeatures: data.X[0]!.length, standardize: ds === 'banknote' ? false : 'before',
        };
        let plain = 0;
        let watched = 0;
        let drifts = 0;
        for (let seed = 0; seed < 10; seed++) {
          const order = orders.datasets[ds]!.orders[String(seed)]!;
          plain += stationaryAccuracy({ X: data.X, y: data.y, order, learner }).accuracy / 10;
          const w = stationaryAccuracy({ X: data.X, y: data.y, order, learner, drift: RECOMMENDED });
          watched += w.accuracy / 10;
          drifts += w.drifts;
        }
        report(`${ds} ${algorithm}: ${plain.toFixed(4)} without, ${watched.toFixed(4)} with adwin+inflate (${drifts} drifts)`);
        expect(plain - watched).toBeLessThan(0.005);
      }
    }
  });
});

describe('actions', () => {
  const sea = () => new SEAStream({ seed: 3, variant: 1, noise: 0, drifts: [{ at: 3000, variant: 2 }] });
  const run = (drift: DriftConfig, n = 4000, algorithm: LearnerConfig['algorithm'] = 'scw-i') => {
    const s = sea();
    const l = createAdaptiveLearner({ algorithm, task: 'binary', nFeatures: 3 }, drift);
    const seen: { t: number; kind: string; action: string; samples: number; cov: Float64Array | null; w: Float64Array }[] = [];
    let before: { cov: Float64Array | null; w: Float64Array } | null = null;
    for (let t = 1; t <= n; t++) {
      const { x, y } = s.next();
      const p = l.learner.parameters();
      before = { cov: p.covariance, w: p.weights };
      const { event } = l.update(x, y, t, 1000 + t);
      if (event) {
        const q = l.learner.parameters();
        seen.push({ t, kind: event.kind, action: event.action, samples: l.learner.toState().samples, cov: q.covariance, w: q.weights });
      }
    }
    return { l, seen, before };
  };

  it('reset: a fresh learner takes over at the drift', () => {
    const { seen, l } = run({ detector: 'adwin', action: 'reset' });
    const d = seen.find((e) => e.kind === 'drift')!;
    expect(d.action).toBe('reset');
    expect(d.samples).toBe(0);
    expect(Array.from(d.w).every((v) => v === 0)).toBe(true);
    expect(l.status()).toMatchObject({ detector: 'adwin', action: 'reset', drifts: 1, warnings: 0 });
    expect(l.status().events[0]).toEqual({ event: d.t, kind: 'drift', action: 'reset', time: 1000 + d.t });
  });

  it('inflate: the covariance is a·I again and the means are kept', () => {
    const s = sea();
    const l = createAdaptiveLearner({ algorithm: 'scw-i', task: 'binary', nFeatures: 3, a: 1 }, { detector: 'adwin', action: 'inflate' });
    for (let t = 1; t <= 4000; t++) {
      const { x, y } = s.next();
      const { event } = l.update(x, y, t, null);
      if (event?.kind === 'drift') {
        const p = l.learner.parameters();
        expect(Array.from(p.covariance!)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]); // D = 3 + bias feature
        expect(Array.from(p.weights).some((v) => v !== 0)).toBe(true);
        expect(l.learner.toState().samples).toBe(t); // the same learner continues
        return;
      }
    }
    throw new Error('no drift detected');
  });

  it('background with DDM: the warning starts a learner that replaces the foreground (on a win or at the drift)', () => {
    const { l, seen } = run({ detector: 'ddm', action: 'background' }, 5000);
    const after = seen.filter((e) => e.t >= 3000);
    expect(after.some((e) => e.kind === 'warning' && e.action === 'background-start')).toBe(true);
    const st = l.status();
    expect(st.background!.swaps).toBeGreaterThanOrEqual(1);
    expect(l.backgroundSwaps).toBe(st.background!.swaps);
  });

  it('regression: ADWIN and Page-Hinkley watch the absolute error and a reset follows a change of the target', () => {
    for (const detector of ['adwin', 'page_hinkley'] as const) {
      const rng = new Mulberry32(4);
      const l = createAdaptiveLearner({ algorithm: 'pa-i', task: 'regression', nFeatures: 2, C: 0.1 }, { detector, action: 'reset' });
      const events: number[] = [];
      for (let t = 1; t <= 6000; t++) {
        const x = [rng.next(), rng.next()];
        const y = t <= 3000 ? 3 * x[0]! - 2 * x[1]! + 0.1 * rng.gaussian() : -2 * x[0]! + 4 * x[1]! + 0.1 * rng.gaussian();
        const { event } = l.update(x, y, t, null);
        if (event) events.push(event.event);
      }
      expect(events).toHaveLength(1);
      expect(events[0]!).toBeGreaterThan(3000);
      expect(events[0]!).toBeLessThan(3100);
    }
  });

  it('inflate is refused for learners without a covariance; DDM is refused for regression', () => {
    expect(() => createAdaptiveLearner({ algorithm: 'pa-i', task: 'binary', nFeatures: 3 }, { detector: 'adwin', action: 'inflate' })).toThrow(/only AROW\/SCW/);
    expect(() => createAdaptiveLearner({ algorithm: 'pa-i', task: 'regression', nFeatures: 3 }, { detector: 'ddm', action: 'reset' })).toThrow(/DDM watches 0\/1 mistakes/);
    expect(() => createAdaptiveLearner({ algorithm: 'pa-i', task: 'binary', nFeatures: 3 }, { detector: 'none', action: 'reset' })).toThrow(/needs a drift detector/);
  });

  it('keeps the last 50 events', () => {
    // a detector that fires often: Page-Hinkley with a tiny threshold on a hard stream
    const l = createAdaptiveLearner({ algorithm: 'pa-i', task: 'binary', nFeatures: 3 }, { detector: 'page_hinkley', action: 'reset', pageHinkley: { threshold: 0.5, minInstances: 1 } });
    const s = new SEAStream({ seed: 1, noise: 0.4 });
    for (let t = 1; t <= 3000; t++) {
      const { x, y } = s.next();
      l.update(x, y, t, null);
    }
    expect(l.drifts).toBeGreaterThan(50);
    const ev = l.status().events;
    expect(ev).toHaveLength(50);
    expect(ev[49]!.event).toBeGreaterThan(ev[0]!.event);
  });
});

describe('state: the detector survives a checkpoint', () => {
  const opts = (drift?: DriftConfig) => ({ learner: { algorithm: 'scw-i' as const, task: 'binary' as const, nFeatures: 3 }, window: 200, maxPending: 1000, ttlMs: 0, drift });
  const feed = (e: LearnEngine, from: number, to: number) => {
    const s = new SEAStream({ seed: 2, variant: 1, noise: 0, drifts: [{ at: 2000, variant: 2 }] });
    for (let t = 0; t < to; t++) {
      const { x, y } = s.next();
      if (t >= from) e.onFeedback(`e${t}`, y, x, 1_000_000 + t);
    }
  };

  for (const drift of [RECOMMENDED, { detector: 'ddm', action: 'background' } as DriftConfig, { detector: 'page_hinkley', action: 'reset' } as DriftConfig]) {
    it(`${drift.detector} + ${drift.action}: a restored engine continues bit-identically`, () => {
      const a = new LearnEngine(opts(drift));
      feed(a, 0, 2150);
      const saved = JSON.parse(JSON.stringify(a.toState())) as EngineState;
      expect(saved.drift?.detector?.kind).toBe(drift.detector);
      const b = new LearnEngine(opts(drift), saved);
      feed(a, 2150, 4000);
      feed(b, 2150, 4000);
      expect(JSON.stringify(b.toState())).toBe(JSON.stringify(a.toState()));
      expect(b.driftStatus()).toEqual(a.driftStatus());
      expect(a.driftCounts.drifts + a.driftCounts.warnings).toBeGreaterThan(0);
    });
  }

  it('a checkpoint written before drift detection existed loads, and detection starts fresh', () => {
    const old = new LearnEngine(opts());
    feed(old, 0, 1000);
    const state = JSON.parse(JSON.stringify(old.toState())) as EngineState;
    expect('drift' in state).toBe(false); // no detector: the checkpoint looks as before
    const e = new LearnEngine(opts(RECOMMENDED), state);
    expect(e.driftStatus()).toMatchObject({ detector: 'adwin', action: 'inflate', warnings: 0, drifts: 0, events: [] });
    feed(e, 1000, 3000);
    expect(e.driftCounts.drifts).toBeGreaterThanOrEqual(1);
  });
});

describe('the Learn transform', () => {
  const base = {
    algorithm: 'scw-i', features: 'x0,x1,x2', 'model.topic': '', 'metrics.topic': '',
    'drift.detector': 'adwin', 'drift.topic': 'drifts',
  };

  it('settings: the action defaults to inflate for AROW/SCW and reset otherwise; bad combinations are config errors', () => {
    expect(parseLearnSettings(base).drift).toMatchObject({ detector: 'adwin', action: 'inflate', adwin: { delta: 0.002 } });
    expect(parseLearnSettings({ ...base, algorithm: 'pa-i' }).drift.action).toBe('reset');
    expect(parseLearnSettings({ features: 'a' }).drift).toMatchObject({ detector: 'none', action: 'none' });
    expect(() => parseLearnSettings({ ...base, algorithm: 'pa-i', 'drift.action': 'inflate' })).toThrow(/Invalid drift configuration: .*only AROW\/SCW/);
    expect(() => parseLearnSettings({ ...base, 'drift.detector': 'cusum' })).toThrow(/drift.detector/);
    expect(() => parseLearnSettings({ ...base, 'drift.adwin.delta': '2' })).toThrow(/ADWIN delta/);
  });

  it('writes each drift to drift.topic once (also across a crash), and the status shows it', async () => {
    const kafka = new FakeKafka();
    const s = new SEAStream({ seed: 1, variant: 1, noise: 0, drifts: [{ at: 1500, variant: 2 }] });
    const records = Array.from({ length: 2500 }, (_, t) => {
      const { x, y } = s.next();
      return rec({ id: `e${t}`, x0: x[0], x1: x[1], x2: x[2], label: y }, t);
    });
    let t = new LearnTransform();
    t.configure(base);
    await t.open(context(kafka, 'drifty'));
    await t.applyBatch(records.slice(0, 1400));
    await t.preCommit([{ topic: 'events', partition: 0, offset: 1400 }]);
    await t.applyBatch(records.slice(1400, 2000)); // the drift is detected here ...
    const detected = (t.status().drift as { events: { event: number }[] }).events;
    expect(detected).toHaveLength(1);
    expect(kafka.values('drifts')).toEqual([]); // ... but its record waits for the checkpoint that covers it
    // crash: a new task restores the checkpoint at 1400 and gets the records again
    t = new LearnTransform();
    t.configure(base);
    await t.open(context(kafka, 'drifty'));
    await t.applyBatch(records.slice(1400));
    await t.preCommit([{ topic: 'events', partition: 0, offset: 2500 }]);
    const written = kafka.values('drifts') as Record<string, unknown>[];
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({
      connector: 'drifty', task: 0, learner: 'drifty/0', topic: 'events', partition: 0, detector: 'adwin', kind: 'drift',
      event: detected[0]!.event, action: 'inflate', time: 1_000_000 + (written[0]!.offset as number),
    });
    expect(written[0]!.windowedAccuracyBefore as number).toBeLessThan(0.99);
    const status = t.status().drift as Record<string, unknown>;
    expect(status).toEqual({ detector: 'adwin', action: 'inflate', warnings: 0, drifts: 1, events: [{ event: detected[0]!.event, kind: 'drift', action: 'inflate', time: written[0]!.time }] });
    expect(t.driftCounts).toEqual({ warnings: 0, drifts: 1 });
    t.close();
  });
});

