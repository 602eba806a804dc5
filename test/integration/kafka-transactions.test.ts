/**
 * The transactional producer of exactly_once_v2 tasks (the Kafka port, platformatic adapter) when
 * its coordinator requests fail for a while: the broker refuses new connections (a broker
 * restarting, a listener overloaded) while the producer claims its transactional id. The claim is
 * retried until the broker answers, then a transaction commits and a read_committed reader sees
 * it. (The library's own producer, once a begin failed, refused every later one with "There is
 * already an active transaction", which failed the task for good.)
 *
 * The producer runs in a child process on the built worker (dist/), as in a task thread; the broker
 * is reached through a TCP proxy of this test that can refuse connections.
 */
import { execFile } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { BOOTSTRAP_SERVERS, closeKafka, createTopic, deleteTopics, uniqueName } from './helpers';
import { readTopic } from './pipeline-support';

const topics: string[] = [];
afterAll(async () => {
  await deleteTopics(topics);
  await closeKafka();
});

/** A TCP proxy to the broker's bootstrap address that refuses connections while `refusing` is set. */
function refusingProxy(target: string): Promise<{ port: number; refusing: boolean; refused: number; close(): void }> {
  const [host, port] = [target.split(':')[0]!, Number(target.split(':')[1])];
  const sockets = new Set<net.Socket>();
  const state = { port: 0, refusing: true, refused: 0, close: () => { for (const s of sockets) s.destroy(); server.close(); } };
  const server = net.createServer((client) => {
    if (state.refusing) {
      state.refused++;
      client.destroy();
      return;
    }
    const upstream = net.connect(port, host);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    state.port = (server.address() as net.AddressInfo).port;
    resolve(state);
  }));
}

/** Claims the transactional id, writes one record in a transaction and commits it; prints what it did as JSON. */
const PRODUCER_SCRIPT = `
const { createKafkaClient } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'kafka'))});
const [bootstrap, transactionalId, topic] = process.argv.slice(1);
const lines = [];
const logger = { error: (m) => lines.push('ERROR ' + m), warn: (m) => lines.push('WARN ' + m), info: (m) => lines.push('INFO ' + m), debug: (m) => lines.push('DEBUG ' + m) };
(async () => {
  const client = createKafkaClient('platformatic', { bootstrapServers: [bootstrap], clientId: 'it-tx', logger, producerProps: { 'max.block.ms': '60000' } });
  const producer = client.transactionalProducer({ clientId: 'it-tx', transactionalId, transactionTimeoutMs: 60000 });
  const started = Date.now();
  try {
    await producer.init();
    const claimedAfterMs = Date.now() - started;
    await producer.send([{ topic, key: 'k', value: JSON.stringify({ transactionalId }) }]);
    await producer.commit();
    console.log(JSON.stringify({ ok: true, claimedAfterMs, lines }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, error: String(e && e.message), lines }));
  }
  await producer.close();
  process.exit(0);
})();
`;

it('a transactional producer whose broker refuses connections for 30 s while it claims its id claims it once the broker answers, and commits', async () => {
  const topic = await createTopic(uniqueName('it-tx-out'), 1);
  topics.push(topic);
  const proxy = await refusingProxy(BOOTSTRAP_SERVERS.split(',')[0]!.trim());
  try {
    const transactionalId = uniqueName('it-tx');
    const run = new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['-e', PRODUCER_SCRIPT, `127.0.0.1:${proxy.port}`, transactionalId, topic], { timeout: 100_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    // longer than the library's own retries of FindCoordinator (it gave up after about 22 s, six
    // connection attempts), shorter than max.block.ms (60 s)
    await new Promise((r) => setTimeout(r, 30_000));
    proxy.refusing = false;
    const out = JSON.parse((await run).trim().split('\n').pop()!) as { ok: boolean; error?: string; claimedAfterMs?: number; lines: string[] };
    expect(proxy.refused).toBeGreaterThan(0);
    expect(out).toMatchObject({ ok: true });
    expect(out.claimedAfterMs).toBeGreaterThanOrEqual(29_000);
    // the record of the committed transaction, for a read_committed reader (kafkajs reads read_committed)
    const records = await readTopic<{ transactionalId: string }>(topic, new Map([[0, 2]]), 30_000, 1);
    expect(records.map((r) => r.value.transactionalId)).toEqual([transactionalId]);
  } finally {
    proxy.close();
  }
}, 150_000);
