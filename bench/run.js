#!/usr/bin/env node
'use strict';
/**
 * Kappa Connect benchmark: runs the scenarios of bench/scenarios/index.js one after another against
 * one broker (KAFKA_BOOTSTRAP_SERVERS, default 127.0.0.1:19092), each on a fresh input topic with
 * the same N small JSON records, and reports records/s and the ratio to the baseline (raw kafkajs).
 *
 *   node bench/run.js [--records N] [--partitions P] [--only name,name] [--no-write]
 *
 * --only takes scenario names or groups: `serving` selects every `serving-*` scenario.
 *
 * Results: bench/results/<timestamp>.json and bench/results/latest.json, plus a table on stdout.
 * The worker scenarios start dist/main.js (build first: npx tsc -p tsconfig.json; `make bench` does).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { BOOTSTRAP, BenchKafka } = require('./lib/kafka');
const { MAIN_JS } = require('./lib/worker');
const scenarios = require('./scenarios');

function parseArgs(argv) {
  const args = { records: 200_000, partitions: 4, only: null, write: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--records') args.records = Number(argv[++i]);
    else if (a === '--partitions') args.partitions = Number(argv[++i]);
    else if (a === '--only') args.only = argv[++i].split(',');
    else if (a === '--no-write') args.write = false;
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node bench/run.js [--records N] [--partitions P] [--only name,name] [--no-write]\n');
      process.stdout.write(`scenarios: ${scenarios.map((s) => s.name).join(', ')}\n`);
      process.stdout.write('--only also takes a group (a name prefix before "-"): e.g. --only serving\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.records) || args.records <= 0) throw new Error('--records must be a positive integer');
  return args;
}

/** what every scenario returns (see scenarios/index.js); anything else is copied into its result row */
const RUN_FIELDS = new Set(['t0', 'first', 'last', 'committedAt', 'outputRecords', 'records']);

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function gitCommit() {
  // git itself knows worktrees (where .git is a file) and packed refs; read .git by hand without it
  try {
    return require('child_process').execFileSync('git', ['rev-parse', 'HEAD'], { cwd: path.join(__dirname, '..'), stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch { /* no git: below */ }
  try {
    const head = fs.readFileSync(path.join(__dirname, '..', '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    const file = path.join(__dirname, '..', '.git', ref);
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
    const packed = fs.readFileSync(path.join(__dirname, '..', '.git', 'packed-refs'), 'utf8');
    const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
    return line ? line.split(' ')[0] : null;
  } catch {
    return null;
  }
}

function table(rows) {
  const cols = ['scenario', 'records/s', 'vs raw', 'steady s', 'end-to-end s', 'commit s', 'out'];
  // rows without a rate (noRate scenarios) show '-'
  const num = (v, f) => (v == null ? '-' : f(v));
  const data = rows.map((r) => [
    r.name,
    r.error ? 'ERROR' : num(r.recordsPerSec, String),
    r.ratioToBaseline == null ? '' : r.ratioToBaseline.toFixed(2),
    r.error ? '' : num(r.steadySeconds, (v) => v.toFixed(2)),
    r.error ? '' : num(r.endToEndSeconds, (v) => v.toFixed(2)),
    r.error ? '' : num(r.commitSeconds, (v) => v.toFixed(2)),
    r.error ? '' : String(r.outputRecords),
  ]);
  const widths = cols.map((c, i) => Math.max(c.length, ...data.map((d) => d[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...data.map(line)].join('\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: build first (npx tsc -p tsconfig.json or make bench)`);
  // a name selects that scenario, a group `x` every scenario named `x-…`
  const selected = args.only ? scenarios.filter((s) => args.only.some((o) => s.name === o || s.name.startsWith(`${o}-`))) : scenarios;
  if (selected.length === 0) throw new Error(`no scenario matches ${args.only}`);
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const bk = new BenchKafka();
  await bk.connect();
  const started = new Date();
  const rows = [];
  try {
    for (const s of selected) {
      const ctx = {
        bk,
        records: args.records,
        partitions: args.partitions,
        unique: (what) => `kappa-bench-${runId}-${s.name}-${what}`,
        cleanupTopics: [],
      };
      log(`${s.name}: ${args.records} records, ${args.partitions} partitions …`);
      try {
        const r = await s.run(ctx);
        const steady = (r.last - r.first) / 1000;
        // a scenario may move fewer records than --records (r.records) and add its own metrics
        const n = r.records ?? args.records;
        const row = {
          name: s.name,
          description: s.description,
          baseline: !!s.baseline,
          records: n,
          outputRecords: r.outputRecords,
          // from the first output record seen to the last one (polled every 25 ms): the steady rate
          steadySeconds: steady,
          recordsPerSec: Math.round(n / Math.max(steady, 0.001)),
          // from the scenario's start (consumer.run / POST /connectors) to the last output record: includes group join, task start
          endToEndSeconds: (r.last - r.t0) / 1000,
          endToEndRecordsPerSec: Math.round(n / Math.max((r.last - r.t0) / 1000, 0.001)),
          // from the start until all input offsets were committed
          commitSeconds: (r.committedAt - r.t0) / 1000,
        };
        // a scenario that measures times, not a record rate (noRate: cluster-rebalance, delete-latency): no rate columns
        if (s.noRate) for (const k of ['steadySeconds', 'recordsPerSec', 'endToEndSeconds', 'endToEndRecordsPerSec', 'commitSeconds']) row[k] = null;
        // a scenario's own metrics (serving, peer, scaling, overload, ...) go into its row as they are
        for (const [k, v] of Object.entries(r)) if (!RUN_FIELDS.has(k)) row[k] = v;
        rows.push(row);
        if (s.noRate) log(`${s.name}: done (its own table below)`);
        else log(`${s.name}: ${row.recordsPerSec} records/s (steady ${steady.toFixed(2)} s, end-to-end ${row.endToEndSeconds.toFixed(2)} s)`);
      } catch (e) {
        log(`${s.name}: FAILED ${e.stack || e}`);
        rows.push({ name: s.name, description: s.description, baseline: !!s.baseline, records: args.records, error: String(e.message || e).slice(0, 4000) });
      } finally {
        await bk.deleteTopics(ctx.cleanupTopics);
      }
    }
  } finally {
    await bk.close();
  }

  const base = rows.find((r) => r.baseline && !r.error);
  for (const r of rows) {
    if (base && !r.error && r.recordsPerSec != null) {
      r.ratioToBaseline = Number((r.recordsPerSec / base.recordsPerSec).toFixed(3));
      r.endToEndRatioToBaseline = Number((r.endToEndRecordsPerSec / base.endToEndRecordsPerSec).toFixed(3));
    } else r.ratioToBaseline = null;
  }
  const result = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    commit: gitCommit(),
    bootstrapServers: BOOTSTRAP,
    records: args.records,
    partitions: args.partitions,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0] ? os.cpus()[0].model : null, memGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)), platform: `${os.platform()} ${os.release()}`, node: process.version },
    scenarios: rows,
  };
  process.stdout.write(`\nKappa Connect benchmark: ${args.records} records, ${args.partitions} partitions, ${result.machine.cpus} CPUs, node ${process.version}\n\n`);
  process.stdout.write(table(rows) + '\n\n');
  process.stdout.write('records/s = records / (last − first output record seen); vs raw = ratio to raw-kafkajs; ' +
    'end-to-end = start → last output (incl. group join); commit = start → all offsets committed\n');
  // scenarios with their own metrics bring a table function (one table per distinct function)
  for (const t of new Set(selected.map((s) => s.table).filter(Boolean))) {
    const text = t(rows);
    if (text) process.stdout.write(`\n${text}\n`);
  }
  if (args.write) {
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const stamp = started.toISOString().replace(/[:.]/g, '-');
    const json = JSON.stringify(result, null, 2) + '\n';
    fs.writeFileSync(path.join(dir, `${stamp}.json`), json);
    fs.writeFileSync(path.join(dir, 'latest.json.tmp'), json);
    fs.renameSync(path.join(dir, 'latest.json.tmp'), path.join(dir, 'latest.json'));
    process.stdout.write(`results: bench/results/${stamp}.json (and latest.json)\n`);
  }
  if (rows.some((r) => r.error)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e.stack || e}\n`);
  process.exit(1);
});
