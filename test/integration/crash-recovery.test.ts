/**
 * Crash recovery on the data path: the pipeline of data-path.test.ts (100,000 schemaless JSON
 * records, 4 partitions, KafkaTopicSink with InsertField$Value + ReplaceField$Value, tasks.max=2)
 * loses its worker to SIGKILL while records are flowing. The worker is started again with the same
 * properties; the connector must come back RUNNING by itself and every input record
 * (topic, partition, offset → id) must have at least one output record: at-least-once, nothing
 * lost. Duplicates (what was written after the last commit before the kill) are reported.
 */
import { closeKafka, createConnector, createTopic, endOffsets, groupOffsets, sleep, startWorker, stopAllWorkers, uniqueName, waitForState, Worker } from './helpers';
import { closeProducer, committedOffsets, PARTITIONS, pipelineConnector, produceRange, readTopic, sum, TOTAL, waitCommittedToEnd, type OutValue } from './pipeline-support';

/** SIGKILL once this many records are in the output topic (the pipeline is then mid-flow) */
const KILL_AFTER = 30_000;
/**
 * The killed worker's consumers stay in group connect-<name> until their session times out; the
 * restarted tasks cannot get partitions before that. 10 s keeps the test short (Connect's default
 * is 45 s, the worker's 30 s).
 */
const SESSION_TIMEOUT_MS = '10000';

let worker: Worker;

beforeAll(async () => {
  worker = await startWorker({ props: { 'consumer.session.timeout.ms': SESSION_TIMEOUT_MS } });
});

afterAll(async () => {
  await closeProducer();
  await stopAllWorkers();
  await closeKafka();
});

/** progress lines on stderr with KAPPA_IT_TRACE=1 (jest buffers console.log until the test ends) */
const trace = (msg: string) => {
  if (process.env.KAPPA_IT_TRACE) process.stderr.write(`[crash-recovery ${new Date().toISOString()}] ${msg}\n`);
};

it('after SIGKILL mid-flow and a restart, every input record has an output (at-least-once) and the connector runs again', async () => {
  const t0 = Date.now();
  const input = await createTopic(uniqueName('it-crash-in'), PARTITIONS);
  const output = await createTopic(uniqueName('it-crash-out'), PARTITIONS);
  const name = uniqueName('crash');
  await createConnector(worker.api, name, pipelineConnector(input, output));
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2, timeoutMs: 60_000 });

  // produce in the background; SIGKILL the worker once some (not all) output has appeared
  const tProduce = Date.now();
  let tProduced = 0;
  trace('producing');
  const producing = produceRange(input, 0, TOTAL).then(() => { tProduced = Date.now(); });
  let producingError: unknown;
  producing.catch((e) => (producingError = e));
  let outAtKill = 0;
  const killDeadline = Date.now() + 60_000;
  for (;;) {
    if (producingError) throw producingError;
    outAtKill = sum(await endOffsets(output));
    if (outAtKill >= KILL_AFTER) break;
    if (Date.now() > killDeadline) {
      throw new Error(`only ${outAtKill} output records after 60 s (input: ${sum(await endOffsets(input))}); worker log:\n${worker.logs().slice(-4000)}`);
    }
    await sleep(20);
  }
  const committedBeforeKill = await committedOffsets(worker, name).catch(() => new Map<number, number>());
  const inAtKill = sum(await endOffsets(input));
  await worker.kill();
  const tKill = Date.now();
  const outAfterKill = sum(await endOffsets(output));
  const committedAtKill = await groupOffsets(`connect-${name}`, input);
  await producing;
  const inputEnds = await endOffsets(input);
  expect(sum(inputEnds)).toBe(TOTAL);
  // the kill happened mid-flow: some output, not all of it
  expect(outAfterKill).toBeGreaterThan(0);
  expect(outAfterKill).toBeLessThan(TOTAL);

  trace(`killed: output ${outAfterKill}, committed ${sum(committedAtKill)}`);
  // same properties file; the connector and both tasks come back RUNNING by themselves
  await worker.restart();
  const tUp = Date.now();
  trace('restarted');
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2, timeoutMs: 60_000 });
  const tRunning = Date.now();
  trace('RUNNING again');

  await waitCommittedToEnd(worker, name, inputEnds, output);
  const tDone = Date.now();
  trace('all committed');

  // what each input offset carried, and what arrived
  const [inRecs, outRecs] = await Promise.all([readTopic<{ id: number }>(input, inputEnds), readTopic<OutValue>(output, await endOffsets(output))]);
  expect(inRecs.length).toBe(TOTAL);
  const count = new Uint16Array(TOTAL);
  for (const r of outRecs) {
    const id = r.value.id;
    if (!(Number.isInteger(id) && id >= 0 && id < TOTAL)) throw new Error(`unexpected output value ${JSON.stringify(r.value)}`);
    count[id]!++;
  }
  const lost: string[] = [];
  for (const r of inRecs) {
    if (count[r.value.id] === 0 && lost.length < 20) lost.push(`${input}/${r.partition}@${r.offset} (id ${r.value.id})`);
  }
  expect(lost).toEqual([]);

  // the transforms still apply to what was written after the restart
  const untransformed = outRecs.filter((r) => r.value.pipeline !== 'kappa' || typeof r.value.sequence !== 'number' || r.value.seq !== undefined || r.value.drop !== undefined);
  expect(untransformed.slice(0, 5)).toEqual([]);

  let duplicated = 0;
  for (let i = 0; i < TOTAL; i++) if (count[i]! > 1) duplicated += count[i]! - 1;
  expect(outRecs.length).toBe(TOTAL + duplicated);
  // eslint-disable-next-line no-console
  console.log(
    `crash-recovery: killed with ${outAfterKill} records in the output (committed before kill: ${sum(committedBeforeKill)}); ` +
      `${outRecs.length} output records for ${TOTAL} inputs → ${duplicated} duplicates (at-least-once). ` +
      `Committed at the kill: ${sum(committedAtKill)}, input at the kill: ${inAtKill}. ` +
      `Timings: produce started ${tProduce - t0} ms after start, ended ${tProduced ? tProduced - t0 : -1} ms; kill ${tKill - t0} ms after start, worker healthy again ${tUp - tKill} ms after the kill, ` +
      `connector RUNNING ${tRunning - tKill} ms, all offsets committed ${tDone - tKill} ms after the kill`,
  );
});
