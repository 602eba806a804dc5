/**
 * Broker outages, on a broker of this test's own (stopped and started again on its own data by
 * scripts/kafka.sh): a worker started while the broker is down waits for it; and a worker running
 * a KafkaTopicSink pipeline, a Score and a Learn connector rides through outages of 10 s, 60 s and
 * 180 s while their streams flow: every task RUNNING again by itself within 60 s of the broker's
 * return, no input lost, no good record sent to the DLQ, learner weights equal to an uninterrupted
 * run; and an exactly_once_v2 pipeline rides through an outage in the middle of its stream.
 */
import './helpers/private-broker';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  BOOTSTRAP_SERVERS, closeKafka, createConnector, createTopic, endOffsets, produce, REPO_ROOT, sleep, startWorker, stopAllWorkers, uniqueName, waitFor, waitForState, type Worker,
} from './helpers';
import { PRIVATE_BROKER } from './helpers/private-broker';
import { banknote, delayedSequence, LEARNERS, learnConnector, learnerStatus, order, referenceRun, toRecords, type Step } from './learn-support';
import { closeProducer, pipelineConnector, produceRange, readTopic, sum, waitCommittedToEnd, type OutValue } from './pipeline-support';
import { fixture, modelBody, publish, scoringConnector } from './serving-support';
import { permutation } from '../../src/ml/online/prng';

const run = promisify(execFile);
const KAFKA_SH = path.join(REPO_ROOT, 'scripts', 'kafka.sh');
const env = { ...process.env, KAFKA_PORT: String(PRIVATE_BROKER.port), KAFKA_DATA_DIR: PRIVATE_BROKER.dataDir, KAFKA_START_TIMEOUT: '90' };

async function broker(cmd: 'start' | 'resume' | 'stop'): Promise<void> {
  await run('bash', [KAFKA_SH, cmd], { env, timeout: 120_000 });
}

const trace = (msg: string) => {
  if (process.env.KAPPA_IT_TRACE) process.stderr.write(`[faults-broker ${new Date().toISOString()}] ${msg}\n`);
};

beforeAll(async () => {
  expect(BOOTSTRAP_SERVERS).toBe(`127.0.0.1:${PRIVATE_BROKER.port}`);
  await broker('start');
}, 180_000);

afterAll(async () => {
  await stopAllWorkers();
  await closeProducer();
  await closeKafka();
  await broker('stop').catch(() => undefined);
});

it('a worker started while the broker is down waits for it, then works', async () => {
  await broker('stop');
  const starting = startWorker({ healthTimeoutMs: 120_000 });
  await sleep(15_000);
  await broker('resume');
  const worker = await starting;
  // while the broker was away the worker answered /health with 503, and it did not exit
  expect(worker.startupHealth.length).toBeGreaterThan(0);
  expect(worker.startupHealth.every((h) => h.status === 503)).toBe(true);
  const input = await createTopic(uniqueName('it-fb-wait-in'), 4);
  const output = await createTopic(uniqueName('it-fb-wait-out'), 4);
  const name = uniqueName('fb-wait');
  await createConnector(worker.api, name, pipelineConnector(input, output));
  await produceRange(input, 0, 1000);
  const out = await waitFor(async () => (sum(await endOffsets(output)) >= 1000 ? true : undefined), { timeoutMs: 60_000 });
  expect(out).toBe(true);
  await worker.stop();
}, 5 * 60_000);

/** The learner's stream: banknote passes with distinct ids, labels 10 events late. */
function learnSteps(passes: number): Step[] {
  const d = banknote();
  const steps: Step[] = [];
  for (let p = 0; p < passes; p++) {
    for (const s of delayedSequence(d, p < 10 ? order(p) : permutation(d.y.length, 100 + p), 10)) steps.push({ ...s, id: `p${p}-${s.id}` });
  }
  return steps;
}

