/**
 * A Connect cluster of three worker processes on the real broker: connectors and tasks spread over
 * the workers through Kafka's group coordinator, REST writes sent to any worker, failover after
 * kill -9, a rolling restart under load, and a leader that dies in the middle of a create.
 */
import {
  closeKafka, createTopic, deleteTopics, describeResponse, endOffsets, expectStatus, KAFKA_TOPIC_SINK, sleep, startWorker, stopAllWorkers, uniqueName, waitFor, type Worker,
} from './helpers';
import { clusterProperties, leaderAndFollowers, startCluster, statuses, waitAllRunning, type ConnectorStatus } from './helpers/cluster';
import { closeProducer, PARTITIONS, pipelineConnector, produceRange, readTopic, sum, waitCommittedToEnd, type OutValue } from './pipeline-support';

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
  if (process.env.KAPPA_IT_TRACE) process.stderr.write(`[cluster ${new Date().toISOString()}] ${msg}\n`);
};

/** Status maps compared without traces and task order (what every worker must agree on). */
function comparable(s: Record<string, ConnectorStatus>): string {
  return JSON.stringify(Object.keys(s).sort().map((n) => [n, s[n]!.connector.state, s[n]!.connector.worker_id, [...s[n]!.tasks].sort((a, b) => a.id - b.id).map((t) => [t.id, t.state, t.worker_id])]));
}

/** Counts outputs per input id; returns lost ids (first 20) and duplicates. */
function countOutputs(total: number, outRecs: { value: OutValue }[]): { lost: number[]; duplicated: number } {
  const count = new Uint16Array(total);
  for (const r of outRecs) count[r.value.id]!++;
  const lost: number[] = [];
  let duplicated = 0;
  for (let i = 0; i < total; i++) {
    if (count[i] === 0 && lost.length < 20) lost.push(i);
    if (count[i]! > 1) duplicated += count[i]! - 1;
  }
  return { lost, duplicated };
}

it('six connectors with tasks.max=2 created through a follower: every worker shows them alike, tasks spread, every record once', async () => {
  const workers = await startCluster(3);
  const { followers } = await leaderAndFollowers(workers);
  const via = followers[0]!;
  const names: string[] = [];
  const outputs: string[] = [];
  const inputs: string[] = [];
  for (let i = 0; i < 6; i++) {
    const input = await createTopic(uniqueName('it-cl-in'), PARTITIONS);
    const output = await createTopic(uniqueName('it-cl-out'), PARTITIONS);
    topics.push(input, output);
    const name = uniqueName(`cl${i}`);
    const res = await via.api.post('/connectors', { name, config: pipelineConnector(input, output) });
    expectStatus(res, 201);
    names.push(name);
    inputs.push(input);
    outputs.push(output);
  }
  const seen = await waitAllRunning(via, names, 2);
  // every worker lists the six, with the same statuses
  await waitFor(async () => {
    const all = await Promise.all(workers.map((w) => statuses(w)));
    return all.every((s) => Object.keys(s).length === 6 && comparable(s) === comparable(all[0]!));
  }, { timeoutMs: 10_000, description: 'the same statuses on every worker' });
  // the twelve tasks spread over the three workers
  const perWorker = new Map<string, number>();
  for (const n of names) for (const t of seen[n]!.tasks) perWorker.set(t.worker_id, (perWorker.get(t.worker_id) ?? 0) + 1);
  expect(perWorker.size).toBe(3);
  expect(Math.max(...perWorker.values())).toBeLessThanOrEqual(5);
  expect(new Set(perWorker.keys())).toEqual(new Set(workers.map((w) => w.workerId)));

  // every input record processed once (a clean run: no duplicates)
  const N = 2000;
  for (const input of inputs) await produceRange(input, 0, N);
  for (let i = 0; i < 6; i++) await waitCommittedToEnd(via, names[i]!, await endOffsets(inputs[i]!), outputs[i]!);
  for (const output of outputs) {
    const out = await readTopic<OutValue>(output, await endOffsets(output));
    const { lost, duplicated } = countOutputs(N, out);
    expect(lost).toEqual([]);
    expect(duplicated).toBe(0);
    expect(out.length).toBe(N);
  }
  // eslint-disable-next-line no-console
  console.log(`cluster: 12 tasks over 3 workers: ${JSON.stringify(Object.fromEntries(perWorker))}`);
});

