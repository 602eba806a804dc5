/**
 * The data path under load: 100,000 schemaless JSON records on a 4-partition topic go through a
 * KafkaTopicSink connector (tasks.max=2) with two SMTs (InsertField$Value, ReplaceField$Value) into
 * a 4-partition output topic. Without failures every id must arrive exactly once, transformed, in
 * source-partition order, and the connector's committed offsets must reach the end offsets.
 */
import { closeKafka, createConnector, createTopic, endOffsets, startWorker, stopAllWorkers, uniqueName, waitForState, Worker } from './helpers';
import { closeProducer, PARTITIONS, pipelineConnector, produceRange, readTopic, sum, TOTAL, waitCommittedToEnd, type OutValue } from './pipeline-support';

/**
 * Records produced before the connector starts: 15,000 per partition is more than one 1 MB fetch,
 * so the sink gets full-size batches (which, with the SMTs' extra bytes, exceed the broker's
 * 1 MB message.max.bytes unless the producer splits them).
 */
const BACKLOG = 60_000;

let worker: Worker;

beforeAll(async () => {
  worker = await startWorker();
});

afterAll(async () => {
  await closeProducer();
  await stopAllWorkers();
  await closeKafka();
});

it('moves 100,000 records through two SMTs exactly once, in partition order, and commits to the end', async () => {
  const t0 = Date.now();
  const input = await createTopic(uniqueName('it-datapath-in'), PARTITIONS);
  const output = await createTopic(uniqueName('it-datapath-out'), PARTITIONS);
  const name = uniqueName('datapath');
  // a backlog waits in the topic before the connector starts (full-size fetches); the rest is
  // produced while the connector runs
  await produceRange(input, 0, BACKLOG);
  const tBacklog = Date.now();
  await createConnector(worker.api, name, pipelineConnector(input, output));
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2, timeoutMs: 60_000 });
  const tRunning = Date.now();

  await produceRange(input, BACKLOG, TOTAL);
  const tProduced = Date.now();
  const inputEnds = await endOffsets(input);
  expect(sum(inputEnds)).toBe(TOTAL);

  // the committed offsets reach the end offsets of every input partition
  await waitCommittedToEnd(worker, name, inputEnds, output);
  const tCommitted = Date.now();

  const outEnds = await endOffsets(output);
  const records = await readTopic<OutValue>(output, outEnds);
  const tRead = Date.now();

  // every id exactly once (no failure, no rebalance while records flow)
  const seen = new Uint8Array(TOTAL);
  let dupes = 0;
  for (const r of records) {
    const id = r.value.id;
    expect(Number.isInteger(id) && id >= 0 && id < TOTAL).toBe(true);
    if (seen[id]) dupes++;
    seen[id] = 1;
  }
  const missing: number[] = [];
  for (let i = 0; i < TOTAL && missing.length < 20; i++) if (!seen[i]) missing.push(i);
  expect(missing).toEqual([]);
  expect(dupes).toBe(0);
  expect(records.length).toBe(TOTAL);

  // transforms applied; partition kept (target.partition=same); key kept
  const bad = records.filter(
    (r) =>
      r.value.pipeline !== 'kappa' ||
      r.value.seq !== undefined ||
      r.value.drop !== undefined ||
      typeof r.value.sequence !== 'number' ||
      r.value.src !== r.partition ||
      r.key !== `k${r.value.id}`,
  );
  expect(bad.slice(0, 5)).toEqual([]);

  // per output partition, in offset order, the sequence numbers are strictly increasing
  const byPartition = new Map<number, typeof records>();
  for (const r of records) {
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  expect([...byPartition.keys()].sort()).toEqual([0, 1, 2, 3]);
  for (const [p, list] of byPartition) {
    list.sort((a, b) => a.offset - b.offset);
    let prev = -1;
    for (const r of list) {
      if (r.value.sequence <= prev) throw new Error(`partition ${p}: sequence ${r.value.sequence} at offset ${r.offset} after ${prev}`);
      prev = r.value.sequence;
    }
    expect(list.length).toBe(TOTAL / PARTITIONS);
  }

  // eslint-disable-next-line no-console
  console.log(
    `data-path timings: produce backlog ${tBacklog - t0} ms, connector RUNNING ${tRunning - tBacklog} ms, ` +
      `produce the rest ${tProduced - tRunning} ms, all offsets committed ${tCommitted - tRunning} ms after RUNNING ` +
      `(${Math.round(TOTAL / ((tCommitted - tRunning) / 1000))} rec/s), read-back ${tRead - tCommitted} ms`,
  );
});
