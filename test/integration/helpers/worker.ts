/** Starts real worker processes (`node dist/main.js <worker.properties>`) for the integration tests. */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Api, request, type TlsClient } from './http';
import { BOOTSTRAP_SERVERS } from './kafka';
import { randomSuffix, sleep } from './wait';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
/** the worker entry point; KAPPA_WORKER_MAIN overrides it (e.g. a build in another directory) */
export const MAIN_JS = process.env.KAPPA_WORKER_MAIN ? path.resolve(process.env.KAPPA_WORKER_MAIN) : path.join(REPO_ROOT, 'dist', 'main.js');
export const FIXTURE_PLUGIN_PATH = path.join(REPO_ROOT, 'test', 'fixtures', 'plugins');
export const FIXTURE_MODELS_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'models');

export interface StartWorkerOptions {
  /** extra or overriding worker properties */
  props?: Record<string, string>;
  /** keys of the default properties to leave out of the file */
  omit?: string[];
  /** extra environment variables (e.g. CONNECT_*) */
  env?: Record<string, string>;
  /** how long to wait for GET /health → 200 */
  healthTimeoutMs?: number;
  /** the listener's scheme (https needs the keystore properties in `props`); default http */
  scheme?: 'http' | 'https';
  /** more listener URLs after the worker's own (which `url` and `api` use) */
  extraListeners?: string[];
  /** sent with every request of `api` and with the /health probe (e.g. basic auth), and the CA for https */
  client?: { headers?: Record<string, string>; tls?: TlsClient };
}

export interface Worker {
  url: string;
  api: Api;
  port: number;
  /** `<advertised host>:<port>`, as status responses report it */
  workerId: string;
  /** the generated worker properties (what is in the file) */
  props: Record<string, string>;
  propsFile: string;
  /** stdout + stderr of every process started for this worker, in order */
  logs(): string;
  /** every non-200 answer GET /health gave while the worker was starting */
  startupHealth: { status: number; body: string }[];
  pid(): number | undefined;
  /** SIGTERM, then wait for exit (SIGKILL after 30 s) */
  stop(): Promise<number | null>;
  /** SIGKILL, wait for exit */
  kill(): Promise<void>;
  /** start again with the same properties file and wait for health */
  restart(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const bound = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(bound));
    });
  });
}

/** ports this test process handed out already (from KAPPA_TEST_PORTS): not handed out twice */
const handedOut = new Set<number>();

/**
 * A free loopback port: any (the OS picks one), or with KAPPA_TEST_PORTS=FROM-TO one of that range
 * (for machines where several suites run at once, each in a range of its own).
 */
export async function freePort(): Promise<number> {
  const range = /^(\d+)-(\d+)$/.exec(process.env.KAPPA_TEST_PORTS?.trim() ?? '');
  if (!range) return listenOn(0);
  const from = Number(range[1]);
  const to = Number(range[2]);
  const span = to - from + 1;
  const first = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = from + ((first + i) % span);
    if (handedOut.has(port)) continue;
    try {
      await listenOn(port);
      handedOut.add(port);
      return port;
    } catch {
      /* taken: the next one */
    }
  }
  throw new Error(`no free port in KAPPA_TEST_PORTS=${process.env.KAPPA_TEST_PORTS}`);
}

