/**
 * The worker against a broker that takes clients only through SASL_SSL + SCRAM: this file starts
 * its own broker (scripts/kafka.sh with KAFKA_SASL_SSL_PORT: test CA and broker certificate from
 * scripts/kafka-tls.sh, SCRAM users created when the log dir is formatted). The worker's
 * bootstrap.servers is the SASL_SSL listener only; the test's own kafkajs client reads and writes
 * through the broker's PLAINTEXT listener.
 *
 *   - the data path (KafkaTopicSink, 10,000 records, a worker restart in the middle) delivers every
 *     record, with the truststore as a PEM file (default client, SCRAM-SHA-512) and as a PKCS12
 *     file (kafkajs client, SCRAM-SHA-256);
 *   - a wrong password stops the worker at start-up with the broker's reason, quickly;
 *   - a connector whose consumer.override.* credentials are wrong gets a FAILED task naming the
 *     authentication failure; fixed, it delivers every record (nothing lost);
 *   - no password appears in any worker output.
 *
 * Ports: KAPPA_SECURITY_KAFKA_PORT (PLAINTEXT, default 19492), +1 controller, +2 SASL_SSL.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const PLAINTEXT_PORT = Number(process.env.KAPPA_SECURITY_KAFKA_PORT ?? 19492);
const SASL_SSL_PORT = PLAINTEXT_PORT + 2;
// before the helpers read it: the test's own client uses the PLAINTEXT listener of this broker
process.env.KAFKA_BOOTSTRAP_SERVERS = `127.0.0.1:${PLAINTEXT_PORT}`;

/* eslint-disable import/first */
import {
  closeKafka, createConnector, createTopic, endOffsets, freePort, REPO_ROOT, runWorkerToExit, startWorker, stopAllWorkers, tmpDir,
  uniqueName, waitFor, waitForState, waitForTaskState, writeProperties, defaultProperties, type Worker,
} from './helpers';
import { closeProducer, PARTITIONS, pipelineConnector, produceRange, readTopic, sum, type OutValue } from './pipeline-support';

const RECORDS = 10_000;
const USER = 'kappa-it';
const PASSWORD = 'scram-it-Secret-7f3';
const STORE_PASSWORD = 'store-it-Secret-9c1';
const WRONG_PASSWORD = 'wrong-it-Secret-2d5';
const DATA_DIR = path.join(REPO_ROOT, '.data', `kafka-security-${PLAINTEXT_PORT}`);
const TLS_DIR = path.join(DATA_DIR, 'tls');
const KAFKA_SH = path.join(REPO_ROOT, 'scripts', 'kafka.sh');
const brokerEnv = {
  ...process.env,
  KAFKA_PORT: String(PLAINTEXT_PORT),
  KAFKA_SASL_SSL_PORT: String(SASL_SSL_PORT),
  KAFKA_DATA_DIR: DATA_DIR,
  KAFKA_SCRAM_USERS: `${USER}:${PASSWORD}`,
  KAFKA_TLS_PASSWORD: STORE_PASSWORD,
  KAFKA_START_TIMEOUT: '90',
};
const run = promisify(execFile);

const jaas = (password: string) => `org.apache.kafka.common.security.scram.ScramLoginModule required username="${USER}" password="${password}";`;
/** the worker's Kafka settings: SASL_SSL only, truststore as a PEM file */
const PEM_CLIENT = {
  'bootstrap.servers': `127.0.0.1:${SASL_SSL_PORT}`,
  'security.protocol': 'SASL_SSL',
  'sasl.mechanism': 'SCRAM-SHA-512',
  'sasl.jaas.config': jaas(PASSWORD),
  'ssl.truststore.type': 'PEM',
  'ssl.truststore.location': path.join(TLS_DIR, 'ca.pem'),
};
/** the same broker, truststore as PKCS12 with its password, SCRAM-SHA-256, the kafkajs client */
const PKCS12_CLIENT = {
  ...PEM_CLIENT,
  'kafka.client': 'kafkajs',
  'sasl.mechanism': 'SCRAM-SHA-256',
  'ssl.truststore.type': 'PKCS12',
  'ssl.truststore.location': path.join(TLS_DIR, 'truststore.p12'),
  'ssl.truststore.password': STORE_PASSWORD,
};

const SECRETS = [PASSWORD, STORE_PASSWORD, WRONG_PASSWORD];
const expectNoSecret = (text: string) => {
  for (const s of SECRETS) expect(text).not.toContain(s);
};

let worker: Worker | undefined;

