'use strict';
/**
 * Kappa beside the Kafka Streams + ONNX Runtime peer (bench/peer; docs/benchmarks.md "The Kafka
 * Streams peer"), `--only peer`.
 *
 * One input topic of iris records (`warmup` + --records capped at 100,000 (KAPPA_BENCH_PEER_RECORDS),
 * in 250-record batches per partition, as the serving scenarios write them) is read by every run, each with its own consumer group and output
 * topic. A repetition runs, in this order:
 *
 *   Kappa pass-through · Kappa logreg (ZipMap-free export) · Kappa logreg (skl2onnx default export)
 *   · peer logreg (ZipMap-free) · Kappa rf (ZipMap-free) · Kappa rf (default) · peer rf (ZipMap-free)
 *
 * so Kappa and the peer alternate; 3 repetitions (KAPPA_BENCH_PEER_REPS), medians. Each run is a
 * fresh process (worker or JVM) that starts on the whole backlog; the clock starts once `warmup`
 * (50,000, KAPPA_BENCH_PEER_WARMUP) records are out, so start-up, group join and the JIT's first
 * compilations are outside it, and stops when all are out. Per run: records/s and CPU µs per
 * record of the process under test (its process tree, /proc utime + stime) over that window.
 * Both score with model id iris-logreg / iris-rf version 1, so their outputs are the same bytes:
 * in the first repetition the first 2,000 records of every output partition of the peer are
 * compared with Kappa's (ZipMap-free run of the same algorithm).
 *
 * Kappa: worker defaults (Score batches of ≤ 256 rows, one inference thread), tasks.max =
 * KAPPA_BENCH_PEER_TASKS (default 1). Peer: as many stream threads, batches of ≤ 256 rows flushed
 * every 5 ms, at least once.
 */
const sv = require('../lib/serving');
const { ensurePeerJar } = require('../lib/peer');
const { runKappa, runPeer, outputsEqual, settled } = require('../lib/runs');
const { median } = require('../lib/measure');

const WARMUP = Number(process.env.KAPPA_BENCH_PEER_WARMUP) || 50_000;
/** measured records per run: --records, at most this (21 runs must fit in the bench's time budget) */
const MAX_MEASURED = Number(process.env.KAPPA_BENCH_PEER_RECORDS) || 100_000;
const REPS = Number(process.env.KAPPA_BENCH_PEER_REPS) || 3;
const PARALLELISM = Number(process.env.KAPPA_BENCH_PEER_TASKS) || 1;
const COMPARE_PER_PARTITION = 2000;

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** What a repetition runs, in order. `modelId` is the same for both exports of an algorithm. */
const VARIANTS = [
  { key: 'kappa-passthrough', who: 'kappa', algo: null, exported: null, artifact: null },
  { key: 'kappa-logreg-nozipmap', who: 'kappa', algo: 'logreg', exported: 'ZipMap-free', artifact: 'iris-logreg-nozipmap' },
  { key: 'kappa-logreg-default', who: 'kappa', algo: 'logreg', exported: 'default (ZipMap)', artifact: 'iris-logreg' },
  { key: 'peer-logreg-nozipmap', who: 'peer', algo: 'logreg', exported: 'ZipMap-free', artifact: 'iris-logreg-nozipmap' },
  { key: 'kappa-rf-nozipmap', who: 'kappa', algo: 'rf', exported: 'ZipMap-free', artifact: 'iris-rf-nozipmap' },
  { key: 'kappa-rf-default', who: 'kappa', algo: 'rf', exported: 'default (ZipMap)', artifact: 'iris-rf' },
  { key: 'peer-rf-nozipmap', who: 'peer', algo: 'rf', exported: 'ZipMap-free', artifact: 'iris-rf-nozipmap' },
];

const modelIdOf = (algo) => (algo ? `iris-${algo}` : null);

function summary(r) {
  return {
    recordsPerSec: r.recordsPerSec,
    cpuUsPerRecord: r.cpuUsPerRecord,
    brokerCpuUsPerRecord: r.brokerCpuUsPerRecord,
    maxRssMiB: r.maxRssBytes === null ? null : Math.round(r.maxRssBytes / 2 ** 20),
    records: r.records,
    seconds: Number(r.seconds.toFixed(3)),
    commitLagMs: r.committedAt - r.endAt,
  };
}

