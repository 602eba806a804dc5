/**
 * processing.guarantee=exactly_once_v2 on Kafka-to-Kafka pipelines: with kill -9 of the worker at
 * several moments (and a restart each time), a read_committed reader of the output sees every input
 * exactly once, in partition order; the same for scoring with a DLQ (outputs + DLQ records = inputs,
 * each once) and for learning (each prediction once, weights equal to an uninterrupted run); a
 * worker frozen with SIGSTOP while the cluster moves its task away cannot commit after SIGCONT.
 * FileStreamSink refuses exactly_once_v2 at validation.
 */
import {
  closeKafka, createConnector, createTopic, deleteTopics, endOffsets, expectStatus, FILE_SINK, groupOffsets, produce, sleep, startWorker, stopAllWorkers, sumOffsets, uniqueName, waitFor, waitForState, type Worker,
} from './helpers';
import { leaderAndFollowers, startCluster, statuses, waitAllRunning } from './helpers/cluster';
import { banknote, delayedSequence, LEARNERS, learnConnector, learnerStatus, order, referenceRun, toRecords } from './learn-support';
import { closeProducer, PARTITIONS, pipelineConnector, produceRange, readTopic, sum, waitCommittedToEnd, type OutValue } from './pipeline-support';
import { fixture, modelBody, publish, scoringConnector } from './serving-support';

const EOS = { 'processing.guarantee': 'exactly_once_v2', 'commit.interval.ms': '100' };
const topics: string[] = [];

afterEach(async () => {
  await stopAllWorkers();
});

afterAll(async () => {
  await closeProducer();
  await deleteTopics(topics);
  await closeKafka();
});

const trace = (msg: string) => {
  if (process.env.KAPPA_IT_TRACE) process.stderr.write(`[exactly-once ${new Date().toISOString()}] ${msg}\n`);
};

/**
 * Kills the worker when the output has grown past each mark, restarting it each time. Returns, for
 * each kill, the input records the connector had committed just before it: the output's end offsets
 * overcount progress (aborted records and commit markers), the group's committed offsets do not.
 */
async function killAt(worker: Worker, name: string, input: string, output: string, marks: number[], deadline: number, producing: Promise<void>): Promise<number[]> {
  const committedAtKill: number[] = [];
  // a producer that gives up ends the wait with its own error (the output would never reach the mark)
  const producerFailed = producing.then(() => new Promise<never>(() => undefined));
  for (const mark of marks) {
    try {
      await Promise.race([
        waitFor(async () => sum(await endOffsets(output)) >= mark, { timeoutMs: Math.max(1000, deadline - Date.now()), intervalMs: 20, description: `output past ${mark}` }),
        producerFailed,
      ]);
    } catch (e) {
      // what the worker was doing: the stream's progress, the connector's status and its log
      const log = worker.logs().split('\n').filter((l) => !l.includes('Loaded plugin')).join('\n');
      throw new Error(`${(e as Error).message}\ninput ${sum(await endOffsets(input))}, committed ${sumOffsets(await groupOffsets(`connect-${name}`, input))}, output ${sum(await endOffsets(output))}`
        + `\nstatus ${(await worker.api.get(`/connectors/${name}/status`)).text}\nworker log:\n${log.slice(-8000)}`);
    }
    committedAtKill.push(sumOffsets(await groupOffsets(`connect-${name}`, input)));
    await worker.kill();
    trace(`killed with ${committedAtKill[committedAtKill.length - 1]} input records committed`);
    await worker.restart();
  }
  return committedAtKill;
}

it('FileStreamSink refuses exactly_once_v2 with a clear message; KafkaTopicSink accepts it', async () => {
  const worker = await startWorker();
  const res = await worker.api.put('/connector-plugins/FileStreamSink/config/validate', { 'connector.class': FILE_SINK, topics: 'x', file: '/tmp/x', ...EOS });
  expectStatus(res, 200);
  const pg = (res.body.configs as { value: { name: string; errors: string[] } }[]).find((c) => c.value.name === 'processing.guarantee');
  expect(pg?.value.errors[0]).toMatch(/cannot take part in exactly-once processing/);
  const ok = await worker.api.put('/connector-plugins/KafkaTopicSink/config/validate', { 'connector.class': 'KafkaTopicSink', name: 'x', topics: 'x', 'target.topic': 'y', ...EOS });
  expect(ok.body.error_count).toBe(0);
});

