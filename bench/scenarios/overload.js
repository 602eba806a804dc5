'use strict';
/**
 * Overload (`--only overload`): the worker starts scoring behind a backlog much larger than it
 * drains in a few seconds, all of it offered at once, so fetching could outrun processing by any
 * factor. Sampled: the worker's RSS (its process tree, every 100 ms, from /proc) from before the
 * connector starts until the backlog is through. Checked: every input record is in the output
 * exactly once (each id read back), and the group has committed the end offsets.
 *
 * Why a backlog and not a paced producer at 10 × the drain rate: on this 2-core machine the
 * harness cannot produce at 10 × what the worker sustains while the worker and broker run; a
 * backlog offers more than that from the first moment. Size: 2 × --records (400,000 by default),
 * or KAPPA_BENCH_OVERLOAD_RECORDS. Score with iris-logreg (default export), tasks.max=1, worker defaults.
 */
const sv = require('../lib/serving');
const { runKappa, settled } = require('../lib/runs');

const ID_PREFIX = Buffer.from('{"id":');

/** The id of an output value `{"id":<n>,...`, without parsing the rest. */
function idOf(value) {
  if (!value || value.compare(ID_PREFIX, 0, ID_PREFIX.length, 0, ID_PREFIX.length) !== 0) return -1;
  let n = 0;
  let i = ID_PREFIX.length;
  for (; i < value.length && value[i] >= 48 && value[i] <= 57; i++) n = n * 10 + (value[i] - 48);
  return i > ID_PREFIX.length ? n : -1;
}

const overloadScenario = {
  name: 'overload-score',
  description: 'worker: Score (iris-logreg) behind a backlog of 2 × --records offered at once: max RSS (100 ms samples), every record out exactly once',
  table: overloadTable,
  run: settled(async (ctx) => {
    const { bk, partitions, unique } = ctx;
    const backlog = Number(process.env.KAPPA_BENCH_OVERLOAD_RECORDS) || 2 * ctx.records;
    const input = await bk.createTopic(unique('in'), partitions);
    ctx.cleanupTopics.push(input);
    await sv.produceIris(bk, input, backlog, partitions, { perPartition: 250 });
    const r = await runKappa(ctx, { input, total: backlog, warmup: 0, artifact: 'iris-logreg', modelId: 'iris-logreg', tag: 'overload', keepOutput: true, rssIntervalMs: 100 });
    let ids;
    try {
      ids = await bk.readIds(r.output, backlog, idOf);
    } finally {
      await bk.deleteTopics([r.output]);
    }
    const mib = (b) => (b === null ? null : Math.round(b / 2 ** 20));
    const overload = {
      model: 'iris-logreg', backlogRecords: backlog, partitions,
      drainRecordsPerSec: r.recordsPerSec, drainSeconds: Number(r.seconds.toFixed(2)),
      backlogSecondsOfWork: r.recordsPerSec ? Number((backlog / r.recordsPerSec).toFixed(1)) : null,
      idleRssMiB: mib(r.idleRssBytes), maxRssMiB: mib(r.maxRssBytes), rssSampleMs: 100,
      outputEndOffsets: r.endCount, ...ids,
      lost: ids.missing, ok: ids.missing === 0 && ids.outOfRange === 0,
    };
    if (!overload.ok) throw new Error(`overload: ${ids.missing} of ${backlog} records missing from the output (${JSON.stringify(ids)})`);
    return { t0: r.t0, first: r.firstAt, last: r.endAt, committedAt: r.committedAt, outputRecords: r.endCount, records: backlog, overload };
  }),
};

function overloadTable(rows) {
  const r = rows.find((x) => x.name === 'overload-score');
  if (!r) return '';
  if (r.error) return 'overload-score: ERROR';
  const o = r.overload;
  return `overload-score: backlog of ${o.backlogRecords} iris records (${o.backlogSecondsOfWork} s of work at the drain rate) offered at once; ` +
    `drained at ${o.drainRecordsPerSec} records/s; worker RSS ${o.idleRssMiB} MiB before the connector, max ${o.maxRssMiB} MiB (100 ms samples); ` +
    `read back ${o.read}: ${o.distinct} distinct ids, ${o.duplicates} duplicates, ${o.missing} missing`;
}

module.exports = [overloadScenario];
