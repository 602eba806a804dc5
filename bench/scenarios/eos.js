'use strict';
/**
 * Exactly-once (`--only eos`): the KafkaTopicSink with processing.guarantee=at_least_once and
 * exactly_once_v2 in the same run, alternating, on one worker (tasks.max=1,
 * KAPPA_BENCH_EOS_TASKS), pass-through and Score (iris-logreg), over one input topic of iris
 * records (20,000 warm-up, KAPPA_BENCH_EOS_WARMUP, + --records capped at 200,000,
 * KAPPA_BENCH_EOS_RECORDS); exactly_once_v2 with commit.interval.ms 100 (the default), 1000 and
 * 5000, for both. Repetitions (KAPPA_BENCH_EOS_REPS, default 3) run the eight
 * configurations in turn, every other one in reverse order; medians.
 *
 * Every run: a fresh output topic and connector, created PAUSED and resumed once its tasks are in
 * their group, and a read_committed reader of the output started before the resume (the same
 * reader for both guarantees). Per run:
 * - recordsPerSec: what a read_committed consumer sees: records read between the batch that
 *   brought the count past the warm-up and the one that brought it to the total, per second. With
 *   exactly-once, output becomes visible at each commit, so the window's edges are commit times
 *   (null when all of the measured records became visible at once, e.g. commit.interval.ms=5000
 *   on a short run).
 * - writeRecordsPerSec / cpuUsPerRecord (worker process): the output topic's high watermarks
 *   (records of open transactions included; bk.highWatermarkSum) over the same warm-up → total
 *   window (bench/lib/measure.js): how fast the task writes, commit pauses included; with
 *   exactly-once the high watermarks also count one transaction marker per partition per commit
 *   (at 100 ms, a few hundred offsets among 200,000).
 * - visibleEndToEndRecordsPerSec: all records / (first record written → last one visible to
 *   read_committed): the whole backlog as a consumer of the output sees it, the wait for the last
 *   commit included (the resume and task start are left out); visibleAfterWrittenMs: all written →
 *   all visible.
 * - committedRead: records the read_committed reader read in all (exactly-once: the total, no duplicate).
 * eosOverAlo compares the medians of recordsPerSec (the goal: ≥ 0.8).
 */
const sv = require('../lib/serving');
const { median, measureWindow } = require('../lib/measure');
const { servingWorker, scoreConfig, failedTaskCheck, withLogs } = require('../lib/connect');
const { createTopic, pausedSink, deleteSink } = require('../lib/cluster');
const { inBackground, settle } = require('../lib/runs');

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const env = (name, dflt) => (process.env[name] !== undefined && process.env[name] !== '' ? Number(process.env[name]) : dflt);

const MODEL = 'iris-logreg';
const WARMUP = env('KAPPA_BENCH_EOS_WARMUP', 20_000);
/** measured records per run: --records, at most this (24 runs within ~4 minutes) */
const MAX_MEASURED = env('KAPPA_BENCH_EOS_RECORDS', 200_000);
const REPS = env('KAPPA_BENCH_EOS_REPS', 3);
const TASKS = env('KAPPA_BENCH_EOS_TASKS', 1);

