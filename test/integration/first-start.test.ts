/**
 * A first `make run` on a busy machine. `make run` starts a broker (scripts/kafka.sh) and then
 * scripts/run.sh: the worker, a wait until GET /health answers 200, and the demo. On a first start
 * everything is new at once: the worker creates its internal topics and reads them back, the
 * broker creates its group-coordinator topic and loads it, the demo creates its topics and writes
 * to partitions whose leaders the broker is still announcing. Each of those used to surface as a
 * demo failure ("This server does not host this topic-partition", "coordinator is loading") when
 * the machine was loaded.
 *
 * Here that first start happens five times in a row, each on a brand-new broker (fresh data
 * directory: no topics, no consumer groups), through the same scripts `make run` uses, while two
 * CPU burners keep both cores busy. Every run must end with the demo's "done" line, the learner
 * having learned every label it sent; the demo must start only after the worker reported itself
 * started. The demo is shortened through its environment (one pass of 300 events). A last run
 * starts the demo at the same moment as the worker, as a user running scripts/demo.sh by hand
 * might: it must wait for the worker itself and complete. Nothing is wrong in any of these starts,
 * so the worker prints no ERROR line in any of them (what the broker answers with "try again"
 * while it is starting is logged once at WARN or DEBUG, if at all).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { REPO_ROOT, freePort, tmpDir } from './helpers';

const RUNS = 5;
const EVENTS = 300;

jest.setTimeout((RUNS + 1) * 240_000);

interface Exit { code: number | null; output: string }

/** Runs a command to completion with stdout and stderr in one stream (so their order is kept). */
function exec(command: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `${command} 2>&1`], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'ignore'] });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString('utf8')));
    const timer = setTimeout(() => { output += `\n[timed out after ${timeoutMs} ms]`; child.kill('SIGTERM'); }, timeoutMs);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}

/** The test runner's environment minus what would point the scripts elsewhere. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('CONNECT_') || k.startsWith('KAFKA_') || k.startsWith('DEMO') || k.startsWith('RUN_')) delete env[k];
  delete env.NODE_OPTIONS;
  // the scripts call `node`: the one running the tests (Node 24, as make provides it)
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${env.PATH ?? ''}`;
  return env;
}

const burners: ChildProcess[] = [];

beforeAll(() => {
  // one busy loop per core, at normal priority: the machine is loaded for everything below
  for (let i = 0; i < 2; i++) burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
});

afterAll(() => {
  for (const b of burners) b.kill('SIGKILL');
});

/** Starts a brand-new broker the way `make run` does (scripts/kafka.sh), runs `body`, stops it. */
async function withFreshBroker(label: string, body: (env: NodeJS.ProcessEnv, bootstrap: string) => Promise<void>): Promise<void> {
  const data = tmpDir('kappa-it-first-start-');
  const brokerPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(),
    KAFKA_PORT: String(brokerPort),
    KAFKA_CONTROLLER_PORT: String(await freePort()),
    KAFKA_DATA_DIR: data,
    KAFKA_START_TIMEOUT: '180',
  };
  const started = await exec('bash scripts/kafka.sh start', env, 240_000);
  try {
    expect([label, started.code, started.output.slice(-2000)]).toEqual([label, 0, expect.any(String)]);
    // the race needs a broker that has never seen a consumer group, the worker's or the demo's topics
    const kafka = new Kafka({ clientId: 'kappa-it-first-start', brokers: [`127.0.0.1:${brokerPort}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const before = await admin.listTopics();
    await admin.disconnect();
    expect(before.filter((t) => t === '__consumer_offsets' || t.startsWith('kappa-connect') || t.startsWith('banknote'))).toEqual([]);
    await body(env, `127.0.0.1:${brokerPort}`);
  } finally {
    await exec('bash scripts/kafka.sh stop', env, 60_000);
    fs.rmSync(data, { recursive: true, force: true });
  }
}

/** The worker's ERROR lines (text log format) and unhandled rejections: there must be none when nothing is wrong. */
function errorLines(output: string): string[] {
  return output.split('\n').filter((l) => /^\[[^\]]+\] ERROR |Unhandled promise rejection/.test(l));
}

const shortDemo = { DEMO_PASSES: '1', DEMO_EVENTS: String(EVENTS), DEMO_RATE: '1000', DEMO_PRINT_S: '1' };

test(`a first start (fresh broker, worker, demo) under CPU load completes ${RUNS} times in a row`, async () => {
  for (let run = 1; run <= RUNS; run++) {
    await withFreshBroker(`run ${run}`, async (env, bootstrap) => {
      const demo = await exec('bash scripts/run.sh config/worker.properties', {
        ...env,
        ...shortDemo,
        KAFKA_BOOTSTRAP_SERVERS: bootstrap,
        CONNECT_LISTENERS: `http://127.0.0.1:${await freePort()}`,
        RUN_EXIT_AFTER_DEMO: '1',
      }, 200_000);
      const out = demo.output;
      const context = `run ${run}, exit ${demo.code}:\n${out.slice(-6000)}`;
      if (demo.code !== 0) throw new Error(`the demo did not complete on ${context}`);

      // the demo learned every label it sent
      const done = /\[demo\] done: learned\s+(\d+) \| accuracy (\d\.\d+)/.exec(out);
      if (!done) throw new Error(`no "done" line on ${context}`);
      expect(Number(done[1])).toBeGreaterThanOrEqual(EVENTS);
      // and started only once the worker had read its state back (health 200), not when the port answered
      const workerStarted = out.indexOf('Worker started');
      const ready = out.indexOf('run.sh: worker is ready');
      const firstDemoLine = out.indexOf('[demo]');
      expect([run, workerStarted >= 0, ready > workerStarted, firstDemoLine > ready]).toEqual([run, true, true, true]);
      expect([run, errorLines(out)]).toEqual([run, []]);
    });
  }
});

test('the demo started together with the worker (not gated by run.sh) waits for it and completes', async () => {
  // scripts/demo.sh on its own (as users run it by hand): it must wait for readiness itself and
  // retry, rather than fail on a worker that is still starting on a brand-new broker
  await withFreshBroker('ungated', async (env, bootstrap) => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const workerLog = path.join(env.KAFKA_DATA_DIR!, 'worker.log');
    const out = await exec(
      'node dist/main.js config/worker.properties > "$WORKER_LOG" 2>&1 & worker=$!; bash scripts/demo.sh; status=$?; kill -TERM $worker; wait $worker; exit $status',
      { ...env, ...shortDemo, KAFKA_BOOTSTRAP_SERVERS: bootstrap, CONNECT_BOOTSTRAP_SERVERS: bootstrap, CONNECT_LISTENERS: url, CONNECT_URL: url, WORKER_LOG: workerLog },
      200_000,
    );
    if (out.code !== 0) {
      const worker = fs.existsSync(workerLog) ? fs.readFileSync(workerLog, 'utf8').slice(-4000) : '(no worker log)';
      throw new Error(`the demo did not complete (exit ${out.code}):\n${out.output.slice(-4000)}\nworker:\n${worker}`);
    }
    expect(out.output).toMatch(/\[demo\] waiting for the worker: .* \(not ready yet, retrying\)/);
    expect(out.output).toMatch(/\[demo\] done: learned\s+\d+/);
    // the worker started on a broker that was still settling, with the demo racing it: nothing was wrong
    const worker = fs.readFileSync(workerLog, 'utf8');
    expect(worker).toContain('Worker started');
    expect(errorLines(worker)).toEqual([]);
  });
});
