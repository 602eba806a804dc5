/**
 * The learning engine and the Learn transform without a broker: delayed feedback against a plain
 * reference loop, early/unknown/expired feedback, and exact resumption from the checkpoint after a
 * simulated crash (state written in preCommit, records redelivered from the committed offsets).
 */
import { LearnEngine } from '../../../src/ml/online/engine';
import { LearnTransform, CHECKPOINT_KEY } from '../../../src/ml/online/learn-transform';
import { createLearner, ClassificationMetrics, RegressionMetrics, Mulberry32 } from '../../../src/ml/online';
import type { LearnerConfig } from '../../../src/ml/online';
import { learnerRegistry } from '../../../src/ml/online/registry';
import { dataset, fixture, Orders } from './helpers';
import { FakeKafka, context, rec, delayedSequence, referenceRun } from './learn-helpers';

const banknote = () => dataset('banknote');
const order = (seed: number) => fixture<Orders>('orders.json').datasets['banknote']!.orders[String(seed)]!;
const scw: LearnerConfig = { algorithm: 'scw-i', task: 'binary', classes: [0, 1], nFeatures: 4 };

describe('LearnEngine', () => {
  it('delay 0 equals plain prequential; delays 10 and 100 equal the reference loop', () => {
    const d = banknote();
    for (const seed of [0, 1]) {
      const plain = createLearner(scw);
      const m = new ClassificationMetrics([0, 1]);
      for (const i of order(seed)) m.add(d.y[i]!, plain.update(d.X[i]!, d.y[i]!).prediction.label!);
      for (const delay of [0, 10, 100]) {
        const seq = delayedSequence(d.X, d.y, order(seed), delay);
        const e = new LearnEngine({ learner: scw, window: 100, maxPending: 1000, ttlMs: 0 });
        for (const s of seq) {
          if (s.x) e.onEvent(s.id, s.x, null);
          else expect(e.onFeedback(s.id, s.label, null, null).status).toBe('learned');
        }
        const ref = referenceRun(scw, seq);
        expect(e.learner.toState()).toEqual(ref.learner.toState());
        expect((e.metricsSnapshot().cumulative as { accuracy: number }).accuracy).toBe(ref.accuracy);
        if (delay === 0) {
          expect(e.learner.toState()).toEqual(plain.toState());
          expect(e.metricsSnapshot().cumulative).toEqual(m.cumulative());
        }
        expect(e.counters.learned).toBe(d.y.length);
        expect(e.pendingCount).toBe(0);
      }
    }
  });

  it('learns early feedback when its event arrives, and from features carried by feedback', () => {
    const e = new LearnEngine({ learner: scw, window: 0, maxPending: 10, ttlMs: 0 });
    expect(e.onFeedback('a', 1, null, 1)).toEqual({ status: 'waiting' });
    expect(e.counters.earlyFeedback).toBe(1);
    const out = e.onEvent('a', [1, 2, 3, 4], 2);
    expect(out.learned).toMatchObject({ status: 'learned', source: 'early-feedback', label: 1, served: 0 });
    expect(e.pendingCount).toBe(0);
    const f = e.onFeedback('b', '1', [0.5, 0.1, 0.2, 0.3], 3);
    expect(f).toMatchObject({ status: 'learned', source: 'feedback-features', label: 1 });
    expect(e.counters).toMatchObject({ learned: 2, learnedFromEarlyFeedback: 1, learnedFromFeedbackFeatures: 1 });
    expect(() => e.onFeedback('c', 7, null, 4)).toThrow(/unknown class label/);
    expect(e.counters.feedback).toBe(2);
  });

  it('expires by stream time and evicts the oldest beyond capacity, counting both', () => {
    const e = new LearnEngine({ learner: scw, window: 0, maxPending: 3, ttlMs: 100 });
    e.onEvent('a', [1, 0, 0, 0], 1000);
    e.onFeedback('x', 0, null, 1010);
    e.onEvent('b', [1, 0, 0, 0], 1050);
    e.onEvent('c', [1, 0, 0, 0], 1060);
    expect(e.counters.evictedEvents).toBe(1); // a
    e.onEvent('d', [1, 0, 0, 0], 1070);
    expect(e.counters.evictedFeedback).toBe(1); // x
    e.onEvent('e', [1, 0, 0, 0], 1155); // b (1050) is older than 1155 - 100
    expect(e.counters.expiredEvents).toBe(1);
    expect(e.entries().map(([id]) => id)).toEqual(['c', 'd', 'e']);
    expect(e.onFeedback('a', 1, null, 1156)).toEqual({ status: 'waiting' });
  });

  it('state round-trips exactly, pending entries included', () => {
    const d = banknote();
    const seq = delayedSequence(d.X, d.y, order(3), 50);
    const run = (from: number, to: number, e: LearnEngine) => {
      for (const s of seq.slice(from, to)) s.x ? e.onEvent(s.id, s.x, null) : e.onFeedback(s.id, s.label, null, null);
    };
    const a = new LearnEngine({ learner: scw, window: 50, maxPending: 1000, ttlMs: 0 });
    run(0, seq.length, a);
    const b = new LearnEngine({ learner: scw, window: 50, maxPending: 1000, ttlMs: 0 });
    run(0, 777, b);
    const json = JSON.parse(JSON.stringify({ state: b.toState(), entries: b.entries() }));
    const c = new LearnEngine({ learner: scw, window: 50, maxPending: 1000, ttlMs: 0 }, json.state);
    c.restoreEntries(json.entries);
    run(777, seq.length, c);
    expect(c.toState()).toEqual(a.toState());
  });

  it('metrics state round-trips (classification and regression)', () => {
    const m = new ClassificationMetrics(['a', 'b', 'c'], 5);
    const r = new RegressionMetrics(4);
    const rnd = new Mulberry32(7);
    for (let i = 0; i < 23; i++) {
      m.add(['a', 'b', 'c'][Math.floor(rnd.next() * 3)]!, ['a', 'b', 'c'][Math.floor(rnd.next() * 3)]!);
      r.add(rnd.next(), rnd.next());
    }
    const m2 = ClassificationMetrics.fromState(JSON.parse(JSON.stringify(m.toState())));
    const r2 = RegressionMetrics.fromState(JSON.parse(JSON.stringify(r.toState())));
    m.add('a', 'b'); m2.add('a', 'b');
    r.add(0.3, 0.2); r2.add(0.3, 0.2);
    expect(m2.windowed()).toEqual(m.windowed());
    expect(m2.cumulative()).toEqual(m.cumulative());
    expect(r2.windowed()).toEqual(r.windowed());
    expect(r2.cumulative()).toEqual(r.cumulative());
  });
});

