/**
 * The learner history behind the console's accuracy plot: a bounded ring per learner task,
 * filled by a sampler that reads the learners' statuses, and forgotten when the connector goes.
 */
import { LearnerHistory } from '../../../src/console/learner-history';
import { startHistorySampling, type LearnerSourceLike } from '../../../src/console/history-sampler';

const status = (learned: number, windowed: number | null, cumulative: number | null, taskType = 'binary') =>
  ({ learned, taskType, windowed: windowed === null ? null : { n: 10, accuracy: windowed }, cumulative: { n: learned, accuracy: cumulative } });

describe('LearnerHistory', () => {
  it('keeps the newest samples up to its capacity, oldest first', () => {
    const h = new LearnerHistory({ capacity: 3, forgetAfterMs: 60_000 });
    for (let i = 1; i <= 5; i++) h.record('c', 0, status(i * 10, i / 10, i / 20), 1000 * i);
    expect(h.history('c', 0)).toEqual({
      metric: 'accuracy',
      samples: [
        { time: 3000, events: 30, windowed: 0.3, cumulative: 0.15 },
        { time: 4000, events: 40, windowed: 0.4, cumulative: 0.2 },
        { time: 5000, events: 50, windowed: 0.5, cumulative: 0.25 },
      ],
    });
    expect(h.history('c', 0, 4000)!.samples.map((s) => s.time)).toEqual([5000]);
    expect(h.history('c', 1)).toBeUndefined();
  });

  it('plots r2 for regression, and null for an empty window or a non-finite value', () => {
    const h = new LearnerHistory({ capacity: 10, forgetAfterMs: 60_000 });
    h.record('r', 0, { learned: 5, taskType: 'regression', windowed: { r2: 0.5, mae: 1 }, cumulative: { r2: null } }, 1);
    h.record('c', 0, status(0, null, NaN), 1);
    expect(h.history('r', 0)).toEqual({ metric: 'r2', samples: [{ time: 1, events: 5, windowed: 0.5, cumulative: null }] });
    expect(h.history('c', 0)!.samples).toEqual([{ time: 1, events: 0, windowed: null, cumulative: null }]);
  });

  it('forgets learners not seen for forgetAfterMs, and every task of a deleted connector', () => {
    const h = new LearnerHistory({ capacity: 10, forgetAfterMs: 1000 });
    h.record('a', 0, status(1, 1, 1), 0);
    h.record('a', 1, status(1, 1, 1), 0);
    h.record('b', 0, status(1, 1, 1), 900);
    h.forgetStale(1500);
    expect(h.connectors()).toEqual(['b']);
    h.record('a', 0, status(1, 1, 1), 1500);
    h.forgetConnector('a');
    expect(h.connectors()).toEqual(['b']);
  });
});

describe('history sampler', () => {
  it('records every local learner task per round, skips a status that fails, drops deleted connectors', async () => {
    const h = new LearnerHistory({ capacity: 10, forgetAfterMs: 60_000 });
    let learned = 0;
    let exists = true;
    const source: LearnerSourceLike = {
      connectors: () => (exists ? ['x', 'y'] : []),
      tasks: (c) => c === 'x'
        ? [{ taskId: 0, status: () => status(learned, 0.5, 0.5) }, { taskId: 1, status: async () => status(learned * 2, 0.6, 0.6) }]
        : [{ taskId: 0, status: () => { throw new Error('closing'); } }],
    };
    let now = 1000;
    const sampler = startHistorySampling(h, source, { intervalMs: 60_000, connectorExists: () => exists, now: () => now });
    try {
      learned = 10;
      await sampler.sampleNow();
      now = 3000;
      learned = 20;
      await sampler.sampleNow();
      expect(h.history('x', 0)!.samples.map((s) => [s.time, s.events])).toEqual([[1000, 10], [3000, 20]]);
      expect(h.history('x', 1)!.samples.map((s) => s.events)).toEqual([20, 40]);
      expect(h.history('y', 0)).toBeUndefined();
      exists = false;
      await sampler.sampleNow();
      expect(h.connectors()).toEqual([]);
    } finally {
      sampler.stop();
    }
  });

  it('a status that never answers is skipped after statusTimeoutMs; the others are still sampled', async () => {
    const h = new LearnerHistory({ capacity: 10, forgetAfterMs: 60_000 });
    const source: LearnerSourceLike = {
      connectors: () => ['hung', 'fine'],
      tasks: (c) => [{ taskId: 0, status: () => (c === 'hung' ? new Promise<Record<string, unknown>>(() => undefined) : status(5, 0.9, 0.9)) }],
    };
    const sampler = startHistorySampling(h, source, { intervalMs: 60_000, statusTimeoutMs: 50, connectorExists: () => true });
    try {
      await sampler.sampleNow();
      await sampler.sampleNow();
      expect(h.history('fine', 0)!.samples).toHaveLength(2);
      expect(h.history('hung', 0)).toBeUndefined();
    } finally {
      sampler.stop();
    }
  });
});
