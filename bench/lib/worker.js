'use strict';
/** Starts the worker (`node dist/main.js <props>`) as a child process on a free port with its own internal topics. */
const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { BOOTSTRAP, sleep } = require('./kafka');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const MAIN_JS = process.env.KAPPA_WORKER_MAIN ? path.resolve(process.env.KAPPA_WORKER_MAIN) : path.join(REPO_ROOT, 'dist', 'main.js');

function listenOn(port) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const { port: got } = srv.address();
      srv.close(() => resolve(got));
    });
  });
}

/**
 * KAPPA_BENCH_PORTS=<from>-<to>: the workers' REST ports are taken from this range (the next free
 * one, round robin, so a port is not reused at once), e.g. to keep away from other services on
 * a shared machine; without it any free port.
 */
const PORT_RANGE = (() => {
  const m = /^(\d+)-(\d+)$/.exec((process.env.KAPPA_BENCH_PORTS || '').trim());
  return m && Number(m[1]) <= Number(m[2]) ? { from: Number(m[1]), to: Number(m[2]) } : null;
})();
let nextPort = PORT_RANGE ? PORT_RANGE.from : 0;

async function freePort() {
  if (!PORT_RANGE) return listenOn(0);
  const size = PORT_RANGE.to - PORT_RANGE.from + 1;
  for (let i = 0; i < size; i++) {
    const port = nextPort;
    nextPort = port >= PORT_RANGE.to ? PORT_RANGE.from : port + 1;
    try {
      return await listenOn(port);
    } catch { /* in use: the next one */ }
  }
  throw new Error(`no free port in KAPPA_BENCH_PORTS=${PORT_RANGE.from}-${PORT_RANGE.to}`);
}

async function request(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, body: json, text };
}

/**
 * Starts a worker; `props` override the defaults. Resolves once GET /health answers 200.
 * Returns { url, suffix, internalTopics, request(method, path, body), stop(), kill(), terminate(), exited, logs() }.
 */
async function startWorker(props = {}) {
  if (!fs.existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: build first (npx tsc -p tsconfig.json)`);
  const port = await freePort();
  const suffix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const internalTopics = [`kappa-bench-${suffix}-configs`, `kappa-bench-${suffix}-offsets`, `kappa-bench-${suffix}-status`];
  const all = {
    'bootstrap.servers': BOOTSTRAP,
    'group.id': `kappa-bench-${suffix}`,
    'config.storage.topic': internalTopics[0],
    'offset.storage.topic': internalTopics[1],
    'status.storage.topic': internalTopics[2],
    'config.storage.replication.factor': '1',
    'offset.storage.replication.factor': '1',
    'status.storage.replication.factor': '1',
    listeners: `http://127.0.0.1:${port}`,
    'rest.advertised.host.name': '127.0.0.1',
    'rest.advertised.port': String(port),
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
    'value.converter.schemas.enable': 'false',
    'offset.flush.interval.ms': '1000',
    // the serving scenarios publish the fixture models by file: URI (docs/serving.md, model URI policy)
    'kappa.model.file.allowed.dirs': path.join(REPO_ROOT, 'test', 'fixtures', 'models'),
    ...props,
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-bench-'));
  const file = path.join(dir, 'worker.properties');
  fs.writeFileSync(file, Object.entries(all).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('CONNECT_')) delete env[k];
  delete env.NODE_OPTIONS;
  // e.g. KAPPA_BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/kappa-prof" to profile the worker
  const nodeArgs = (process.env.KAPPA_BENCH_WORKER_NODE_ARGS || '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, MAIN_JS, file], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // KAPPA_BENCH_WORKER_OUT=/tmp/worker.log also appends the worker's output there (e.g. with --trace-gc)
  const outFile = process.env.KAPPA_BENCH_WORKER_OUT;
  const append = (b) => { if (outFile) fs.appendFileSync(outFile, b); output += b.toString('utf8'); if (output.length > 1_000_000) output = output.slice(-500_000); };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker exited during startup:\n${output.slice(-3000)}`);
    try {
      const res = await request('GET', `${url}/health`);
      if (res.status === 200) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker not healthy after 60 s:\n${output.slice(-3000)}`);
    }
    await sleep(200);
  }
  return {
    url,
    suffix,
    // the worker process (its CPU time and memory are read from /proc by bench/lib/proc.js)
    pid: child.pid,
    internalTopics,
    request: (method, p, body) => request(method, url + p, body),
    logs: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) {
        fs.rmSync(dir, { recursive: true, force: true });
        return;
      }
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    /** kill -9 (a crash): resolves once the process is gone */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
    /** SIGTERM without waiting (a graceful leave); `exited` resolves when the process is gone */
    terminate() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
    exited,
  };
}

/** Polls GET /connectors/{name}/status until the connector and all its tasks are RUNNING. */
async function waitRunning(worker, name, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const res = await worker.request('GET', `/connectors/${name}/status`);
    last = res.text;
    const s = res.body;
    if (res.status === 200 && s.connector.state === 'RUNNING' && s.tasks.length > 0 && s.tasks.every((t) => t.state === 'RUNNING')) return s;
    if (s && s.tasks && s.tasks.some((t) => t.state === 'FAILED')) throw new Error(`connector ${name} has a FAILED task: ${last.slice(0, 2000)}`);
    if (Date.now() > deadline) throw new Error(`connector ${name} not RUNNING after ${timeoutMs} ms: ${last.slice(0, 2000)}`);
    await sleep(100);
  }
}

module.exports = { MAIN_JS, REPO_ROOT, startWorker, waitRunning };
