/**
 * Create/delete churn of one connector name: 200 sequential create → delete cycles, then 10 clients
 * racing creates and deletes of the same name. Afterwards, with the connector deleted, no consumer
 * of `connect-<name>` is left (the broker lists no member) and records produced to its topic move
 * no committed offset: no task outlives its connector.
 */
import { closeKafka, createTopic, getAdmin, groupOffsets, KAFKA_TOPIC_SINK, produceJson, sleep, startWorker, stopAllWorkers, uniqueName, waitFor, type Worker } from './helpers';

let worker: Worker;

beforeAll(async () => {
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

async function members(group: string): Promise<number> {
  const d = await (await getAdmin()).describeGroups([group]);
  return d.groups[0]?.members.length ?? 0;
}

it('200 create→delete cycles (sequential, then 10 racing clients) leave no task behind', async () => {
  const input = await createTopic(uniqueName('it-churn-in'), 2);
  const output = await createTopic(uniqueName('it-churn-out'), 2);
  const name = uniqueName('churn');
  const config = { 'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': '2', topics: input, 'target.topic': output };
  // some data, so that tasks that run do consume and commit
  await produceJson(input, 200, { partitions: 2 });
  const t0 = Date.now();
  for (let i = 0; i < 200; i++) {
    const c = await worker.api.post('/connectors', { name, config });
    expect(c.status).toBe(201);
    const d = await worker.api.delete(`/connectors/${name}`);
    expect(d.status).toBe(204);
  }
  const sequentialMs = Date.now() - t0;
  // racing clients: every answer is one Connect gives (201/409 for creates, 204/404 for deletes)
  const t1 = Date.now();
  const answers = new Map<number, number>();
  await Promise.all(Array.from({ length: 10 }, async () => {
    for (let i = 0; i < 20; i++) {
      const c = await worker.api.post('/connectors', { name, config });
      answers.set(c.status, (answers.get(c.status) ?? 0) + 1);
      const d = await worker.api.delete(`/connectors/${name}`);
      answers.set(d.status, (answers.get(d.status) ?? 0) + 1);
    }
  }));
  const racingMs = Date.now() - t1;
  expect([...answers.keys()].every((s) => [201, 204, 404, 409].includes(s))).toBe(true);
  // the final state: deleted
  const last = await worker.api.delete(`/connectors/${name}`);
  expect([204, 404]).toContain(last.status);
  expect((await worker.api.get('/connectors')).body).not.toContain(name);

  // no member of connect-<name> is left once the deletes have been carried out
  const group = `connect-${name}`;
  await waitFor(async () => (await members(group)) === 0, { timeoutMs: 60_000, description: `no member left in ${group}` });
  const before = await groupOffsets(group, input);
  await produceJson(input, 500, { start: 1000, partitions: 2 });
  await sleep(6000); // six offset flush intervals
  expect(await members(group)).toBe(0);
  expect(await groupOffsets(group, input)).toEqual(before);
  // and the worker still works: a last create runs and consumes
  const again = await worker.api.post('/connectors', { name, config });
  expect(again.status).toBe(201);
  await waitFor(async () => (await members(group)) > 0, { timeoutMs: 60_000 });
  // eslint-disable-next-line no-console
  console.log(`faults-churn: 200 sequential cycles in ${sequentialMs} ms, 200 racing cycles by 10 clients in ${racingMs} ms (answers ${JSON.stringify(Object.fromEntries(answers))}); no member left afterwards, committed offsets unchanged`);
});
