'use strict';
/**
 * In-process learner microbenchmark: `learner.update(x, y)` calls per second of the compiled
 * learners (dist/ml/online) on a seeded rotating-hyperplane stream, at several dimensions, and the
 * same samples handed to scikit-learn's per-sample `partial_fit` (scripts/online/bench_partial_fit.py).
 *
 * Per (learner, d): a pool of samples from HyperplaneStream({ seed, nFeatures: d }) (binary, labels
 * 0/1, 5 % label noise, drifting weights), a fresh learner, a warm-up of up to 200 updates (or
 * 100 ms), then updates over the pool, cycling, until `budgetMs` of wall time has passed. Timed with
 * process.hrtime; the clock is read every `check` updates so that reading it costs nothing.
 * An update() includes its prediction (test-then-train), as the Learn transform does per label.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const ONLINE = path.join(REPO_ROOT, 'dist', 'ml', 'online');

const DIMS = [4, 100, 1000];
const SEED = 42;

/** name → learner config (binary classes [0, 1], nFeatures added per run). */
const LEARNERS = [
  { name: 'pa-i', label: 'PA-I (sklearn mode: intercept outside the norm)', config: { algorithm: 'pa-i' } },
  { name: 'scw-i-diag', label: 'SCW-I diagonal Σ (bias feature)', config: { algorithm: 'scw-i', covariance: 'diagonal' } },
  { name: 'scw-i-full', label: 'SCW-I full Σ (bias feature)', config: { algorithm: 'scw-i', covariance: 'full' } },
  { name: 'arow-full', label: 'AROW full Σ (bias feature)', config: { algorithm: 'arow', covariance: 'full' } },
  { name: 'arow-diag', label: 'AROW diagonal Σ (bias feature)', config: { algorithm: 'arow', covariance: 'diagonal' } },
];

function loadOnline() {
  if (!fs.existsSync(path.join(ONLINE, 'index.js'))) throw new Error(`${ONLINE}/index.js is missing: build first (make build)`);
  return require(ONLINE);
}

/** Pool size: enough distinct samples to cycle through, ≤ ~32 MB of features. */
function poolSize(d) {
  return Math.max(2000, Math.min(20_000, Math.floor(4_000_000 / d)));
}

function makePool(online, d, n = poolSize(d)) {
  const stream = new online.HyperplaneStream({ seed: SEED, nFeatures: d });
  const X = new Array(n);
  const y = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = stream.next();
    X[i] = s.x;
    y[i] = s.y;
  }
  return { d, X, y };
}

function measureOne(online, cfg, pool, budgetMs) {
  const learner = online.createLearner({ task: 'binary', classes: [0, 1], nFeatures: pool.d, ...cfg });
  const { X, y } = pool;
  const n = X.length;
  let i = 0;
  // warm-up: let V8 optimise update() before the clock runs
  const warmEnd = Date.now() + 100;
  for (let k = 0; k < 200 && Date.now() < warmEnd; k++, i = (i + 1) % n) learner.update(X[i], y[i]);
  const check = pool.d >= 1000 ? 1 : pool.d >= 100 ? 16 : 256;
  const budgetNs = BigInt(Math.round(budgetMs * 1e6));
  let count = 0;
  let changed = 0;
  let mistakes = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0n;
  for (;;) {
    for (let k = 0; k < check; k++) {
      const info = learner.update(X[i], y[i]);
      if (info.updated) changed++;
      if (info.mistake) mistakes++;
      count++;
      i = i + 1 === n ? 0 : i + 1;
    }
    elapsed = process.hrtime.bigint() - t0;
    if (elapsed >= budgetNs) break;
  }
  const seconds = Number(elapsed) / 1e9;
  return {
    updates: count,
    seconds: Number(seconds.toFixed(4)),
    updatesPerSec: Math.round(count / seconds),
    microsPerUpdate: Number(((seconds * 1e6) / count).toFixed(3)),
    changedFraction: Number((changed / count).toFixed(4)),
    mistakeFraction: Number((mistakes / count).toFixed(4)),
  };
}