const CONFIGS = [
  { key: 'passthrough-alo', mode: 'passthrough', guarantee: 'at_least_once' },
  { key: 'passthrough-eos-100', mode: 'passthrough', guarantee: 'exactly_once_v2', commitIntervalMs: 100 },
  { key: 'score-alo', mode: 'score', guarantee: 'at_least_once' },
  { key: 'score-eos-100', mode: 'score', guarantee: 'exactly_once_v2', commitIntervalMs: 100 },
  { key: 'passthrough-eos-1000', mode: 'passthrough', guarantee: 'exactly_once_v2', commitIntervalMs: 1000 },
  { key: 'passthrough-eos-5000', mode: 'passthrough', guarantee: 'exactly_once_v2', commitIntervalMs: 5000 },
  { key: 'score-eos-1000', mode: 'score', guarantee: 'exactly_once_v2', commitIntervalMs: 1000 },
  { key: 'score-eos-5000', mode: 'score', guarantee: 'exactly_once_v2', commitIntervalMs: 5000 },
];
/** KAPPA_BENCH_EOS_CONFIGS=passthrough-alo,passthrough-eos-100 runs only these (e.g. to profile one pair) */
const ONLY = (process.env.KAPPA_BENCH_EOS_CONFIGS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
const SELECTED = ONLY.length > 0 ? CONFIGS.filter((c) => ONLY.includes(c.key)) : CONFIGS;

const round = (v, digits) => (v == null ? null : Number(v.toFixed(digits)));

async function eosRun(ctx, worker, { input, total, cfg, tag }) {
  const { bk, partitions, unique } = ctx;
  const output = await createTopic(bk, unique(`out-${tag}`), partitions);
  const name = unique(`conn-${tag}`);
  const config = { ...(cfg.mode === 'score' ? scoreConfig(MODEL) : {}), 'processing.guarantee': cfg.guarantee };
  if (cfg.commitIntervalMs) config['commit.interval.ms'] = String(cfg.commitIntervalMs);
  let reader;
  try {
    // the reader joins its group while the connector's tasks join theirs
    const readerP = bk.committedReader(output);
    const pausedP = pausedSink(bk, worker, name, input, output, config, { tasks: TASKS });
    let paused;
    try {
      [reader, paused] = await Promise.all([readerP, pausedP]);
    } catch (e) {
      reader = await readerP.catch(() => undefined);
      await pausedP.catch(() => undefined);
      throw e;
    }
    const t0 = await paused.resume();
    // the write side: high watermarks (records of open transactions included)
    const m = await measureWindow(bk, output, { warmup: WARMUP, expected: total, pid: worker.pid, onTick: failedTaskCheck(worker, name), count: () => bk.highWatermarkSum(output, partitions) });
    // the read side: what read_committed sees
    const visible = await reader.waitFor(total, { onTick: failedTaskCheck(worker, name) });
    const committedAt = await bk.waitCommitted(`connect-${name}`, input, total);
    const w = reader.window(WARMUP, total);
    return {
      t0, committedAt,
      first: visible.first, last: visible.last, outputRecords: reader.count(),
      recordsPerSec: w ? w.recordsPerSec : null,
      window: w,
      writeRecordsPerSec: m.recordsPerSec,
      cpuUsPerRecord: m.cpuUsPerRecord,
      // from the first record written (not the resume: the task's start is not what is compared) to the last one visible
      visibleEndToEndRecordsPerSec: Math.round(total / Math.max((visible.last - m.firstAt) / 1000, 0.001)),
      // everything written (high watermarks at the total) → everything visible to read_committed
      visibleAfterWrittenMs: visible.last - m.endAt,
      resumeToFirstWrittenMs: m.firstAt - t0,
      committedRead: reader.count(),
    };
  } finally {
    if (reader) await reader.stop();
    await deleteSink(bk, worker, name);
    inBackground(ctx, () => bk.deleteTopics([output]));
  }
}

function eosScenario() {
  const name = 'eos';
  return {
    name,
    description: `worker: at_least_once vs exactly_once_v2 (commit.interval.ms 100, 1000, 5000), pass-through and Score (${MODEL}), tasks.max=${TASKS}, alternating, medians, read_committed counts; main row: pass-through exactly_once_v2`,
    table: eosTable,
    async run(ctx) {
      const { bk, partitions, unique } = ctx;
      const measured = Math.min(ctx.records, MAX_MEASURED);
      const total = WARMUP + measured;
      const input = await createTopic(bk, unique('in'), partitions);
      ctx.cleanupTopics.push(input);
      await sv.produceIris(bk, input, total, partitions, { perPartition: 250 });
      const worker = await servingWorker(ctx, {}, true);
      const runs = Object.fromEntries(SELECTED.map((c) => [c.key, []]));
      try {
        await sv.publishRest(worker, MODEL, 1, MODEL);
        for (let rep = 0; rep < REPS; rep++) {
          for (const cfg of rep % 2 === 0 ? SELECTED : [...SELECTED].reverse()) {
            const r = await eosRun(ctx, worker, { input, total, cfg, tag: `${cfg.key}-${rep}` });
            log(`${name}: repetition ${rep + 1}/${REPS}: ${cfg.key}: ${r.recordsPerSec} records/s read_committed, written ${r.writeRecordsPerSec}/s, ${r.cpuUsPerRecord} µs CPU/record, ${r.committedRead} read (resume → first written ${r.resumeToFirstWrittenMs} ms)`);
            if (cfg.guarantee === 'exactly_once_v2' && r.committedRead !== total) throw new Error(`${cfg.key}: the read_committed reader read ${r.committedRead} records, not ${total}`);
            runs[cfg.key].push(r);
          }
        }
      } catch (e) {
        throw withLogs(e, worker);
      } finally {
        await settle(ctx);
        await worker.stop();
      }
      const byConfig = SELECTED.map((c) => {
        const med = (k) => round(median(runs[c.key].map((r) => r[k])), k === 'cpuUsPerRecord' ? 2 : 0);
        return {
          key: c.key, mode: c.mode, guarantee: c.guarantee, commitIntervalMs: c.commitIntervalMs ?? null,
          recordsPerSec: med('recordsPerSec'),
          writeRecordsPerSec: med('writeRecordsPerSec'),
          visibleEndToEndRecordsPerSec: med('visibleEndToEndRecordsPerSec'),
          cpuUsPerRecord: med('cpuUsPerRecord'),
          visibleAfterWrittenMs: med('visibleAfterWrittenMs'),
          resumeToFirstWrittenMs: med('resumeToFirstWrittenMs'),
          runs: runs[c.key].map((r) => ({
            recordsPerSec: r.recordsPerSec, writeRecordsPerSec: r.writeRecordsPerSec, visibleEndToEndRecordsPerSec: r.visibleEndToEndRecordsPerSec,
            cpuUsPerRecord: r.cpuUsPerRecord, committedRead: r.committedRead, visibleAfterWrittenMs: r.visibleAfterWrittenMs, resumeToFirstWrittenMs: r.resumeToFirstWrittenMs,
          })),
        };
      });
      const get = (key) => byConfig.find((b) => b.key === key);
      const ratio = (a, b) => (a != null && b ? Number((a / b).toFixed(3)) : null);
      const eosOverAlo = {
        passthrough: ratio(get('passthrough-eos-100')?.recordsPerSec, get('passthrough-alo')?.recordsPerSec),
        score: ratio(get('score-eos-100')?.recordsPerSec, get('score-alo')?.recordsPerSec),
        passthroughWrite: ratio(get('passthrough-eos-100')?.writeRecordsPerSec, get('passthrough-alo')?.writeRecordsPerSec),
        scoreWrite: ratio(get('score-eos-100')?.writeRecordsPerSec, get('score-alo')?.writeRecordsPerSec),
      };
      // the main row: the median pass-through exactly_once_v2 (100 ms) run
      const list = runs['passthrough-eos-100'] ?? runs[SELECTED[0].key];
      const sorted = [...list].sort((a, b) => (a.recordsPerSec ?? 0) - (b.recordsPerSec ?? 0));
      const mid = sorted[Math.floor((sorted.length - 1) / 2)];
      return {
        t0: mid.t0, first: mid.window ? mid.window.startAt : mid.first, last: mid.window ? mid.window.endAt : mid.last,
        committedAt: mid.committedAt, outputRecords: mid.committedRead, records: mid.window ? mid.window.records : total,
        eos: { model: MODEL, tasks: TASKS, partitions, warmupRecords: WARMUP, measuredRecords: measured, repetitions: REPS, byConfig, eosOverAlo, goal: 0.8 },
      };
    },
  };
}

function eosTable(rows) {
  const lines = [];
  for (const r of rows.filter((x) => x.eos || (x.error && x.name === 'eos'))) {
    if (r.error) { lines.push(`${r.name}: ERROR`); continue; }
    const e = r.eos;
    lines.push(`${r.name} (tasks.max=${e.tasks}, ${e.partitions} partitions, ${e.warmupRecords} + ${e.measuredRecords} records, medians of ${e.repetitions}):`);
    lines.push('  read_committed = steady records/s a read_committed consumer sees; written = high watermarks (uncommitted included); first written → all visible = all records / that time; lag = all written → all visible');
    const cols = ['configuration', 'read_committed rec/s', 'written rec/s', 'first written → all visible rec/s', 'lag ms', 'µs CPU/rec', 'runs (read_committed / written)'];
    const data = e.byConfig.map((b) => [b.key, String(b.recordsPerSec ?? '-'), String(b.writeRecordsPerSec ?? '-'), String(b.visibleEndToEndRecordsPerSec ?? '-'), String(b.visibleAfterWrittenMs ?? '-'), String(b.cpuUsPerRecord ?? '-'),
      b.runs.map((x) => `${x.recordsPerSec ?? '-'}/${x.writeRecordsPerSec ?? '-'}`).join(', ')]);
    const widths = cols.map((c, i) => Math.max(c.length, ...data.map((d) => d[i].length)));
    const line = (cells) => `  ${cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`;
    lines.push(line(cols), line(widths.map((w) => '-'.repeat(w))), ...data.map(line));
    const q = e.eosOverAlo;
    lines.push(`  eos/alo (commit.interval.ms=100): pass-through ${q.passthrough} (written ${q.passthroughWrite}), score ${q.score} (written ${q.scoreWrite}); goal ≥ ${e.goal}`);
  }
  return lines.join('\n');
}

module.exports = [eosScenario()];