export function tmpDir(prefix = 'kappa-it-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeProperties(file: string, props: Record<string, string>): void {
  const lines = Object.entries(props).map(([k, v]) => `${k}=${v.replace(/\\/g, '\\\\')}`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

/** The default worker properties with unique group and internal topics; `port` goes into listeners. */
export function defaultProperties(port: number, suffix = randomSuffix()): Record<string, string> {
  return {
    'bootstrap.servers': BOOTSTRAP_SERVERS,
    'group.id': `kappa-it-${suffix}`,
    'config.storage.topic': `kappa-it-${suffix}-configs`,
    'offset.storage.topic': `kappa-it-${suffix}-offsets`,
    'status.storage.topic': `kappa-it-${suffix}-status`,
    'config.storage.replication.factor': '1',
    'offset.storage.replication.factor': '1',
    'status.storage.replication.factor': '1',
    listeners: `http://127.0.0.1:${port}`,
    'rest.advertised.host.name': '127.0.0.1',
    'rest.advertised.port': String(port),
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable': 'false',
    'plugin.path': FIXTURE_PLUGIN_PATH,
    'offset.flush.interval.ms': '1000',
    // KAPPA_TEST_KAFKA_CLIENT=kafkajs runs a suite on the second adapter of the Kafka port (make test's smoke run)
    ...(process.env.KAPPA_TEST_KAFKA_CLIENT ? { 'kafka.client': process.env.KAPPA_TEST_KAFKA_CLIENT } : {}),
    // the serving tests publish the fixture models by file: URI
    'kappa.model.file.allowed.dirs': FIXTURE_MODELS_DIR,
  };
}

function assertBuilt(): void {
  if (!fs.existsSync(MAIN_JS)) {
    throw new Error(`${MAIN_JS} is missing: build the worker first (npx tsc -p tsconfig.json)`);
  }
}

function childEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // the test runner's own CONNECT_* variables must not leak into the worker
  for (const k of Object.keys(env)) if (k.startsWith('CONNECT_')) delete env[k];
  delete env.NODE_OPTIONS;
  return { ...env, ...(extra ?? {}) };
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * Starts a worker, or with KAPPA_TEST_CLUSTER=N a cluster of N workers (same group and internal
 * topics) seen through a follower: the REST suites then run against a cluster, their requests sent
 * to a worker that is not the leader. `workerId` is then a matcher for any of the N worker ids.
 */
export async function startWorker(opts: StartWorkerOptions = {}): Promise<Worker> {
  const n = Number(process.env.KAPPA_TEST_CLUSTER ?? 0);
  if (n > 1 && !opts.props?.['group.id']) return startClusterBehindFollower(n, opts);
  return startSingleWorker(opts);
}

async function startClusterBehindFollower(n: number, opts: StartWorkerOptions): Promise<Worker> {
  const suffix = randomSuffix();
  const shared: Record<string, string> = {
    'group.id': `kappa-it-${suffix}`,
    'config.storage.topic': `kappa-it-${suffix}-configs`,
    'offset.storage.topic': `kappa-it-${suffix}-offsets`,
    'status.storage.topic': `kappa-it-${suffix}-status`,
    'scheduled.rebalance.max.delay.ms': '0',
  };
  const members: Worker[] = [];
  for (let i = 0; i < n; i++) members.push(await startSingleWorker({ ...opts, props: { ...shared, ...(opts.props ?? {}) } }));
  // the first started is the leader (it formed the group); answer through the last one
  const deadline = Date.now() + 60_000;
  const roleOf = (w: Worker) => [...w.logs().matchAll(/Joined generation \d+ as (leader|member)/g)].pop()?.[1];
  while (Date.now() < deadline && !(members.filter((w) => roleOf(w) === 'leader').length === 1 && members.every((w) => roleOf(w)))) await sleep(200);
  const via = members.find((w) => roleOf(w) === 'member') ?? members[members.length - 1]!;
  const ids = members.map((w) => w.workerId);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { expect: jestExpect } = require('@jest/globals') as typeof import('@jest/globals');
  const anyOf = jestExpect.stringMatching(new RegExp(`^(${ids.map((x) => x.replace(/[.]/g, '\\.')).join('|')})$`)) as unknown as string;
  return {
    ...via,
    workerId: anyOf,
    logs: () => members.map((w) => w.logs()).join('\n'),
    startupHealth: via.startupHealth,
    async stop() {
      const codes = await Promise.all(members.map((w) => w.stop()));
      return codes[members.indexOf(via)] ?? null;
    },
    async kill() {
      await Promise.all(members.map((w) => w.kill()));
    },
    async restart() {
      for (const w of members) await w.restart();
    },
  };
}

/**
 * KAPPA_TEST_BASIC_AUTH=1 runs a suite with basic auth on (Connect's BasicAuthSecurityRestExtension
 * and a JAAS file): every worker asks for credentials, which `api` and the health probe send.
 */
function withBasicAuth(opts: StartWorkerOptions): StartWorkerOptions {
  if (process.env.KAPPA_TEST_BASIC_AUTH !== '1' || opts.client || opts.props?.['rest.extension.classes']) return opts;
  const dir = tmpDir('kappa-it-auth-');
  const credentials = path.join(dir, 'credentials.properties');
  fs.writeFileSync(credentials, 'kappa-it: kappa-it-password\n');
  const jaas = path.join(dir, 'jaas.conf');
  fs.writeFileSync(jaas, `KafkaConnect {\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required file="${credentials}";\n};\n`);
  return {
    ...opts,
    props: { 'rest.extension.classes': 'org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension', 'kappa.rest.basic.auth.jaas.config': jaas, ...(opts.props ?? {}) },
    client: { headers: { Authorization: `Basic ${Buffer.from('kappa-it:kappa-it-password').toString('base64')}` } },
  };
}

async function startSingleWorker(given: StartWorkerOptions): Promise<Worker> {
  assertBuilt();
  const opts = withBasicAuth(given);
  const port = await freePort();
  const dir = tmpDir('kappa-it-worker-');
  const scheme = opts.scheme ?? 'http';
  const listeners = [`${scheme}://127.0.0.1:${port}`, ...(opts.extraListeners ?? [])].join(',');
  const props: Record<string, string> = { ...defaultProperties(port), listeners, ...(opts.props ?? {}) };
  for (const k of opts.omit ?? []) delete props[k];
  const propsFile = path.join(dir, 'worker.properties');
  writeProperties(propsFile, props);
  const host = props['rest.advertised.host.name'] ?? '127.0.0.1';
  const advertisedPort = props['rest.advertised.port'] ?? String(port);
  const url = `${scheme}://127.0.0.1:${port}`;
  let output = '';
  let child: ChildProcess | undefined;
  const startupHealth: { status: number; body: string }[] = [];

  const spawnOnce = async (): Promise<void> => {
    const c = spawn(process.execPath, [MAIN_JS, propsFile], {
      cwd: REPO_ROOT,
      env: childEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    live.add(c);
    // KAPPA_TEST_WORKER_LOGS=<dir>: every worker's output also in <dir>/worker-<port>.log (to read after a failure)
    const logDir = process.env['KAPPA_TEST_WORKER_LOGS'];
    const logFile = logDir ? path.join(logDir, `worker-${port}.log`) : undefined;
    if (logDir) fs.mkdirSync(logDir, { recursive: true });
    const append = (chunk: Buffer) => {
      if (logFile) fs.appendFileSync(logFile, chunk);
      output += chunk.toString('utf8');
      if (output.length > 2_000_000) output = output.slice(-1_000_000);
    };
    c.stdout?.on('data', append);
    c.stderr?.on('data', append);
    c.once('exit', (code, signal) => {
      live.delete(c);
      output += `\n[worker process exited: code=${code} signal=${signal}]\n`;
    });
    const timeoutMs = opts.healthTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new Error(`worker exited before becoming healthy (code ${c.exitCode}, signal ${c.signalCode}):\n${output.slice(-4000)}`);
      }
      try {
        const { status, text } = await request('GET', `${url}/health`, { ...(opts.client ?? {}), timeoutMs: 2000 });
        const res = { status };
        if (res.status === 200) return;
        startupHealth.push({ status: res.status, body: text });
        last = `HTTP ${res.status} ${text.slice(0, 200)}`;
      } catch (err) {
        last = String(err);
      }
      await sleep(100); // poll fast so that the 'starting' answers are seen
    }
    c.kill('SIGKILL');
    await waitExit(c, 5000);
    throw new Error(`worker not healthy after ${timeoutMs} ms (last: ${last}):\n${output.slice(-4000)}`);
  };

  const worker: Worker = {
    url,
    api: new Api(url, opts.client ?? {}),
    port,
    workerId: `${host}:${advertisedPort}`,
    props,
    propsFile,
    logs: () => output,
    startupHealth,
    pid: () => child?.pid,
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return c?.exitCode ?? null;
      c.kill('SIGTERM');
      if (!(await waitExit(c, 30_000))) {
        c.kill('SIGKILL');
        await waitExit(c, 5000);
        throw new Error('worker did not exit within 30 s of SIGTERM');
      }
      return c.exitCode;
    },
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.kill('SIGKILL');
      await waitExit(c, 10_000);
    },
    async restart() {
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        throw new Error('restart() needs the worker to be stopped or killed first');
      }
      await spawnOnce();
    },
  };
  started.add(worker);
  await spawnOnce();
  return worker;
}

const started = new Set<Worker>();

/** Stops every worker started by this test file (SIGTERM, then SIGKILL). Use in afterAll. */
export async function stopAllWorkers(): Promise<void> {
  const all = [...started];
  started.clear();
  await Promise.allSettled(
    all.map(async (w) => {
      try {
        await w.stop();
      } catch {
        await w.kill();
      }
    }),
  );
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** true when the process had to be killed because it did not exit in time */
  timedOut: boolean;
}

/**
 * Runs the worker with the given properties file (or none) and waits for it to exit on its own.
 * Used for invalid configurations, which must make the worker exit non-zero quickly.
 */
export async function runWorkerToExit(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  assertBuilt();
  const c = spawn(process.execPath, [MAIN_JS, ...args], { cwd: REPO_ROOT, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(c);
  let stdout = '';
  let stderr = '';
  c.stdout?.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
  c.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const exited = await waitExit(c, opts.timeoutMs ?? 15_000);
  if (!exited) {
    c.kill('SIGKILL');
    await waitExit(c, 5000);
  }
  live.delete(c);
  // let the pipes drain
  await sleep(50);
  return { code: exited ? c.exitCode : null, signal: c.signalCode, stdout, stderr, timedOut: !exited };
}