/** Writes the pools for the Python script: <dir>/d<d>.X.f64 (row-major, little-endian), d<d>.y.u8. */
function writePools(pools, dir) {
  for (const p of pools) {
    const buf = Buffer.alloc(p.X.length * p.d * 8);
    p.X.forEach((x, r) => { for (let j = 0; j < p.d; j++) buf.writeDoubleLE(x[j], (r * p.d + j) * 8); });
    fs.writeFileSync(path.join(dir, `d${p.d}.X.f64`), buf);
    fs.writeFileSync(path.join(dir, `d${p.d}.y.u8`), Buffer.from(p.y));
  }
}

/** The Python with scikit-learn: $KAPPA_BENCH_PYTHON, else .venv/bin/python; null + reason when none works. */
function findPython() {
  const candidates = process.env.KAPPA_BENCH_PYTHON ? [process.env.KAPPA_BENCH_PYTHON] : [path.join(REPO_ROOT, '.venv', 'bin', 'python')];
  for (const py of candidates) {
    if (!fs.existsSync(py) && py.includes('/')) continue;
    const r = spawnSync(py, ['-c', 'import sklearn, numpy; print(sklearn.__version__, numpy.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python: py, versions: r.stdout.trim() };
  }
  return {
    python: null,
    reason: `no Python with scikit-learn (looked for ${candidates.join(', ')}); create it with ` +
      '`python3 -m venv .venv && .venv/bin/pip install scikit-learn numpy` or set KAPPA_BENCH_PYTHON',
  };
}

function runSklearn(pools, budgetMs, log) {
  if (process.env.KAPPA_BENCH_SKLEARN === '0') return { skipped: 'KAPPA_BENCH_SKLEARN=0' };
  const found = findPython();
  if (!found.python) {
    log(`learn: scikit-learn comparison SKIPPED: ${found.reason}`);
    return { skipped: found.reason };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-bench-learn-'));
  try {
    writePools(pools, dir);
    const script = path.join(REPO_ROOT, 'scripts', 'online', 'bench_partial_fit.py');
    const r = spawnSync(found.python, [script, '--data-dir', dir, '--dims', pools.map((p) => p.d).join(','), '--budget-ms', String(budgetMs)], {
      encoding: 'utf8', timeout: 600_000, maxBuffer: 16 * 1024 * 1024,
    });
    if (r.status !== 0) {
      const msg = `bench_partial_fit.py failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}): ${(r.stderr || '').slice(-2000)}`;
      log(`learn: ${msg}`);
      return { error: msg };
    }
    return { python: found.python, ...JSON.parse(r.stdout) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the microbenchmark (and scikit-learn's partial_fit on the same pools).
 * Returns { dims, seed, budgetMs, learners, rows: [{learner, d, updatesPerSec, ...}], sklearn }.
 */
function runInProcess({ budgetMs = Number(process.env.KAPPA_BENCH_LEARN_BUDGET_MS) || 600, dims = DIMS, log = () => undefined } = {}) {
  const online = loadOnline();
  const pools = dims.map((d) => makePool(online, d));
  const rows = [];
  for (const p of pools) {
    for (const l of LEARNERS) {
      const r = measureOne(online, l.config, p, budgetMs);
      rows.push({ learner: l.name, d: p.d, ...r });
      log(`learn in-process: ${l.name} d=${p.d}: ${r.updatesPerSec} updates/s (${r.microsPerUpdate} µs/update, ${r.updates} updates)`);
    }
  }
  const sklearn = runSklearn(pools, budgetMs, log);
  if (sklearn.rows) for (const r of sklearn.rows) log(`learn sklearn: ${r.estimator} d=${r.d}: ${r.updatesPerSec} partial_fit/s`);
  return {
    data: `HyperplaneStream seed ${SEED} (binary, 5 % label noise, drifting), pools of ${pools.map((p) => `${p.X.length} × d=${p.d}`).join(', ')}`,
    seed: SEED,
    budgetMs,
    node: process.version,
    learners: Object.fromEntries(LEARNERS.map((l) => [l.name, { label: l.label, config: l.config }])),
    rows,
    sklearn,
  };
}

module.exports = { runInProcess, LEARNERS, DIMS, makePool, measureOne, loadOnline };
