/**
 * jest globalSetup of the integration project: an OPTIONAL Kafka broker in Docker via testcontainers.
 *
 * Default (no KAPPA_TESTCONTAINERS=1, or KAFKA_BOOTSTRAP_SERVERS already set): does nothing at all;
 * testcontainers is not even loaded. The tests then use KAFKA_BOOTSTRAP_SERVERS or 127.0.0.1:19092,
 * the broker that `make test` / scripts/kafka.sh start from the Maven jars.
 *
 * Opt-in (KAPPA_TESTCONTAINERS=1 and no KAFKA_BOOTSTRAP_SERVERS): starts a single-node Apache Kafka
 * 4.x KRaft broker (image KAPPA_KAFKA_IMAGE, default apache/kafka:4.1.0) and exports
 * KAFKA_BOOTSTRAP_SERVERS; jest's workers and the workers the tests spawn inherit it.
 * global-teardown.ts stops the container. Without Docker it fails fast with one clear message.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { StartedTestContainer } from 'testcontainers';

export const DEFAULT_KAFKA_IMAGE = 'apache/kafka:4.1.0';
export const NO_DOCKER_HINT =
  'Without KAPPA_TESTCONTAINERS=1, `make test` starts a Kafka broker from the Maven jars (scripts/kafka.sh); no Docker needed.';

/** Shared with global-teardown.ts (globalSetup and globalTeardown run in the same process). */
export interface KappaTestcontainersState {
  container: StartedTestContainer;
}
const STATE_KEY = '__kappaTestcontainersKafka';
export function takeState(): KappaTestcontainersState | undefined {
  const g = globalThis as Record<string, unknown>;
  const state = g[STATE_KEY] as KappaTestcontainersState | undefined;
  delete g[STATE_KEY];
  return state;
}

export function testcontainersRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.KAPPA_TESTCONTAINERS === '1' && !env.KAFKA_BOOTSTRAP_SERVERS;
}

function dockerNeeded(detail: string): Error {
  return new Error(`KAPPA_TESTCONTAINERS=1 needs a running Docker engine (${detail}). ${NO_DOCKER_HINT}`);
}

/**
 * Cheap check before loading testcontainers: true when nothing at all points at a container
 * runtime (no DOCKER_HOST, no ~/.testcontainers.properties, none of the usual sockets). Anything
 * else is left to testcontainers' own detection, which stays the authority.
 */
export function obviouslyNoDocker(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.DOCKER_HOST || env.TESTCONTAINERS_HOST_OVERRIDE) return false;
  const home = os.homedir();
  const candidates = [
    path.join(home, '.testcontainers.properties'),
    '/var/run/docker.sock',
    env.XDG_RUNTIME_DIR ? path.join(env.XDG_RUNTIME_DIR, 'docker.sock') : '',
    path.join(home, '.docker', 'run', 'docker.sock'),
    path.join(home, '.docker', 'desktop', 'docker.sock'),
    typeof process.getuid === 'function' ? `/run/user/${process.getuid()}/docker.sock` : '',
    process.platform === 'win32' ? '//./pipe/docker_engine' : '',
  ];
  return !candidates.some((p) => p && existsSync(p));
}

/** A free TCP port on the host (probed on all interfaces, as Docker publishes on 0.0.0.0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Real readiness, like scripts/kafka.sh: a kafkajs describeCluster must succeed. */
async function waitForKafka(bootstrap: string, timeoutMs: number): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs');
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const admin = new Kafka({ clientId: 'kappa-tc-ping', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (err) {
      last = err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Kafka container at ${bootstrap} not ready after ${timeoutMs} ms: ${String(last)}`);
}

export default async function globalSetup(): Promise<void> {
  if (!testcontainersRequested()) return; // default path: nothing, not even an import

  if (obviouslyNoDocker()) {
    throw dockerNeeded('no DOCKER_HOST and no Docker socket such as /var/run/docker.sock found');
  }

  // Loaded lazily, only on this opt-in path.
  let tc: typeof import('testcontainers');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tc = require('testcontainers') as typeof import('testcontainers');
  } catch (err) {
    throw new Error(
      `KAPPA_TESTCONTAINERS=1: the testcontainers package could not be loaded on Node ${process.version}: ` +
        `${(err as Error).message.split('\n')[0]} (testcontainers 12.x pulls in undici 8, which needs Node >= 22.19; ` +
        `on Node 20 use testcontainers 11.x). ${NO_DOCKER_HINT}`,
    );
  }

  let host: string;
  try {
    host = (await tc.getContainerRuntimeClient()).info.containerRuntime.host;
  } catch (err) {
    throw dockerNeeded(`testcontainers: ${(err as Error).message}`);
  }

  const image = process.env.KAPPA_KAFKA_IMAGE || DEFAULT_KAFKA_IMAGE;
  // The advertised listener must carry the port clients reach on the host, which is only known
  // before start when we choose it: the broker listens inside the container on the same number.
  const port = await freePort();
  const bootstrap = `${host}:${port}`;
  process.stderr.write(`\nkappa: KAPPA_TESTCONTAINERS=1: starting ${image} (KRaft, single node) at ${bootstrap} ...\n`);
  const started = Date.now();
  const container = await new tc.GenericContainer(image)
    .withExposedPorts({ container: port, host: port })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${port},CONTROLLER://:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${bootstrap}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
      // Same broker settings as scripts/kafka.sh.
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_TRANSACTION_STATE_LOG_NUM_PARTITIONS: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_DEFAULT_REPLICATION_FACTOR: '1',
      KAFKA_MIN_INSYNC_REPLICAS: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
      KAFKA_NUM_PARTITIONS: '1',
      KAFKA_DELETE_TOPIC_ENABLE: 'true',
    })
    .withWaitStrategy(tc.Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(180_000)
    .start();
  try {
    await waitForKafka(bootstrap, 60_000);
  } catch (err) {
    await container.stop().catch(() => undefined);
    throw err;
  }
  (globalThis as Record<string, unknown>)[STATE_KEY] = { container } satisfies KappaTestcontainersState;
  process.env.KAFKA_BOOTSTRAP_SERVERS = bootstrap;
  process.stderr.write(`kappa: Kafka container ready at ${bootstrap} after ${Date.now() - started} ms\n`);
}
