/**
 * Crash recovery on the data path: the pipeline of data-path.test.ts (100,000 schemaless JSON
 * records, 4 partitions, KafkaTopicSink with InsertField$Value + ReplaceField$Value, tasks.max=2)
 * loses its worker to SIGKILL while records are flowing. The worker is started again with the same
 * properties; the connector must come back RUNNING by itself and every input record
 * (topic, partition, offset → id) must have at least one output record: at-least-once, nothing
 * lost. Duplicates (what was written after the last commit before the kill) are reported.
 */
import type { Producer } from 'kafkajs';
import {
  closeKafka,
  createConnector,
  createTopic,
  endOffsets,
  expectStatus,
  getAdmin,
  getKafka,
  groupOffsets,
  KAFKA_TOPIC_SINK,
  randomSuffix,
  sleep,
  startWorker,
  stopAllWorkers,
  uniqueName,
  waitFor,
  waitForState,
  Worker,
} from './helpers';

const TOTAL = 100_000;
const PARTITIONS = 4;
const BATCH = 1000;
/** SIGKILL once this many records are in the output topic (the pipeline is then mid-flow) */
const KILL_AFTER = 30_000;
/**
 * The killed worker's consumers stay in group connect-<name> until their session times out; the
 * restarted tasks cannot get partitions before that. 10 s keeps the test short (Connect's default
 * is 45 s, the worker's 30 s).
 */
const SESSION_TIMEOUT_MS = '10000';

interface Rec {
  partition: number;
  offset: number;
  key: string | null;
  value: { id: number; sequence?: number; seq?: number; pipeline?: string; drop?: unknown };
}

let worker: Worker;
let producer: Producer | undefined;

beforeAll(async () => {
  worker = await startWorker({ props: { 'consumer.session.timeout.ms': SESSION_TIMEOUT_MS } });
});

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  await stopAllWorkers();
  await closeKafka();
});

async function produceAll(topic: string): Promise<void> {
  producer = getKafka().producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const p = producer;
  for (let start = 0; start < TOTAL; start += BATCH) {
    const messages = [];
    for (let i = start; i < Math.min(TOTAL, start + BATCH); i++) {
      const partition = i % PARTITIONS;
      messages.push({ partition, key: `k${i}`, value: JSON.stringify({ id: i, seq: Math.floor(i / PARTITIONS), src: partition, drop: 'x' }) });
    }
    await p.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
  }
}

/** Reads every partition up to `ends` with eachBatch, JSON-parsing values. */
async function readTopic(topic: string, ends: Map<number, number>, timeoutMs = 60_000): Promise<Rec[]> {
  const expected = [...ends.values()].reduce((a, b) => a + b, 0);
  const out: Rec[] = [];
  if (expected === 0) return out;
  const groupId = `kappa-it-reader-${randomSuffix()}`;
  const consumer = getKafka().consumer({ groupId, maxBytesPerPartition: 4 * 1024 * 1024, maxWaitTimeInMs: 200 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          if (Number(m.offset) >= (ends.get(batch.partition) ?? 0)) continue;
          out.push({
            partition: batch.partition,
            offset: Number(m.offset),
            key: m.key ? m.key.toString('utf8') : null,
            value: JSON.parse(m.value!.toString('utf8')) as Rec['value'],
          });
        }
      },
    });
    await waitFor(() => out.length >= expected, { timeoutMs, intervalMs: 100, description: `${expected} records from ${topic} (have ${out.length})` });
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await (await getAdmin()).deleteGroups([groupId]).catch(() => undefined);
  }
  return out;
}

/** progress lines on stderr with KAPPA_IT_TRACE=1 (jest buffers console.log until the test ends) */
const trace = (msg: string) => {
  if (process.env.KAPPA_IT_TRACE) process.stderr.write(`[crash-recovery ${new Date().toISOString()}] ${msg}\n`);
};

const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);

async function committedOffsets(name: string): Promise<Map<number, number>> {
  const res = await worker.api.get(`/connectors/${name}/offsets`);
  expectStatus(res, 200);
  const out = new Map<number, number>();
  for (const o of res.body.offsets as { partition: { kafka_partition: number }; offset: { kafka_offset: number } }[]) {
    out.set(o.partition.kafka_partition, o.offset.kafka_offset);
  }
  return out;
}

it('after SIGKILL mid-flow and a restart, every input record has an output (at-least-once) and the connector runs again', async () => {
  const t0 = Date.now();
  const input = await createTopic(uniqueName('it-crash-in'), PARTITIONS);
  const output = await createTopic(uniqueName('it-crash-out'), PARTITIONS);
  const name = uniqueName('crash');
  await createConnector(worker.api, name, {
    'connector.class': KAFKA_TOPIC_SINK,
    'tasks.max': '2',
    topics: input,
    'target.topic': output,
    transforms: 'insert,rename',
    'transforms.insert.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
    'transforms.insert.static.field': 'pipeline',
    'transforms.insert.static.value': 'kappa',
    'transforms.rename.type': 'org.apache.kafka.connect.transforms.ReplaceField$Value',
    'transforms.rename.renames': 'seq:sequence',
    'transforms.rename.exclude': 'drop',
  });
  await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2, timeoutMs: 60_000 });

  // produce in the background; SIGKILL the worker once some (not all) output has appeared
  const tProduce = Date.now();
  let tProduced = 0;
  trace('producing');
  const producing = produceAll(input).then(() => { tProduced = Date.now(); });
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
  const committedBeforeKill = await committedOffsets(name).catch(() => new Map<number, number>());
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

  let lastCommitted = new Map<number, number>();
  try {
    await waitFor(
      async () => {
        const c = (lastCommitted = await committedOffsets(name));
        return [...inputEnds].every(([p, end]) => c.get(p) === end) ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  } catch (e) {
    const group = await (await getAdmin()).describeGroups([`connect-${name}`]).catch((x) => String(x));
    throw new Error(
      `committed offsets of ${name} did not reach ${JSON.stringify([...inputEnds])}: last ${JSON.stringify([...lastCommitted])}; ` +
        `output now ${sum(await endOffsets(output))}; group ${JSON.stringify(group).slice(0, 1500)}\n` +
        `status ${(await worker.api.get(`/connectors/${name}/status`)).text}\nworker log:\n${worker.logs().slice(-6000)}`,
    );
  }
  const tDone = Date.now();
  trace('all committed');

  // what each input offset carried, and what arrived
  const [inRecs, outRecs] = await Promise.all([readTopic(input, inputEnds), readTopic(output, await endOffsets(output))]);
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