const ratio = (a, b) => (a !== null && b !== null && b > 0 ? Number((a / b).toFixed(3)) : null);

function peerComparison({ name = 'peer-iris', description } = {}) {
  return {
    name,
    description: description ?? `Kappa (tasks.max=${PARALLELISM}) vs the Kafka Streams + ORT peer (${PARALLELISM} stream thread${PARALLELISM > 1 ? 's' : ''}), ` +
      `iris logreg/rf, ${REPS} alternating repetitions, medians; main row: Kappa logreg ZipMap-free`,
    table: peerTable,
    run: settled(async (ctx) => {
      const { bk, partitions, unique } = ctx;
      const measured = Math.min(ctx.records, MAX_MEASURED);
      const total = WARMUP + measured;
      ensurePeerJar(log);
      const input = await bk.createTopic(unique('in'), partitions);
      ctx.cleanupTopics.push(input);
      await sv.produceIris(bk, input, total, partitions, { perPartition: 250 });

      const runs = Object.fromEntries(VARIANTS.map((v) => [v.key, []]));
      const raw = Object.fromEntries(VARIANTS.map((v) => [v.key, []]));
      const identical = {};
      for (let rep = 0; rep < REPS; rep++) {
        const kept = {};
        for (const v of VARIANTS) {
          const compareNow = rep === 0 && v.exported === 'ZipMap-free';
          const opts = { input, total, warmup: WARMUP, artifact: v.artifact, modelId: modelIdOf(v.algo), tag: `${v.key}-${rep}`, keepOutput: compareNow };
          log(`${name}: repetition ${rep + 1}/${REPS}: ${v.key} …`);
          const r = v.who === 'peer' ? await runPeer(ctx, { ...opts, threads: PARALLELISM }) : await runKappa(ctx, { ...opts, tasks: PARALLELISM });
          runs[v.key].push(summary(r));
          raw[v.key].push(r);
          log(`${name}: ${v.key}: ${r.recordsPerSec} records/s, ${r.cpuUsPerRecord} µs CPU/record`);
          if (compareNow && v.who === 'kappa') kept[v.algo] = r.output;
          if (compareNow && v.who === 'peer') {
            try {
              identical[v.algo] = await outputsEqual(kept[v.algo], r.output, partitions, COMPARE_PER_PARTITION);
              const c = identical[v.algo];
              log(`${name}: ${v.algo}: peer output vs Kappa's: ${c.identical} of ${c.compared} records byte-identical, ` +
                `${c.sameButProbabilityBits} differ only in probability bits (≤ ${c.maxProbabilityDiff}), ${c.mismatches} differ`);
            } finally {
              await bk.deleteTopics([kept[v.algo], r.output]);
            }
          }
        }
      }

      const med = {};
      for (const v of VARIANTS) {
        const list = runs[v.key];
        med[v.key] = {
          recordsPerSec: median(list.map((x) => x.recordsPerSec)),
          cpuUsPerRecord: median(list.map((x) => x.cpuUsPerRecord)),
          brokerCpuUsPerRecord: median(list.map((x) => x.brokerCpuUsPerRecord)),
          maxRssMiB: median(list.map((x) => x.maxRssMiB)),
        };
      }
      const pass = med['kappa-passthrough'];
      const comparisons = VARIANTS.filter((v) => v.who === 'kappa' && v.algo).map((v) => {
        const k = med[v.key];
        const p = med[`peer-${v.algo}-nozipmap`];
        return {
          variant: v.key,
          vsPassthrough: ratio(k.recordsPerSec, pass.recordsPerSec),
          vsPeerRecordsPerSec: ratio(k.recordsPerSec, p.recordsPerSec),
          vsPeerCpuPerRecord: ratio(k.cpuUsPerRecord, p.cpuUsPerRecord),
        };
      });

      // the main row: the median run of Kappa logreg (ZipMap-free)
      const main = raw['kappa-logreg-nozipmap'];
      const mid = main.find((r) => r.recordsPerSec === Math.round(med['kappa-logreg-nozipmap'].recordsPerSec)) ?? main[0];
      return {
        t0: mid.t0, first: mid.startAt, last: mid.endAt, committedAt: mid.committedAt, outputRecords: mid.endCount, records: mid.records,
        peer: {
          partitions, warmupRecords: WARMUP, measuredRecords: measured, repetitions: REPS, parallelism: PARALLELISM,
          order: VARIANTS.map((v) => v.key),
          variants: VARIANTS.map((v) => ({ key: v.key, who: v.who, algorithm: v.algo, export: v.exported, artifact: v.artifact, runs: runs[v.key], median: med[v.key] })),
          comparisons,
          identicalOutput: identical,
        },
      };
    }),
  };
}

