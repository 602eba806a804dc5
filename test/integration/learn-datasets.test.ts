/**
 * The Learn transform through Kafka on shuffled iris and wine (multiclass, online z-scores with
 * timing 'before', prequential: each label right after its event), seeds 0–9 of
 * test/fixtures/online/orders.json, beside scikit-learn's numbers in prequential-summary.json:
 * - PA-I in sklearn mode (one-vs-rest, intercept outside the norm) equals the in-process learner on
 *   every seed, and scikit-learn's PassiveAggressiveClassifier within one sample per seed (the one
 *   known difference is an exact tie that sklearn's BLAS rounding breaks the other way: wine, seed 5);
 * - SCW-I (full Σ, Crammer max-score, bias feature) equals the numpy reference on every seed;
 * - what a user sees: on iris SCW-I is far ahead of PA-I (≈ +0.12), on wine they are on par.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseNumericCsv } from '../../src/ml/online/datasets';
import { closeKafka, createConnector, createTopic, OutRecord, produce, REPO_ROOT, startWorker, stopAllWorkers, uniqueName, Worker } from './helpers';
import { delayedSequence, learnConnector, mean, waitLearned } from './learn-support';

const SEEDS = Array.from({ length: Number(process.env.LEARN_DATASET_SEEDS ?? 10) }, (_, i) => i);
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'online');
const summary = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'prequential-summary.json'), 'utf8'));
const orders = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'orders.json'), 'utf8'));

const DATASETS = ['iris', 'wine'] as const;
type Dataset = (typeof DATASETS)[number];

/** PA-I as scikit-learn runs it, and SCW-I with the learner's defaults; both on online z-scores. */
const MODELS: Record<string, Record<string, string>> = {
  'pa-i': { algorithm: 'pa-i', multiclass: 'ovr', bias: 'intercept', standardize: 'before' },
  'scw-i': { algorithm: 'scw-i', standardize: 'before' },
};

function load(name: Dataset): { X: number[][]; y: number[]; classes: number[] } {
  const dir = process.env.KAPPA_DATASETS_DIR ?? path.join(REPO_ROOT, 'test', 'fixtures', 'datasets');
  const d = parseNumericCsv(fs.readFileSync(path.join(dir, `${name}.csv`), 'utf8'));
  return { X: d.X.map((x) => Array.from(x)), y: d.y, classes: d.classes };
}

function records(X: number[][], y: number[], ord: number[]): OutRecord[] {
  const t0 = Date.now();
  return delayedSequence({ X, y }, ord, 0).map((s, i) => ({
    key: s.id,
    value: s.x ? Object.fromEntries([['id', s.id], ...s.x.map((v, j) => [`x${j + 1}`, v])]) : { id: s.id, label: s.label },
    timestamp: t0 + i,
  }));
}

let worker: Worker;
const modelTopic = uniqueName('it-learn-ds-models');
const metricsTopic = uniqueName('it-learn-ds-metrics');

beforeAll(async () => {
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

it('iris and wine through Kafka: PA-I = scikit-learn (± one tie), SCW-I = reference, SCW-I ≫ PA-I on iris, on par on wine', async () => {
  const runs: { ds: Dataset; model: string; seed: number; name: string; n: number }[] = [];
  for (const ds of DATASETS) {
    const data = load(ds);
    expect(data.classes).toEqual(orders.datasets[ds].classes);
    const features = data.X[0]!.map((_, j) => `x${j + 1}`).join(',');
    for (const seed of SEEDS) {
      const topic = await createTopic(uniqueName(`it-learn-${ds}-s${seed}`), 1);
      await produce(topic, records(data.X, data.y, orders.datasets[ds].orders[String(seed)] as number[]));
      for (const model of Object.keys(MODELS)) {
        const name = uniqueName(`learn-${ds}-${model}-s${seed}`);
        await createConnector(worker.api, name, learnConnector(topic, MODELS[model]!, {
          classes: data.classes.join(','), features, 'model.topic': modelTopic, 'metrics.topic': metricsTopic, 'publish.every.updates': '0',
        }));
        runs.push({ ds, model, seed, name, n: data.y.length });
      }
    }
  }

  const acc: Record<string, number[]> = {};
  for (const r of runs) {
    const s = await waitLearned(worker.api, r.name, r.n, 60_000);
    expect(s.learned).toBe(r.n);
    expect(s.counters.learnedFromStore).toBe(r.n);
    (acc[`${r.ds}/${r.model}`] ??= [])[r.seed] = s.cumulative.accuracy;
  }

  const lines: string[] = [];
  for (const ds of DATASETS) {
    const n = orders.datasets[ds].rows as number;
    const sk = (summary.sklearn.accuracy[`${ds}/z/pa-i`].values as number[]).slice(0, SEEDS.length);
    const tsPa = (summary.ts.accuracy[`${ds}/z/pa-i/sklearn`].values as number[]).slice(0, SEEDS.length);
    const ref = (summary.reference.accuracy[`${ds}/z/scw-i/full/max-score`].values as number[]).slice(0, SEEDS.length);
    const pa = acc[`${ds}/pa-i`]!;
    const scw = acc[`${ds}/scw-i`]!;
    const round = (v: number[]) => JSON.stringify(v.map((a) => +a.toFixed(4)));
    lines.push(`${ds} (${SEEDS.length} seeds): PA-I ${mean(pa).toFixed(4)} (sklearn ${mean(sk).toFixed(4)}, per seed ${round(pa)} vs ${round(sk)}), ` +
      `SCW-I ${mean(scw).toFixed(4)} (reference ${mean(ref).toFixed(4)}, per seed ${round(scw)})`);
    let samplesApart = 0;
    SEEDS.forEach((seed) => {
      // the in-process learner, exactly; scikit-learn within one prediction (an exact tie, see docs)
      expect(pa[seed]!).toBeCloseTo(tsPa[seed]!, 12);
      const apart = Math.round(Math.abs(pa[seed]! - sk[seed]!) * n);
      expect(apart).toBeLessThanOrEqual(1);
      samplesApart += apart;
      expect(scw[seed]!).toBeCloseTo(ref[seed]!, 12);
    });
    // at most the one known tie over all seeds (wine seed 5), none on iris
    expect(samplesApart).toBeLessThanOrEqual(ds === 'wine' ? 1 : 0);
    if (ds === 'iris') expect(mean(scw)).toBeGreaterThanOrEqual(mean(pa) + 0.08);
    else expect(mean(scw)).toBeGreaterThanOrEqual(mean(pa) - 0.02);
  }
  // eslint-disable-next-line no-console
  console.log(`[learn] through Kafka, z-scores, delay 0: ${lines.join('; ')}`);
});
