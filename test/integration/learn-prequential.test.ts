/**
 * The Learn transform through Kafka on shuffled banknote (orders from test/fixtures/online):
 * - delay 0 (each label right after its event) = plain prequential: PA-I (sklearn parity mode)
 *   reaches scikit-learn's PA-I accuracy seed by seed, SCW-I reaches ≥ 0.975 on average;
 * - delays 10 and 100: accuracy and final weights equal the in-memory learner on the same sequence.
 * Numbers are printed and compared with test/fixtures/online/prequential-summary.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import { closeKafka, createConnector, createTopic, produce, REPO_ROOT, startWorker, stopAllWorkers, uniqueName, Worker } from './helpers';
import { banknote, delayedSequence, LEARNERS, learnConnector, mean, order, referenceRun, toRecords, waitLearned } from './learn-support';

const SEEDS = Array.from({ length: Number(process.env.LEARN_SEEDS ?? 10) }, (_, i) => i);
const summary = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'online', 'prequential-summary.json'), 'utf8'));
let worker: Worker;
const modelTopic = uniqueName('it-learn-models');
const metricsTopic = uniqueName('it-learn-metrics');

beforeAll(async () => {
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

it('banknote prequential through Kafka: PA-I matches scikit-learn, SCW-I ≥ 0.975', async () => {
  const d = banknote();
  const topics: string[] = [];
  for (const seed of SEEDS) {
    const topic = await createTopic(uniqueName(`it-learn-bank-s${seed}`), 1);
    await produce(topic, toRecords(delayedSequence(d, order(seed), 0)));
    topics.push(topic);
  }
  const names: Record<string, string[]> = { 'pa-i': [], 'scw-i': [] };
  for (const algo of Object.keys(names)) {
    for (const seed of SEEDS) {
      const name = uniqueName(`learn-${algo}-s${seed}`);
      await createConnector(worker.api, name, learnConnector(topics[seed]!, LEARNERS[algo]!, {
        'model.topic': modelTopic, 'metrics.topic': metricsTopic, 'publish.every.updates': '0',
      }));
      names[algo]!.push(name);
    }
  }
  const acc: Record<string, number[]> = { 'pa-i': [], 'scw-i': [] };
  for (const algo of Object.keys(names)) {
    for (const name of names[algo]!) {
      const s = await waitLearned(worker.api, name, d.y.length, 80_000);
      expect(s.learned).toBe(d.y.length);
      expect(s.counters.learnedFromStore).toBe(d.y.length);
      acc[algo]!.push(s.cumulative.accuracy);
    }
  }
  const sk = summary.sklearn.accuracy['banknote/raw/pa-i'].values as number[];
  const ts = summary.ts.accuracy['banknote/raw/scw-i/full'] ?? summary.reference.accuracy['banknote/raw/scw-i/full'];
  // eslint-disable-next-line no-console
  console.log(`[learn] banknote through Kafka, ${SEEDS.length} seeds: PA-I ${mean(acc['pa-i']!).toFixed(4)} (sklearn ${mean(sk.slice(0, SEEDS.length)).toFixed(4)}), ` +
    `SCW-I ${mean(acc['scw-i']!).toFixed(4)} (in-process ${mean((ts.values as number[]).slice(0, SEEDS.length)).toFixed(4)}); per seed PA-I ${JSON.stringify(acc['pa-i']!.map((v) => +v.toFixed(4)))} SCW-I ${JSON.stringify(acc['scw-i']!.map((v) => +v.toFixed(4)))}`);
  SEEDS.forEach((seed) => {
    expect(acc['pa-i']![seed]!).toBeGreaterThanOrEqual(sk[seed]! - 1e-12);
    expect(acc['scw-i']![seed]!).toBeCloseTo((ts.values as number[])[seed]!, 12);
  });
  expect(mean(acc['pa-i']!)).toBeGreaterThanOrEqual(mean(sk.slice(0, SEEDS.length)) - 1e-12);
  expect(mean(acc['scw-i']!)).toBeGreaterThanOrEqual(0.975);
});

it('delayed labels (0, 10, 100 events): accuracy and weights equal the in-memory learner', async () => {
  const d = banknote();
  const seeds = SEEDS.slice(0, 3);
  const runs: { name: string; seed: number; delay: number; ref: ReturnType<typeof referenceRun> }[] = [];
  for (const seed of seeds) {
    for (const delay of [0, 10, 100]) {
      const steps = delayedSequence(d, order(seed), delay);
      const topic = await createTopic(uniqueName(`it-learn-delay${delay}-s${seed}`), 1);
      await produce(topic, toRecords(steps));
      const name = uniqueName(`learn-delay${delay}-s${seed}`);
      await createConnector(worker.api, name, learnConnector(topic, LEARNERS['scw-i']!, { 'model.topic': modelTopic, 'metrics.topic': metricsTopic }));
      runs.push({ name, seed, delay, ref: referenceRun({ algorithm: 'scw-i', task: 'binary', classes: [0, 1], nFeatures: 4 }, steps) });
    }
  }
  const lines: string[] = [];
  for (const r of runs) {
    const s = await waitLearned(worker.api, r.name, d.y.length, 80_000);
    const model = (await worker.api.get(`/learners/${r.name}/model`)).body;
    expect(model).toEqual(JSON.parse(JSON.stringify(r.ref.learner.toLinearModel())));
    expect(s.cumulative.accuracy).toBe(r.ref.accuracy);
    expect(s.pending).toEqual({ events: 0, feedback: 0 });
    lines.push(`seed ${r.seed} delay ${r.delay}: ${s.cumulative.accuracy.toFixed(4)}`);
  }
  // eslint-disable-next-line no-console
  console.log(`[learn] SCW-I with delayed labels through Kafka (= in-memory): ${lines.join('; ')}`);
  // delay 0 is plain prequential
  const plain = summary.ts.accuracy['banknote/raw/scw-i/full'] ?? summary.reference.accuracy['banknote/raw/scw-i/full'];
  for (const r of runs.filter((x) => x.delay === 0)) expect(r.ref.accuracy).toBeCloseTo(plain.values[r.seed], 12);
});
