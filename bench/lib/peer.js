'use strict';
/**
 * The Kafka Streams + ONNX Runtime peer (bench/peer, docs/benchmarks.md "The Kafka Streams peer"):
 * builds its jar when needed and starts it as a child process (`java -jar .cache/peer/kappa-peer.jar`).
 */
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { BOOTSTRAP } = require('./kafka');
const { REPO_ROOT } = require('./worker');
const { MODELS_DIR, MODELS } = require('./serving');

const PEER_DIR = path.join(REPO_ROOT, 'bench', 'peer');
const JAR = path.join(REPO_ROOT, '.cache', 'peer', 'kappa-peer.jar');
/** heap bounded like the broker's; everything else is the JVM's default (G1) */
const JAVA_OPTS = (process.env.KAPPA_BENCH_PEER_JAVA_OPTS || '-Xms256m -Xmx1g').split(/\s+/).filter(Boolean);

function newestMtime(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...fs.readdirSync(p).map((n) => newestMtime(path.join(p, n))));
}

/** Builds .cache/peer/kappa-peer.jar (bench/peer/build.sh) unless it is newer than every source file. */
function ensurePeerJar(log = () => undefined) {
  const sources = Math.max(newestMtime(path.join(PEER_DIR, 'src')), newestMtime(path.join(PEER_DIR, 'pom.xml')), newestMtime(path.join(PEER_DIR, 'build.sh')));
  if (fs.existsSync(JAR) && fs.statSync(JAR).mtimeMs >= sources) return JAR;
  log('peer: building bench/peer (Maven) …');
  const r = spawnSync('bash', [path.join(PEER_DIR, 'build.sh')], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`bench/peer/build.sh failed (exit ${r.status}); the peer needs Java 17+ and Maven with access to Maven Central`);
  return JAR;
}

function javaBinary() {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/**
 * Starts the peer on `input` → `output` with fixture model `artifact` (a MODELS key of
 * bench/lib/serving.js; its .json sidecar gives the features and class labels), scoring under
 * `modelId`@`modelVersion`. Returns { pid, applicationId, logs(), stop() } once the JVM runs (the
 * caller watches the output topic for progress).
 */
async function startPeer({ input, output, applicationId, artifact, modelId, modelVersion = '1', threads = 1 }) {
  const m = MODELS[artifact];
  if (!m) throw new Error(`unknown fixture model ${artifact}`);
  const file = path.join(MODELS_DIR, m.file);
  const meta = JSON.parse(fs.readFileSync(file.replace(/\.onnx$/, '.json'), 'utf8'));
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-peer-'));
  const args = [
    ...JAVA_OPTS, '-jar', JAR,
    '--bootstrap-servers', BOOTSTRAP, '--application-id', applicationId, '--input', input, '--output', output,
    '--model', file, '--model-id', modelId, '--model-version', String(modelVersion),
    '--class-labels', meta.classLabels.join(','), '--features', meta.features.join(','),
    '--threads', String(threads), '--state-dir', stateDir,
  ];
  const child = spawn(javaBinary(), args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output_ = '';
  const append = (b) => { output_ += b.toString('utf8'); if (output_.length > 1_000_000) output_ = output_.slice(-500_000); };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) => reject(new Error(`cannot start ${javaBinary()}: ${e.message}`)));
  });
  return {
    pid: child.pid,
    applicationId,
    logs: () => output_,
    failed: () => (child.exitCode !== null || child.signalCode !== null ? `peer exited (${child.exitCode ?? child.signalCode}):\n${output_.slice(-3000)}` : null),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 40_000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

module.exports = { JAR, PEER_DIR, ensurePeerJar, startPeer };
