'use strict';
/**
 * Scaling with tasks (`--only scaling`): the worker with tasks.max=1 and tasks.max=2 on the same
 * input, pass-through and Score, alternating t1, t2, t1, t2, ... (3 repetitions,
 * KAPPA_BENCH_SCALING_REPS), medians. The question is whether a second task uses the second core:
 * the ratio t2 / t1 (issue 8 asks ≥ 1.6 on 2 cores).
 *
 * Input: iris records (20,000 warm-up, KAPPA_BENCH_SCALING_WARMUP, + --records capped at 100,000,
 * KAPPA_BENCH_SCALING_RECORDS; pass-through always 800,000, KAPPA_BENCH_SCALING_PASSTHROUGH_RECORDS), 4 partitions by default (at least 2, so the second task has
 * partitions). Each run is a fresh worker on the whole backlog, measured like the
 * peer comparison (bench/lib/measure.js): records/s and worker CPU per record after the warm-up.
 * Score uses the skl2onnx default export of the iris logistic regression (worker defaults).
 */
const sv = require('../lib/serving');
const { runKappa, settled } = require('../lib/runs');
const { median } = require('../lib/measure');

const WARMUP = Number(process.env.KAPPA_BENCH_SCALING_WARMUP) || 20_000;
/** measured records per run: --records, at most this (12 runs must fit in the bench's time budget) */
const MAX_MEASURED = Number(process.env.KAPPA_BENCH_SCALING_RECORDS) || 100_000;
/**
 * Pass-through measures this many records whatever --records says: at 200,000-500,000 records/s,
 * 100,000 records left a steady window of 0.2-0.5 s, too short to compare two task counts.
 */
const PASSTHROUGH_MEASURED = Number(process.env.KAPPA_BENCH_SCALING_PASSTHROUGH_RECORDS) || 800_000;
const REPS = Number(process.env.KAPPA_BENCH_SCALING_REPS) || 3;

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function scalingScenario({ name, description, artifact = null, modelId = null, measuredRecords = null }) {
  return {
    name,
    description,
    table: scalingTable,
    run: settled(async (ctx) => {
      const { bk, partitions, unique } = ctx;
      if (partitions < 2) throw new Error(`${name} needs at least 2 partitions (--partitions ${partitions})`);
      const measured = measuredRecords ?? Math.min(ctx.records, MAX_MEASURED);
      const total = WARMUP + measured;
      const input = await bk.createTopic(unique('in'), partitions);
      ctx.cleanupTopics.push(input);
      await sv.produceIris(bk, input, total, partitions, { perPartition: 250 });
      const runs = { 1: [], 2: [] };
      for (let rep = 0; rep < REPS; rep++) {
        for (const tasks of [1, 2]) {
          log(`${name}: repetition ${rep + 1}/${REPS}: tasks.max=${tasks} …`);
          const r = await runKappa(ctx, { input, total, warmup: WARMUP, artifact, modelId, tasks, tag: `t${tasks}-${rep}` });
          log(`${name}: tasks.max=${tasks}: ${r.recordsPerSec} records/s, ${r.cpuUsPerRecord} µs CPU/record`);
          runs[tasks].push(r);
        }
      }
      const med = (tasks, k) => median(runs[tasks].map((r) => r[k]));
      const byTasks = [1, 2].map((tasks) => ({
        tasks,
        recordsPerSec: med(tasks, 'recordsPerSec'),
        cpuUsPerRecord: med(tasks, 'cpuUsPerRecord'),
        maxRssMiB: Math.round(med(tasks, 'maxRssBytes') / 2 ** 20),
        runs: runs[tasks].map((r) => ({ recordsPerSec: r.recordsPerSec, cpuUsPerRecord: r.cpuUsPerRecord, records: r.records, seconds: Number(r.seconds.toFixed(3)) })),
      }));
      // the main row: the median tasks.max=2 run
      const mid = runs[2].find((r) => r.recordsPerSec === byTasks[1].recordsPerSec) ?? runs[2][0];
      return {
        t0: mid.t0, first: mid.startAt, last: mid.endAt, committedAt: mid.committedAt, outputRecords: mid.endCount, records: mid.records,
        scaling: {
          model: artifact, partitions, warmupRecords: WARMUP, measuredRecords: measured, repetitions: REPS, byTasks,
          t2OverT1: byTasks[0].recordsPerSec ? Number((byTasks[1].recordsPerSec / byTasks[0].recordsPerSec).toFixed(3)) : null,
        },
      };
    }),
  };
}

function scalingTable(rows) {
  const lines = [];
  for (const r of rows.filter((x) => x.scaling || (x.error && x.name.startsWith('scaling-')))) {
    if (r.error) { lines.push(`${r.name}: ERROR`); continue; }
    const s = r.scaling;
    const fmt = (t) => `tasks.max=${t.tasks}: ${t.recordsPerSec} records/s (${t.runs.map((x) => x.recordsPerSec).join(' / ')}), ${t.cpuUsPerRecord} µs CPU/record, max RSS ${t.maxRssMiB} MiB`;
    lines.push(`${r.name} (${s.model ?? 'pass-through'}, ${s.partitions} partitions, medians of ${s.repetitions}): ${fmt(s.byTasks[0])}; ${fmt(s.byTasks[1])}; t2/t1 = ${s.t2OverT1}`);
  }
  return lines.join('\n');
}

module.exports = [
  scalingScenario({
    name: 'scaling-passthrough',
    description: `worker: pass-through of iris records (${PASSTHROUGH_MEASURED} measured) with tasks.max=1 and 2, alternating repetitions, medians; main row: tasks.max=2`,
    measuredRecords: PASSTHROUGH_MEASURED,
  }),
  scalingScenario({
    name: 'scaling-score',
    description: 'worker: Score (iris-logreg, default export) with tasks.max=1 and 2, alternating repetitions, medians; main row: tasks.max=2',
    artifact: 'iris-logreg',
    modelId: 'iris-logreg',
  }),
];