/** progress lines on stderr with KAPPA_IT_TRACE=1 (jest buffers console.log until the test ends) */
const t0 = Date.now();
const trace = (msg: string) => {
  if (process.env.KAPPA_IT_TRACE) process.stderr.write(`[security-kafka +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
};

beforeAll(async () => {
  await run('bash', [KAFKA_SH, 'start'], { env: brokerEnv, cwd: REPO_ROOT });
  trace('broker started');
}, 180_000);

afterAll(async () => {
  await closeProducer();
  await stopAllWorkers();
  await closeKafka();
  await run('bash', [KAFKA_SH, 'stop'], { env: brokerEnv, cwd: REPO_ROOT }).catch(() => undefined);
});

/** Every input id has an output record; returns the output records (duplicates allowed: at-least-once). */
async function expectAllDelivered(output: string): Promise<void> {
  await waitFor(async () => sum(await endOffsets(output)) >= RECORDS, { timeoutMs: 60_000, intervalMs: 500, description: `${RECORDS} records in ${output}` });
  const out = await readTopic<OutValue>(output, await endOffsets(output));
  const ids = new Set(out.map((r) => r.value.id));
  const missing = [];
  for (let i = 0; i < RECORDS; i++) if (!ids.has(i)) missing.push(i);
  expect(missing).toEqual([]);
  expect(out.every((r) => r.value.pipeline === 'kappa')).toBe(true);
}

/** The data path through SASL_SSL: half the records, a worker restart, the other half; all arrive. */
async function dataPathWithRestart(w: Worker): Promise<void> {
  const input = await createTopic(uniqueName('it-sec-in'), PARTITIONS);
  const output = await createTopic(uniqueName('it-sec-out'), PARTITIONS);
  const name = uniqueName('sec');
  await createConnector(w.api, name, pipelineConnector(input, output));
  await waitForState(w.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2, timeoutMs: 60_000 });
  trace('connector running');
  await produceRange(input, 0, RECORDS / 2);
  await waitFor(async () => sum(await endOffsets(output)) >= RECORDS / 4, { timeoutMs: 60_000, intervalMs: 200, description: 'output before the restart' });
  trace('output before the restart');
  await w.stop();
  trace('worker stopped');
  await w.restart();
  trace('worker restarted');
  await waitForState(w.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 2, timeoutMs: 60_000 });
  trace('connector running again');
  await produceRange(input, RECORDS / 2, RECORDS);
  await expectAllDelivered(output);
  trace('all delivered');
}

it('truststore as PEM (default client, SCRAM-SHA-512): 10,000 records through SASL_SSL with a worker restart, all delivered', async () => {
  worker = await startWorker({ props: PEM_CLIENT });
  trace('worker started');
  await dataPathWithRestart(worker);
  expectNoSecret(worker.logs());
});

it('truststore as PKCS12 (kafkajs client, SCRAM-SHA-256): 10,000 records through SASL_SSL with a worker restart, all delivered', async () => {
  const w = await startWorker({ props: PKCS12_CLIENT });
  try {
    await dataPathWithRestart(w);
    expectNoSecret(w.logs());
  } finally {
    await w.stop();
  }
});

it('a wrong password stops the worker at start-up naming the authentication failure (no hang, no secret printed)', async () => {
  const file = path.join(tmpDir('kappa-it-sec-'), 'worker.properties');
  writeProperties(file, { ...defaultProperties(await freePort()), ...PEM_CLIENT, 'sasl.jaas.config': jaas(WRONG_PASSWORD) });
  const t0 = Date.now();
  const result = await runWorkerToExit([file], { timeoutMs: 45_000 });
  expect(result.timedOut).toBe(false);
  expect(result.code).toBe(1);
  // the worker's ERROR line (through its logger, on stdout) names the failure and the broker's reason
  const output = result.stdout + result.stderr;
  expect(output).toMatch(/ERROR +Worker failed to start/);
  expect(output).toContain('KafkaSecurityError: Kafka authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512');
  expectNoSecret(result.stdout + result.stderr);
  expect(Date.now() - t0).toBeLessThan(45_000);
});

it("a connector's consumer.override.* with a wrong password fails its tasks with the reason; fixed, every record arrives", async () => {
  const w = worker!;
  const input = await createTopic(uniqueName('it-sec-ovr-in'), PARTITIONS);
  const output = await createTopic(uniqueName('it-sec-ovr-out'), PARTITIONS);
  const name = uniqueName('sec-ovr');
  const config = { ...pipelineConnector(input, output), 'tasks.max': '1' };
  await produceRange(input, 0, RECORDS);
  await createConnector(w.api, name, { ...config, 'consumer.override.sasl.jaas.config': jaas(WRONG_PASSWORD) });
  const failed = await waitForTaskState(w.api, name, 0, 'FAILED', 60_000);
  expect(failed.trace).toContain('Kafka authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512');
  expectNoSecret(failed.trace ?? '');
  expect(sum(await endOffsets(output))).toBe(0);
  // the right credentials as an override this time: every record is delivered
  const res = await w.api.put(`/connectors/${name}/config`, { ...config, 'consumer.override.sasl.jaas.config': jaas(PASSWORD) });
  expect(res.status).toBe(200);
  await waitForState(w.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1, timeoutMs: 60_000 });
  await expectAllDelivered(output);
  expectNoSecret(w.logs());
});
