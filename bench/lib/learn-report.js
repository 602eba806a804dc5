'use strict';
/**
 * The online-learning part of a benchmark run: runs the in-process microbenchmark and
 * scikit-learn's partial_fit once (before the first learn scenario), collects the learn scenarios'
 * Kafka results, and when the process exits
 *  - prints the learn tables on stdout (after run.js's table), and
 *  - adds a `learn` section to the result files run.js has just written for this run
 *    (bench/results/<startedAt>.json and latest.json; not with --no-write).
 * run.js keeps only the standard fields of a scenario's result, hence the exit hook.
 */
const fs = require('fs');
const path = require('path');
const { runInProcess, LEARNERS } = require('./learn-inprocess');
const { collected } = require('./learn-pipeline');

const RESULTS = path.join(__dirname, '..', 'results');
const PROCESS_START = Date.now() - process.uptime() * 1000;
const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

let inProcess = null;
let hooked = false;

/** beforeRun of every learn scenario: the in-process part once per run, and the exit hook. */
function beforeLearnScenario() {
  if (!hooked) {
    hooked = true;
    process.once('exit', onExit);
  }
  if (inProcess) return;
  if (process.env.KAPPA_BENCH_LEARN_INPROCESS === '0') {
    inProcess = { skipped: 'KAPPA_BENCH_LEARN_INPROCESS=0' };
    return;
  }
  log('learn: in-process learner microbenchmark and scikit-learn partial_fit (~20 s) …');
  try {
    inProcess = runInProcess({ log });
  } catch (e) {
    log(`learn: in-process microbenchmark FAILED: ${e.stack || e}`);
    inProcess = { error: String(e.message || e) };
  }
}

function fmt(n) {
  return n == null ? '' : Math.round(n).toLocaleString('en-US');
}

function textTable(cols, data) {
  const widths = cols.map((c, i) => Math.max(c.length, ...data.map((d) => String(d[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...data.map(line)].join('\n');
}

/** Builds the `learn` section; `runRows` are run.js's scenario rows of this run (for the pass-through ceiling). */
function buildSection(runRows) {
  const byName = new Map((runRows || []).map((r) => [r.name, r]));
  const pipe = byName.get('pipeline-passthrough');
  const own = collected.find((r) => r.name === 'learn-passthrough');
  const kafka = collected.map((r) => ({
    ...r,
    ratioToLearnPassthrough: own && r !== own ? Number((r.recordsPerSec / own.recordsPerSec).toFixed(3)) : null,
    ratioToPipelinePassthrough: pipe && !pipe.error ? Number((r.recordsPerSec / pipe.recordsPerSec).toFixed(3)) : null,
  }));
  return {
    kafka,
    passthroughCeiling: {
      'pipeline-passthrough': pipe && !pipe.error ? pipe.recordsPerSec : null,
      'learn-passthrough': own ? own.recordsPerSec : null,
    },
    inProcess,
  };
}

function tables(section) {
  const out = [];
  if (section.kafka.length > 0) {
    out.push('Learning through Kafka (d = 4, hyperplane stream; records/s from first to last output record):\n');
    out.push(textTable(
      ['scenario', 'records/s', 'learned/s', 'vs learn-pt', 'vs pipeline-pt', 'accuracy', 'steady s'],
      section.kafka.map((r) => [r.name, fmt(r.recordsPerSec), r.learnedPerSec == null ? '' : fmt(r.learnedPerSec),
        r.ratioToLearnPassthrough == null ? '' : r.ratioToLearnPassthrough.toFixed(2),
        r.ratioToPipelinePassthrough == null ? '' : r.ratioToPipelinePassthrough.toFixed(2),
        r.accuracy == null ? '' : r.accuracy.toFixed(4), r.steadySeconds.toFixed(2)]),
    ));
  }
  const ip = section.inProcess;
  if (ip && ip.rows) {
    const dims = [...new Set(ip.rows.map((r) => r.d))];
    const names = LEARNERS.map((l) => l.name);
    const cell = (name, d) => { const r = ip.rows.find((x) => x.learner === name && x.d === d); return r ? fmt(r.updatesPerSec) : ''; };
    const data = names.map((n) => [`kappa ${n}`, ...dims.map((d) => cell(n, d))]);
    if (ip.sklearn && ip.sklearn.rows) {
      for (const est of [...new Set(ip.sklearn.rows.map((r) => r.estimator))]) {
        data.push([`sklearn ${ip.sklearn.sklearn} ${est}`, ...dims.map((d) => { const r = ip.sklearn.rows.find((x) => x.estimator === est && x.d === d); return r ? fmt(r.updatesPerSec) : ''; })]);
      }
    }
    out.push(`\nLearner updates/s in process (node ${ip.node}; ${ip.data}; ${ip.budgetMs} ms per cell):\n`);
    out.push(textTable(['learner', ...dims.map((d) => `d=${d}`)], data));
    if (ip.sklearn && !ip.sklearn.rows) out.push(`scikit-learn: ${ip.sklearn.skipped ? `SKIPPED (${ip.sklearn.skipped})` : `ERROR ${ip.sklearn.error}`}`);
  } else if (ip) {
    out.push(`\nLearner microbenchmark: ${ip.skipped ? `SKIPPED (${ip.skipped})` : `ERROR ${ip.error}`}`);
  }
  return out.join('\n') + '\n';
}

function onExit() {
  try {
    let result = null;
    const latest = path.join(RESULTS, 'latest.json');
    if (fs.existsSync(latest)) {
      const r = JSON.parse(fs.readFileSync(latest, 'utf8'));
      // only a file this process wrote: started after this process, and with our scenarios in it
      if (Date.parse(r.startedAt) >= PROCESS_START - 1000 && r.scenarios.some((s) => collected.some((c) => c.name === s.name) || s.name.startsWith('learn-'))) result = r;
    }
    const section = buildSection(result ? result.scenarios : []);
    process.stdout.write('\n' + tables(section));
    if (result) {
      result.learn = section;
      const json = JSON.stringify(result, null, 2) + '\n';
      const stamp = path.join(RESULTS, `${result.startedAt.replace(/[:.]/g, '-')}.json`);
      if (fs.existsSync(stamp)) fs.writeFileSync(stamp, json);
      fs.writeFileSync(latest, json);
      process.stdout.write(`learn section added to bench/results/${path.basename(stamp)} and latest.json\n`);
    }
  } catch (e) {
    process.stderr.write(`learn report failed: ${e.stack || e}\n`);
    process.exitCode = 1;
  }
}

module.exports = { beforeLearnScenario, buildSection, tables };