const transformConfig = {
  algorithm: 'scw-i', classes: '0,1', features: 'f1,f2,f3,f4', 'publish.every.updates': '500', 'metrics.window': '100',
};

function stream(delay: number, seed = 0) {
  const d = banknote();
  return delayedSequence(d.X, d.y, order(seed), delay).map((s, offset) =>
    rec(s.x ? { id: s.id, f1: s.x[0], f2: s.x[1], f3: s.x[2], f4: s.x[3] } : { id: s.id, label: s.label }, offset));
}

describe('Learn transform', () => {
  afterEach(() => {
    for (const c of learnerRegistry.connectors()) for (const h of learnerRegistry.tasks(c)) learnerRegistry.unregister(h);
  });

  it('emits predictions for events, drops feedback, publishes linear versions, checkpoints', async () => {
    const kafka = new FakeKafka();
    const t = new LearnTransform();
    t.configure(transformConfig);
    await t.open(context(kafka, 'bank'));
    const records = stream(10);
    const out = await t.applyBatch(records.slice(0, 100));
    const firstEvent = out[0] as { value: Record<string, unknown> };
    expect(firstEvent.value).toMatchObject({ id: 'e0', prediction: 0, score: 0 });
    expect(out.filter((r) => r === null).length).toBe(records.slice(0, 100).filter((r) => 'label' in (r.value as object)).length);
    for (let i = 100; i < records.length; i += 250) await t.applyBatch(records.slice(i, i + 250));
    await t.preCommit([{ topic: 'events', partition: 0, offset: records.length }]);
    expect(t.state.counters.learned).toBe(1372);
    const versions = kafka.values('kappa-models') as { id: string; version: string; format: string; uri: string; sha256: string; input: { features: string[] } }[];
    expect(versions.length).toBe(2);
    expect(versions[0]).toMatchObject({ id: 'bank', format: 'linear', input: { features: ['f1', 'f2', 'f3', 'f4'] } });
    const artifact = JSON.parse(Buffer.from(versions[1]!.uri.split(',')[1]!, 'base64').toString('utf8'));
    expect(artifact.format).toBe('kappa-linear-model');
    const cps = kafka.values('kappa-learner-bank') as { epoch?: number }[];
    expect(cps[cps.length - 1]).toMatchObject({ format: 'kappa-learn-checkpoint', epoch: 1 });
    const metrics = kafka.values('kappa-learner-metrics') as { cumulative: { accuracy: number } }[];
    expect(metrics[0]!.cumulative.accuracy).toBeGreaterThan(0.97);
    const status = learnerRegistry.tasks('bank')[0]!.status() as { learned: number };
    expect(status.learned).toBe(1372);
    await t.close();
  });

  it('after a crash, resumes exactly from the last checkpoint (no label lost or learned twice)', async () => {
    const records = stream(100, 4);
    const reference = new LearnTransform();
    reference.configure({ ...transformConfig, 'state.enabled': 'false', 'model.topic': '' });
    await reference.open(context(new FakeKafka(), 'ref'));
    for (let i = 0; i < records.length; i += 97) await reference.applyBatch(records.slice(i, i + 97));

    const kafka = new FakeKafka();
    const rnd = new Mulberry32(11);
    let committed = 0; // consumer offset
    let t = new LearnTransform();
    t.configure(transformConfig);
    await t.open(context(kafka, 'crashy'));
    let pos = 0;
    let crashes = 0;
    while (pos < records.length) {
      const size = 1 + Math.floor(rnd.next() * 120);
      await t.applyBatch(records.slice(pos, pos + size));
      pos = Math.min(records.length, pos + size);
      const u = rnd.next();
      if (u < 0.3) {
        await t.preCommit([{ topic: 'events', partition: 0, offset: pos }]);
        committed = pos;
      } else if (u < 0.4) {
        // checkpoint written, then killed before the offset commit
        await t.preCommit([{ topic: 'events', partition: 0, offset: pos }]);
        t = new LearnTransform(); t.configure(transformConfig); await t.open(context(kafka, 'crashy'));
        pos = committed; crashes++;
      } else if (u < 0.5) {
        // killed with unsaved work: the next task starts from the committed offsets
        t = new LearnTransform(); t.configure(transformConfig); await t.open(context(kafka, 'crashy'));
        pos = committed; crashes++;
      }
    }
    await t.preCommit([{ topic: 'events', partition: 0, offset: pos }]);
    expect(crashes).toBeGreaterThan(3);
    expect(t.state.toState()).toEqual(reference.state.toState());
    expect(t.state.counters.learned).toBe(1372);
  });

  it('ignores and repairs pending writes of an interrupted checkpoint', async () => {
    const kafka = new FakeKafka();
    const t = new LearnTransform();
    t.configure(transformConfig);
    await t.open(context(kafka, 'torn'));
    const records = stream(30);
    await t.applyBatch(records.slice(0, 50));
    await t.preCommit([{ topic: 'events', partition: 0, offset: 50 }]);
    const expected = t.state.toState();
    const firstPending = t.state.entries()[0]![0];
    // a torn write: pending entries of epoch 2 without their checkpoint record
    await kafka.send([{ topic: 'kappa-learner-torn', key: Buffer.from(`pending/${firstPending}`), value: null, headers: { 'kappa.epoch': '2' } },
      { topic: 'kappa-learner-torn', key: Buffer.from('pending/zzz'), value: Buffer.from(JSON.stringify({ kind: 'feedback', y: 1, ts: 0, seq: 999 })), headers: { 'kappa.epoch': '2' } }]);
    const t2 = new LearnTransform();
    t2.configure(transformConfig);
    await t2.open(context(kafka, 'torn'));
    expect(t2.state.toState()).toEqual(expected);
    expect(t2.state.entries().map(([id]) => id)).toContain(firstPending);
    expect(t2.state.entries().map(([id]) => id)).not.toContain('zzz');
    const last = kafka.topics.get('kappa-learner-torn')!.at(-1)!;
    expect(last.key!.toString()).toBe(CHECKPOINT_KEY);
  });

  it('tells feedback by header or topic, and reports bad records as errors', async () => {
    const kafka = new FakeKafka();
    const t = new LearnTransform();
    t.configure({ ...transformConfig, 'feedback.by': 'topic', 'feedback.topics': 'labels', 'emit.feedback': 'true', 'state.enabled': 'false' });
    await t.open(context(kafka, 'two-topics'));
    const out = await t.applyBatch([
      rec({ id: 'a', f1: 1, f2: 2, f3: 3, f4: 4 }, 0),
      rec({ id: 'a', label: 1 }, 0, { topic: 'labels' }),
      rec({ id: 'b', f1: 'x', f2: 2, f3: 3, f4: 4 }, 1),
      rec({ id: 'c', f1: 1 }, 2),
    ]);
    expect((out[1] as { value: unknown }).value).toMatchObject({ id: 'a', label: 1, served: 0, source: 'store' });
    expect(out[2]).toBeInstanceOf(Error);
    expect(out[3]).toBeInstanceOf(Error);

    const h = new LearnTransform();
    h.configure({ ...transformConfig, 'feedback.by': 'header', 'state.enabled': 'false' });
    await h.open(context(kafka, 'header'));
    const out2 = await h.applyBatch([
      rec({ id: 'a', f1: 1, f2: 2, f3: 3, f4: 4, label: 1 }, 0),
      rec({ id: 'a', label: 1 }, 1, { headers: [{ key: 'kappa.feedback', value: 'true' }] }),
    ]);
    expect((out2[0] as { value: unknown }).value).toMatchObject({ prediction: 0 });
    expect(out2[1]).toBeNull();
    expect(h.state.counters.learned).toBe(1);
  });

  it('refuses to restore a state made with another learner configuration', async () => {
    const kafka = new FakeKafka();
    const t = new LearnTransform();
    t.configure(transformConfig);
    await t.open(context(kafka, 'cfg'));
    await t.applyBatch(stream(0).slice(0, 10));
    await t.preCommit([{ topic: 'events', partition: 0, offset: 10 }]);
    const t2 = new LearnTransform();
    t2.configure({ ...transformConfig, algorithm: 'pa-i' });
    await expect(t2.open(context(kafka, 'cfg'))).rejects.toThrow(/different learner configuration/);
  });
});