it('KafkaTopicSink + two SMTs, 100,000 records, kill -9 at 5 moments: every input exactly once, in partition order', async () => {
  const TOTAL = 100_000;
  const worker = await startWorker({ props: { 'consumer.session.timeout.ms': '6000' } });
  const input = await createTopic(uniqueName('it-eos-in'), PARTITIONS);
  const output = await createTopic(uniqueName('it-eos-out'), PARTITIONS);
  topics.push(input, output);
  const name = uniqueName('eos');
  await createConnector(worker.api, name, { ...pipelineConnector(input, output), ...EOS });
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2, timeoutMs: 60_000 });
  // paced over about 40 s: the task writes far faster than that, and a backlog produced at once
  // would be written whole between two kills, leaving the later kills nothing to interrupt (a kill
  // and restart take about 10 s: the restarted worker waits out its old member's session)
  const producing = produceRange(input, 0, TOTAL, { perSecond: 2500 });
  // five kills at random moments of the stream (uncommitted output never counts: read_committed)
  const marks = [0.1, 0.25, 0.45, 0.6, 0.8].map((f) => Math.floor(TOTAL * (f + Math.random() * 0.05)));
  const seen = await killAt(worker, name, input, output, marks, Date.now() + 240_000, producing);
  await producing;
  // the kills interrupted the stream: each came before the connector had committed every input
  expect(seen.filter((s) => s < TOTAL).length).toBeGreaterThanOrEqual(3);
  const inputEnds = await endOffsets(input);
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2, timeoutMs: 60_000 });
  await waitCommittedToEnd(worker, name, inputEnds, output);
  const out = await readTopic<OutValue>(output, await endOffsets(output), 60_000, TOTAL); // kafkajs reads read_committed
  const count = new Uint16Array(TOTAL);
  for (const r of out) count[r.value.id]!++;
  const lost = [...count].filter((c) => c === 0).length;
  const dup = [...count].filter((c) => c > 1).length;
  expect(lost).toBe(0);
  expect(dup).toBe(0);
  expect(out.length).toBe(TOTAL);
  // partition order: the i-th record of input partition p is the i-th of output partition p
  for (let p = 0; p < PARTITIONS; p++) {
    const seqs = out.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset).map((r) => r.value.sequence);
    expect(seqs.every((s, i) => s === i)).toBe(true);
  }
  // eslint-disable-next-line no-console
  console.log(`exactly-once pipeline: kill -9 with ${seen.join(', ')} input records committed; ${TOTAL} in → ${out.length} committed out, 0 lost, 0 duplicated, partition order kept`);
}, 10 * 60_000);

it('Score with a DLQ: kill -9 at 5 moments; outputs + DLQ records = inputs, each once', async () => {
  const N = 30_000;
  const worker = await startWorker({ props: { 'consumer.session.timeout.ms': '6000' } });
  const iris = fixture('iris-logreg-v1');
  const modelId = uniqueName('eos-iris');
  await publish(worker.api, modelBody(modelId, '1', 'iris-logreg-v1'));
  const input = await createTopic(uniqueName('it-eos-score-in'), 2);
  const output = await createTopic(uniqueName('it-eos-score-out'), 2);
  const dlq = await createTopic(uniqueName('it-eos-dlq'), 1);
  topics.push(input, output, dlq);
  const name = uniqueName('eos-score');
  await createConnector(worker.api, name, scoringConnector(input, output, { 'model.id': modelId }, {
    ...EOS, 'errors.tolerance': 'all', 'errors.deadletterqueue.topic.name': dlq, 'errors.deadletterqueue.topic.replication.factor': '1',
  }));
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', timeoutMs: 60_000 });
  // every 7th record lacks a feature: it goes to the DLQ
  const record = (i: number) => {
    const row = iris.expected.rows[i % iris.expected.rows.length]!;
    const value: Record<string, unknown> = { id: i };
    iris.features.forEach((f, j) => { if (i % 7 !== 0 || j !== 0) value[f] = row[j]; });
    return { key: `r${i}`, partition: i % 2, value };
  };
  const producing = (async () => {
    for (let i = 0; i < N; i += 500) await produce(input, Array.from({ length: 500 }, (_v, k) => record(i + k)));
  })();
  await killAt(worker, name, input, output, [3000, 7000, 11_000, 15_000, 19_000], Date.now() + 240_000, producing);
  await producing;
  const inputEnds = await endOffsets(input);
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', timeoutMs: 60_000 });
  await waitCommittedToEnd(worker, name, inputEnds, output);
  const out = await readTopic<{ id: number }>(output, await endOffsets(output), 60_000, N - Math.ceil(N / 7));
  const bad = await readTopic<{ id: number }>(dlq, await endOffsets(dlq), 60_000, Math.ceil(N / 7));
  const count = new Uint8Array(N);
  for (const r of [...out, ...bad]) count[r.value.id]!++;
  expect([...count].filter((c) => c !== 1).length).toBe(0);
  expect(bad.every((r) => r.value.id % 7 === 0)).toBe(true);
  expect(bad.length).toBe(Math.ceil(N / 7));
  // eslint-disable-next-line no-console
  console.log(`exactly-once scoring: ${N} in → ${out.length} scored + ${bad.length} in the DLQ, each once, through 5 kills`);
}, 6 * 60_000);