function fmtNum(x, digits = 0) {
  if (x === null || x === undefined) return '';
  return digits ? x.toFixed(digits) : Math.round(x).toLocaleString('en-US');
}

/** The side-by-side table printed after run.js's. */
function peerTable(rows) {
  const lines = [];
  for (const row of rows.filter((r) => r.peer || (r.error && r.name.startsWith('peer-')))) {
    if (row.error) { lines.push(`${row.name}: ERROR`); continue; }
    const p = row.peer;
    lines.push(`Kappa vs the Kafka Streams + ORT peer (${row.name}): iris, ${p.partitions} partitions, tasks.max = stream threads = ${p.parallelism}; ` +
      `${p.warmupRecords.toLocaleString('en-US')} warm-up + ${p.measuredRecords.toLocaleString('en-US')} measured records per run; ${p.repetitions} alternating repetitions, medians`, '');
    const cols = ['variant', 'export', 'records/s', 'runs', 'CPU µs/rec', 'broker µs/rec', 'max RSS MiB', 'vs pass-through', 'vs peer rate', 'CPU vs peer'];
    const data = p.variants.map((v) => {
      const c = p.comparisons.find((x) => x.variant === v.key);
      return [
        v.key, v.export ?? '-',
        fmtNum(v.median.recordsPerSec), v.runs.map((x) => fmtNum(x.recordsPerSec)).join(' / '),
        fmtNum(v.median.cpuUsPerRecord, 2), fmtNum(v.median.brokerCpuUsPerRecord, 2), fmtNum(v.median.maxRssMiB),
        c && c.vsPassthrough !== null ? c.vsPassthrough.toFixed(2) : '',
        c && c.vsPeerRecordsPerSec !== null ? c.vsPeerRecordsPerSec.toFixed(2) : '',
        c && c.vsPeerCpuPerRecord !== null ? c.vsPeerCpuPerRecord.toFixed(2) : '',
      ];
    });
    const widths = cols.map((h, i) => Math.max(h.length, ...data.map((d) => d[i].length)));
    const line = (cells) => cells.map((x, i) => (i < 2 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
    lines.push(line(cols), widths.map((w) => '-'.repeat(w)).join('  '), ...data.map(line), '');
    lines.push('CPU µs/rec = CPU time (user + system, /proc) of the worker / JVM process over the measured window ÷ records; ' +
      'vs peer = Kappa ÷ the peer on the ZipMap-free export of the same algorithm (rate: higher is better for Kappa; CPU: lower is)');
    for (const [algo, c] of Object.entries(p.identicalOutput)) {
      lines.push(`output check ${algo} (first ${c.compared / p.partitions} records of each partition, Kappa's vs the peer's): ${c.identical} byte-identical, ` +
        `${c.sameButProbabilityBits} equal but for the last bits of probabilities` +
        (c.sameButProbabilityBits > 0 ? ` (max |Δ| ${c.maxProbabilityDiff.toExponential(1)}: ONNX Runtime rounds by batch layout)` : '') + `, ${c.mismatches} different` +
        (c.firstMismatch ? `; first difference: ${JSON.stringify(c.firstMismatch).slice(0, 600)}` : ''));
    }
  }
  return lines.join('\n');
}

module.exports = { peerComparison, peerTable, VARIANTS };
