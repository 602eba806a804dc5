/**
 * The ML plane in a cluster of three workers: a Learn task that moves to another worker after
 * kill -9 resumes from its checkpoint with exactly the weights an uninterrupted run has, and a
 * model version published through any worker reaches the scoring tasks on every worker, each
 * partition switching once and never back.
 */
import { closeKafka, createTopic, deleteTopics, endOffsets, expectStatus, produce, sleep, stopAllWorkers, uniqueName, waitFor } from './helpers';
import { leaderAndFollowers, startCluster, statuses, waitAllRunning } from './helpers/cluster';
import { banknote, delayedSequence, LEARNERS, learnConnector, learnerStatus, order, referenceRun, toRecords } from './learn-support';
import { readTopic } from './pipeline-support';
import { fixture, modelBody, publish, scoringConnector } from './serving-support';

const topics: string[] = [];

afterEach(async () => {
  await stopAllWorkers();
});

afterAll(async () => {
  await deleteTopics(topics);
  await closeKafka();
});

it('learner failover: kill -9 of the worker running a Learn task; it resumes on another worker with the uninterrupted weights', async () => {
  const workers = await startCluster(3, { props: { 'consumer.session.timeout.ms': '6000', 'consumer.heartbeat.interval.ms': '1000' } });
  await leaderAndFollowers(workers);
  const d = banknote();
  const steps = delayedSequence(d, order(3), 10);
  const records = toRecords(steps);
  const ref = referenceRun({ algorithm: 'scw-ii', task: 'binary', classes: [0, 1], nFeatures: 4 }, steps);
  const topic = await createTopic(uniqueName('it-clearn'), 1);
  topics.push(topic);
  const name = uniqueName('clearn');
  expectStatus(await workers[1]!.api.post('/connectors', { name, config: learnConnector(topic, LEARNERS['scw-ii']!, { 'model.topic': uniqueName('it-clearn-models') }) }), 201);
  const before = await waitAllRunning(workers[1]!, [name], 1);
  const owner = workers.find((w) => w.workerId === before[name]!.tasks[0]!.worker_id)!;
  const survivors = workers.filter((w) => w !== owner);
  await produce(topic, records.slice(0, 1200));
  // a checkpoint with learned labels, then the owner dies mid-stream
  await waitFor(async () => {
    const s = await learnerStatus(survivors[0]!.api, name); // forwarded to the owner
    return s && s.learned > 300 && s.state!.epoch >= 1 ? s : undefined;
  }, { timeoutMs: 60_000, description: 'a first checkpoint' });
  await produce(topic, records.slice(1200, 2000));
  await owner.kill();
  await produce(topic, records.slice(2000));
  const moved = await waitFor(async () => {
    const s = (await statuses(survivors[0]!))[name];
    const t = s?.tasks[0];
    return t && t.state === 'RUNNING' && t.worker_id !== owner.workerId ? t : undefined;
  }, { timeoutMs: 90_000, intervalMs: 500, description: 'the Learn task RUNNING on a survivor' });
  expect(survivors.map((w) => w.workerId)).toContain(moved.worker_id);
  const final = await waitFor(async () => {
    const s = await learnerStatus(survivors[0]!.api, name);
    return s && s.learned >= d.y.length ? s : undefined;
  }, { timeoutMs: 90_000, description: 'every label learned' });
  await sleep(1500);
  expect((await learnerStatus(survivors[1]!.api, name))!.learned).toBe(d.y.length);
  expect(final.state!.restoredFrom!.epoch).toBeGreaterThanOrEqual(1);
  const model = (await survivors[1]!.api.get(`/learners/${name}/model`)).body;
  expect(model).toEqual(JSON.parse(JSON.stringify(ref.learner.toLinearModel())));
  // eslint-disable-next-line no-console
  console.log(`cluster learner failover: moved from ${owner.workerId} to ${moved.worker_id}, restored from epoch ${final.state!.restoredFrom!.epoch}; ${d.y.length} labels, weights equal the uninterrupted run`);
});

it('hot swap with a Score connector on three workers: each partition switches version once, never back, nothing lost or doubled', async () => {
  const workers = await startCluster(3);
  const { followers } = await leaderAndFollowers(workers);
  const iris = fixture('iris-logreg-v1');
  const modelId = uniqueName('cl-iris');
  await publish(followers[0]!.api, modelBody(modelId, '1', 'iris-logreg-v1'));
  const input = await createTopic(uniqueName('it-clswap-in'), 6);
  const output = await createTopic(uniqueName('it-clswap-out'), 6);
  topics.push(input, output);
  const name = uniqueName('clswap');
  expectStatus(await followers[1]!.api.post('/connectors', { name, config: scoringConnector(input, output, { 'model.id': modelId }, { 'tasks.max': '3' }) }), 201);
  const running = await waitAllRunning(workers[0]!, [name], 3);
  expect(new Set(running[name]!.tasks.map((t) => t.worker_id)).size).toBe(3);
  const record = (i: number) => {
    const row = iris.expected.rows[i % iris.expected.rows.length]!;
    return { key: `r${i}`, partition: i % 6, value: Object.fromEntries([['id', i], ...iris.features.map((f, j) => [f, row[j]!])]) };
  };
  const N = 6000;
  let sent = 0;
  const stream = async (to: number) => {
    for (; sent < to; sent += 200) {
      await produce(input, Array.from({ length: 200 }, (_v, k) => record(sent + k)));
      await sleep(20);
    }
  };
  await stream(N / 2);
  await publish(workers[2]!.api, modelBody(modelId, '2', 'iris-logreg-v2'));
  await stream(N);
  const out = await waitFor(async () => {
    const recs = await readTopic<{ id: number; prediction: { model_version: string } }>(output, await endOffsets(output));
    return recs.length >= N && recs.filter((r) => r.value.prediction.model_version === '2').length > 0 ? recs : undefined;
  }, { timeoutMs: 90_000, intervalMs: 1000, description: `${N} scored records, some by version 2` });
  expect(out.length).toBe(N);
  expect(new Set(out.map((r) => r.value.id)).size).toBe(N);
  const switches: number[] = [];
  for (let p = 0; p < 6; p++) {
    const versions = out.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset).map((r) => r.value.prediction.model_version);
    const firstV2 = versions.indexOf('2');
    expect(firstV2).toBeGreaterThan(0);
    expect(versions.slice(firstV2).every((v) => v === '2')).toBe(true);
    expect(versions.slice(0, firstV2).every((v) => v === '1')).toBe(true);
    switches.push(firstV2);
  }
  // eslint-disable-next-line no-console
  console.log(`cluster hot swap: 3 scoring tasks on 3 workers; every partition switched once (at offsets ${switches.join(', ')}); ${N} in → ${out.length} out, no duplicates`);
});