it('Learn: kill -9 mid-stream; each prediction emitted once, weights equal an uninterrupted run', async () => {
  const worker = await startWorker({ props: { 'consumer.session.timeout.ms': '6000' } });
  const d = banknote();
  const steps = delayedSequence(d, order(7), 10);
  const records = toRecords(steps);
  const ref = referenceRun({ algorithm: 'scw-ii', task: 'binary', classes: [0, 1], nFeatures: 4 }, steps);
  const input = await createTopic(uniqueName('it-eos-learn'), 1);
  const output = await createTopic(uniqueName('it-eos-learn-out'), 1);
  topics.push(input, output);
  const name = uniqueName('eos-learn');
  const conf = learnConnector(input, LEARNERS['scw-ii']!, { 'model.topic': uniqueName('it-eos-models') });
  // the learner's predictions go to Kafka (KafkaTopicSink) so that exactly-once applies to them
  delete conf['file'];
  await createConnector(worker.api, name, { ...conf, 'connector.class': 'KafkaTopicSink', 'target.topic': output, ...EOS });
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', timeoutMs: 60_000 });
  let sent = 0;
  while (sent < records.length) {
    await produce(input, records.slice(sent, sent + 100));
    sent += 100;
    await sleep(20);
    if (sent === 1300 || sent === 2200) {
      await worker.kill();
      await worker.restart();
    }
  }
  const final = await waitFor(async () => {
    const s = await learnerStatus(worker.api, name);
    return s && s.learned >= d.y.length ? s : undefined;
  }, { timeoutMs: 120_000, description: 'every label learned' });
  await sleep(1500);
  expect((await learnerStatus(worker.api, name))!.learned).toBe(d.y.length);
  const model = (await worker.api.get(`/learners/${name}/model`)).body;
  expect(model).toEqual(JSON.parse(JSON.stringify(ref.learner.toLinearModel())));
  // every event's prediction once in the committed output
  await waitFor(async () => sum(await endOffsets(output)) >= 1, { timeoutMs: 10_000 });
  const out = await readTopic<{ id: string }>(output, await endOffsets(output), 60_000, d.y.length);
  // feedback records are not emitted (emit.feedback=false): one prediction per event
  const ids = out.map((r) => r.value.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.length).toBe(d.y.length);
  // eslint-disable-next-line no-console
  console.log(`exactly-once learning: ${final.learned} labels through 2 kills, weights equal the uninterrupted run; ${ids.length} predictions committed, none twice`);
}, 6 * 60_000);

it('zombie fencing: a worker frozen while its task moves away cannot commit after it wakes up', async () => {
  const TOTAL = 40_000;
  const workers = await startCluster(3, { props: { 'consumer.session.timeout.ms': '6000', 'session.timeout.ms': '6000' } });
  const { followers } = await leaderAndFollowers(workers);
  const input = await createTopic(uniqueName('it-eos-z-in'), PARTITIONS);
  const output = await createTopic(uniqueName('it-eos-z-out'), PARTITIONS);
  topics.push(input, output);
  const name = uniqueName('eos-zombie');
  expectStatus(await workers[0]!.api.post('/connectors', { name, config: { ...pipelineConnector(input, output), 'tasks.max': '2', ...EOS } }), 201);
  const before = await waitAllRunning(workers[0]!, [name], 2);
  const victim = followers.find((w) => before[name]!.tasks.some((t) => t.worker_id === w.workerId))!;
  const survivors = workers.filter((w) => w !== victim);
  const producing = produceRange(input, 0, TOTAL);
  await waitFor(async () => sum(await endOffsets(output)) >= 5000, { timeoutMs: 60_000, intervalMs: 50 });
  process.kill(victim.pid()!, 'SIGSTOP');
  trace('victim frozen');
  // the cluster gives the frozen worker's task to a survivor
  await waitFor(async () => {
    const s = (await statuses(survivors[0]!))[name];
    return s && s.tasks.every((t) => t.state === 'RUNNING' && t.worker_id !== victim.workerId) ? true : undefined;
  }, { timeoutMs: 90_000, intervalMs: 500, description: 'the task moved to a survivor' });
  await producing;
  await sleep(3000);
  process.kill(victim.pid()!, 'SIGCONT');
  trace('victim woke up');
  const inputEnds = await endOffsets(input);
  await waitCommittedToEnd(survivors[0]!, name, inputEnds, output);
  await sleep(5000); // anything the woken zombie could still commit would show up now
  const out = await readTopic<OutValue>(output, await endOffsets(output), 60_000, TOTAL);
  const count = new Uint16Array(TOTAL);
  for (const r of out) count[r.value.id]!++;
  expect([...count].filter((c) => c === 0).length).toBe(0);
  expect([...count].filter((c) => c > 1).length).toBe(0);
  // eslint-disable-next-line no-console
  console.log(`exactly-once zombie: ${victim.workerId} frozen and woken; ${TOTAL} in → ${out.length} committed out, 0 duplicated`);
}, 6 * 60_000);