it('rides through broker outages of 10 s, 60 s and 180 s: tasks come back by themselves, nothing lost', async () => {
  const worker: Worker = await startWorker({ props: { 'consumer.session.timeout.ms': '10000' } });
  // the three pipelines
  const pIn = await createTopic(uniqueName('it-fb-in'), 4);
  const pOut = await createTopic(uniqueName('it-fb-out'), 4);
  const pName = uniqueName('fb-pipe');
  await createConnector(worker.api, pName, pipelineConnector(pIn, pOut));
  const iris = fixture('iris-logreg-v1');
  await publish(worker.api, modelBody('fb-iris', '1', 'iris-logreg-v1'));
  const sIn = await createTopic(uniqueName('it-fb-score-in'), 2);
  const sOut = await createTopic(uniqueName('it-fb-score-out'), 2);
  const dlq = uniqueName('it-fb-dlq');
  const sName = uniqueName('fb-score');
  await createConnector(worker.api, sName, scoringConnector(sIn, sOut, { 'model.id': 'fb-iris' }, {
    'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq, 'errors.deadletterqueue.topic.replication.factor': '1',
  }));
  const steps = learnSteps(11); // 11 passes x 2 x 1372 ≈ 30,000 events and labels
  const ref = referenceRun({ algorithm: 'scw-ii', task: 'binary', classes: [0, 1], nFeatures: 4 }, steps);
  const lIn = await createTopic(uniqueName('it-fb-learn'), 1);
  const lName = uniqueName('fb-learn');
  await createConnector(worker.api, lName, learnConnector(lIn, LEARNERS['scw-ii']!, { 'model.topic': uniqueName('it-fb-models') }));

  // every task runs before the first outage (tasks starting during one are the startup test's case)
  for (const name of [pName, sName, lName]) await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', timeoutMs: 90_000 });
  const PER_OUTAGE = 20_000;
  const learnRecords = toRecords(steps);
  const scoreRecord = (i: number) => {
    const row = iris.expected.rows[i % iris.expected.rows.length]!;
    return { key: `s${i}`, value: Object.fromEntries([['id', i], ...iris.features.map((f, j) => [f, row[j]!])]) };
  };
  const report: string[] = [];
  let produced = 0;
  let learnSent = 0;
  for (const [index, outageS] of [10, 60, 180].entries()) {
    // a stream flows while the broker goes away
    const from = index * PER_OUTAGE;
    const pipeline = produceRange(pIn, from, from + PER_OUTAGE / 2);
    const scoring = (async () => {
      for (let i = from; i < from + PER_OUTAGE / 2; i += 500) await produce(sIn, Array.from({ length: 500 }, (_v, k) => scoreRecord(i + k)));
    })();
    const learnTo = Math.min(learnRecords.length, Math.round(learnRecords.length * (index + 0.5) / 3));
    const learning = produce(lIn, learnRecords.slice(learnSent, learnTo));
    await Promise.all([pipeline, scoring, learning]);
    learnSent = learnTo;
    await sleep(300);
    trace(`outage ${outageS} s`);
    await broker('stop');
    await sleep(outageS * 1000);
    await broker('resume');
    const back = Date.now();
    // the rest of this round's stream, after the broker is back
    await produceRange(pIn, from + PER_OUTAGE / 2, from + PER_OUTAGE);
    for (let i = from + PER_OUTAGE / 2; i < from + PER_OUTAGE; i += 500) await produce(sIn, Array.from({ length: 500 }, (_v, k) => scoreRecord(i + k)));
    const learnEnd = Math.min(learnRecords.length, Math.round(learnRecords.length * (index + 1) / 3));
    await produce(lIn, learnRecords.slice(learnSent, learnEnd));
    learnSent = learnEnd;
    produced = from + PER_OUTAGE;
    // every task RUNNING again by itself within 60 s of the broker's return
    let last = '';
    try {
      await waitFor(async () => {
        const all = [];
        for (const name of [pName, sName, lName]) {
          const s = (await worker.api.get(`/connectors/${name}/status`)).body as { connector: { state: string }; tasks: { state: string; trace?: string }[] };
          all.push(s);
          last = JSON.stringify(all);
          if (s.connector.state !== 'RUNNING' || s.tasks.length === 0 || !s.tasks.every((t) => t.state === 'RUNNING' && !t.trace)) return undefined;
        }
        return true;
      }, { timeoutMs: 60_000, intervalMs: 500, description: `every task RUNNING again after the ${outageS} s outage` });
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlast statuses: ${last.slice(0, 3000)}\nworker log:\n${worker.logs().slice(-8000)}`);
    }
    const running = Date.now() - back;
    // and the streams caught up
    await waitFor(async () => sum(await endOffsets(pOut)) >= produced && sum(await endOffsets(sOut)) >= produced ? true : undefined, { timeoutMs: 120_000, intervalMs: 500, description: `outputs caught up after the ${outageS} s outage` });
    report.push(`${outageS} s outage: tasks RUNNING ${running} ms after the broker's return, caught up ${Date.now() - back} ms after it`);
  }
  // nothing lost on the pipeline and on Score, no good record in the DLQ
  const pRecs = await readTopic<OutValue>(pOut, await endOffsets(pOut));
  const seen = new Uint8Array(produced);
  for (const r of pRecs) seen[r.value.id] = 1;
  expect(seen.indexOf(0)).toBe(-1);
  const sRecs = await readTopic<{ id: number; prediction: { label: number } }>(sOut, await endOffsets(sOut));
  const scored = new Uint8Array(produced);
  for (const r of sRecs) scored[r.value.id] = 1;
  expect(scored.indexOf(0)).toBe(-1);
  expect(sRecs.every((r) => r.value.prediction && r.value.prediction.label === iris.expected.labels![r.value.id % iris.expected.rows.length])).toBe(true);
  expect(sum(await endOffsets(dlq).catch(() => new Map<number, number>()))).toBe(0);
  // the learner learned every label exactly once: its weights equal the uninterrupted run
  const final = await waitFor(async () => {
    const s = await learnerStatus(worker.api, lName);
    return s && s.learned >= ref.learned ? s : undefined;
  }, { timeoutMs: 60_000, description: 'every label learned' });
  await sleep(1500);
  expect((await learnerStatus(worker.api, lName))!.learned).toBe(ref.learned);
  const model = (await worker.api.get(`/learners/${lName}/model`)).body;
  expect(model).toEqual(JSON.parse(JSON.stringify(ref.learner.toLinearModel())));
  // eslint-disable-next-line no-console
  console.log(`faults-broker: ${report.join('; ')}; pipeline ${produced} in → ${pRecs.length} out (0 lost), score ${produced} in → ${sRecs.length} out, DLQ 0; learner ${final.learned} labels, weights equal the uninterrupted run`);
  await worker.stop();
}, 20 * 60_000);

it('an exactly_once_v2 pipeline rides through a 30 s broker outage in mid-stream: RUNNING again by itself, every input exactly once', async () => {
  const TOTAL = 300_000;
  const worker = await startWorker({ props: { 'consumer.session.timeout.ms': '10000' } });
  const input = await createTopic(uniqueName('it-fb-eos-in'), 4);
  const output = await createTopic(uniqueName('it-fb-eos-out'), 4);
  const name = uniqueName('fb-eos');
  // a backlog, so that the outage comes while transactions are open and records are in flight
  await produceRange(input, 0, TOTAL);
  const inputEnds = await endOffsets(input);
  await createConnector(worker.api, name, { ...pipelineConnector(input, output), 'processing.guarantee': 'exactly_once_v2', 'commit.interval.ms': '100' });
  await waitFor(async () => sum(await endOffsets(output)) >= 20_000, { timeoutMs: 120_000, intervalMs: 50, description: 'output past 20,000' });
  await broker('stop');
  trace('broker stopped in mid-stream');
  await sleep(30_000);
  await broker('resume');
  trace('broker back');
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2, timeoutMs: 60_000 });
  await waitCommittedToEnd(worker, name, inputEnds, output);
  const out = await readTopic<OutValue>(output, await endOffsets(output), 60_000, TOTAL); // kafkajs reads read_committed
  const count = new Uint8Array(TOTAL);
  for (const r of out) count[r.value.id]!++;
  expect([...count].filter((c) => c !== 1).length).toBe(0);
  expect(out.length).toBe(TOTAL);
  // the task did not fail on the way (a FAILED task stays FAILED until restarted by hand)
  expect(worker.logs()).not.toMatch(/ERROR .*fb-eos/);
}, 6 * 60_000);