it('kill -9 of a worker during a 200,000-record stream: its tasks move to the survivors, nothing is lost', async () => {
  const TOTAL = 200_000;
  const workers = await startCluster(3, { props: { 'consumer.session.timeout.ms': '10000' } });
  const { followers } = await leaderAndFollowers(workers);
  const input = await createTopic(uniqueName('it-clk-in'), PARTITIONS);
  const output = await createTopic(uniqueName('it-clk-out'), PARTITIONS);
  topics.push(input, output);
  const name = uniqueName('clkill');
  expectStatus(await workers[0]!.api.post('/connectors', { name, config: { ...pipelineConnector(input, output), 'tasks.max': '3' } }), 201);
  const before = await waitAllRunning(workers[0]!, [name], 3);
  // the victim: a follower that runs at least one task
  const victim = followers.find((w) => before[name]!.tasks.some((t) => t.worker_id === w.workerId)) ?? followers[0]!;
  const survivors = workers.filter((w) => w !== victim);
  const producing = produceRange(input, 0, TOTAL);
  await waitFor(async () => sum(await endOffsets(output)) >= 40_000, { timeoutMs: 60_000, intervalMs: 50, description: 'output under way' });
  await victim.kill();
  const tKill = Date.now();
  trace('killed');
  await producing;
  const inputEnds = await endOffsets(input);
  // the victim's tasks run again on the survivors, with their worker ids
  const after = await waitFor(async () => {
    const s = (await statuses(survivors[0]!))[name];
    if (!s || s.tasks.length !== 3 || !s.tasks.every((t) => t.state === 'RUNNING' && t.worker_id !== victim.workerId)) return undefined;
    return s;
  }, { timeoutMs: 90_000, intervalMs: 500, description: 'all tasks RUNNING on the survivors' });
  const tRunning = Date.now();
  expect(after.tasks.every((t) => survivors.some((w) => w.workerId === t.worker_id))).toBe(true);
  await waitCommittedToEnd(survivors[0]!, name, inputEnds, output);
  // the survivors agree on every status
  await waitFor(async () => comparable(await statuses(survivors[0]!)) === comparable(await statuses(survivors[1]!)), { timeoutMs: 10_000 });
  const out = await readTopic<OutValue>(output, await endOffsets(output));
  const { lost, duplicated } = countOutputs(TOTAL, out);
  expect(lost).toEqual([]);
  expect(out.length).toBe(TOTAL + duplicated);
  // eslint-disable-next-line no-console
  console.log(`cluster kill -9: tasks RUNNING on the survivors ${tRunning - tKill} ms after the kill; ${TOTAL} inputs → ${out.length} outputs, 0 lost, ${duplicated} duplicates (the uncommitted window)`);
});

it('rolling restart of all three workers under load: nothing lost, some worker always answers', async () => {
  const TOTAL = 100_000;
  const workers = await startCluster(3, { props: { 'consumer.session.timeout.ms': '10000' } });
  const input = await createTopic(uniqueName('it-clr-in'), PARTITIONS);
  const output = await createTopic(uniqueName('it-clr-out'), PARTITIONS);
  topics.push(input, output);
  const name = uniqueName('clroll');
  expectStatus(await workers[0]!.api.post('/connectors', { name, config: { ...pipelineConnector(input, output), 'tasks.max': '3' } }), 201);
  await waitAllRunning(workers[0]!, [name], 3);
  // a probe: every 200 ms, is any worker answering 2xx?
  let probing = true;
  let gaps = 0;
  let probes = 0;
  const probe = (async () => {
    while (probing) {
      const ok = await Promise.all(workers.map((w) => fetch(`${w.url}/connectors`, { signal: AbortSignal.timeout(1500) }).then((r) => r.ok, () => false)));
      probes++;
      if (!ok.some(Boolean)) gaps++;
      await sleep(200);
    }
  })();
  const producing = produceRange(input, 0, TOTAL);
  for (const w of workers) {
    await sleep(1500);
    trace(`restarting ${w.workerId}`);
    await w.stop();
    await w.restart();
  }
  await producing;
  const inputEnds = await endOffsets(input);
  await waitAllRunning(workers[0]!, [name], 3);
  await waitCommittedToEnd(workers[0]!, name, inputEnds, output);
  probing = false;
  await probe;
  const out = await readTopic<OutValue>(output, await endOffsets(output));
  const { lost, duplicated } = countOutputs(TOTAL, out);
  expect(lost).toEqual([]);
  expect(gaps).toBe(0);
  // eslint-disable-next-line no-console
  console.log(`cluster rolling restart: ${probes} probes, ${gaps} without any 2xx; ${TOTAL} inputs → ${out.length} outputs, 0 lost, ${duplicated} duplicates`);
});

it('two workers start at once; the leader dies in the middle of a create: the connector exists whole or not at all', async () => {
  const shared = clusterProperties();
  const workers = await Promise.all([startWorker({ props: shared }), startWorker({ props: shared })]);
  const { leader, followers } = await leaderAndFollowers(workers);
  const input = await createTopic(uniqueName('it-clc-in'), 2);
  const output = await createTopic(uniqueName('it-clc-out'), 2);
  topics.push(input, output);
  const name = uniqueName('clcreate');
  const config = { 'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': '2', topics: input, 'target.topic': output };
  const creating = followers[0]!.api.post('/connectors', { name, config }).then((r) => r, (e: unknown) => e);
  await sleep(5);
  await leader.kill();
  const res = await creating;
  const survivor = followers[0]!;
  // the survivor takes over; the outcome is consistent with what the client was told
  await leaderAndFollowers([survivor], 60_000);
  const got = await waitFor(async () => {
    const r = await survivor.api.get(`/connectors/${name}`);
    return r.status === 200 || r.status === 404 ? r : undefined;
  }, { timeoutMs: 30_000 });
  if (got.status === 200) {
    // created: whole, with its tasks running
    await waitAllRunning(survivor, [name], 2);
    expect((await survivor.api.get(`/connectors/${name}/config`)).body).toEqual({ ...config, name });
  } else {
    // not created: the client got an error, not a success
    const status = (res as { status?: number }).status;
    expect(status === undefined || status >= 400).toBe(true);
  }
  // eslint-disable-next-line no-console
  console.log(`cluster create during leader death: client got ${(res as { status?: number }).status !== undefined ? describeResponse(res as never).slice(0, 200) : String(res)}; connector ${got.status === 200 ? 'exists whole' : 'does not exist'}`);
});

it('a worker that cannot reach the leader answers writes with Connect\'s error, not a hang', async () => {
  // the leader advertises a URL nobody listens on
  const shared = clusterProperties();
  const leader = await startWorker({ props: { ...shared, 'rest.advertised.port': '1' } });
  await leaderAndFollowers([leader]);
  const follower: Worker = await startWorker({ props: shared });
  await waitFor(() => /Joined generation \d+ as member/.test(follower.logs()), { timeoutMs: 60_000 });
  const t0 = Date.now();
  const res = await follower.api.post('/connectors', { name: uniqueName('clnoleader'), config: { 'connector.class': KAFKA_TOPIC_SINK, topics: 'x', 'target.topic': 'y' } });
  const took = Date.now() - t0;
  expect([409, 500]).toContain(res.status);
  expect(res.body).toEqual({ error_code: res.status, message: expect.stringMatching(/forward|leader|rebalance/i) });
  expect(took).toBeLessThan(20_000);
});
