'use strict';
/**
 * Deleting many connectors at once (`--only delete`): one worker, 20 KafkaTopicSink connectors
 * (KAPPA_BENCH_DELETE_CONNECTORS; tasks.max=1 each, one shared 1-partition input and output
 * topic) created in parallel and waited for until every one is RUNNING; then all of them are
 * deleted in parallel. Reported: the latency of the DELETE answers (p50, max; each must be 204),
 * the time from the first DELETE sent until GET /connectors lists none of them (polled every
 * 25 ms) and until every task has left its consumer group (the tasks stop behind the answers,
 * docs/design.md "Lifecycle"); also the create answers' latency and the time until all RUNNING.
 * Repetitions on the same worker: KAPPA_BENCH_DELETE_REPS (default 2), medians.
 */
const { sleep } = require('../lib/kafka');
const { startWorker } = require('../lib/worker');
const { median } = require('../lib/measure');
const { percentile } = require('../lib/serving');
const { createTopic, postSink, waitGroupEmpty } = require('../lib/cluster');
const { withLogs } = require('../lib/connect');

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const env = (name, dflt) => (process.env[name] !== undefined && process.env[name] !== '' ? Number(process.env[name]) : dflt);

const COUNT = env('KAPPA_BENCH_DELETE_CONNECTORS', 20);
const REPS = env('KAPPA_BENCH_DELETE_REPS', 2);

/** Polls GET /connectors?expand=status until every name is RUNNING with its task; returns Date.now() then. */
async function waitAllRunning(worker, names, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const res = await worker.request('GET', '/connectors?expand=status');
    const at = Date.now();
    last = res.text;
    if (res.status === 200) {
      const st = (n) => res.body[n] && res.body[n].status;
      const failed = names.find((n) => st(n) && st(n).tasks.some((t) => t.state === 'FAILED'));
      if (failed) throw new Error(`connector ${failed} has a FAILED task: ${JSON.stringify(st(failed)).slice(0, 2000)}`);
      if (names.every((n) => st(n) && st(n).connector.state === 'RUNNING' && st(n).tasks.length === 1 && st(n).tasks[0].state === 'RUNNING')) return at;
    }
    if (at > deadline) throw new Error(`not all ${names.length} connectors RUNNING after ${timeoutMs} ms: ${last.slice(0, 2000)}`);
    await sleep(100);
  }
}

async function deleteRound(ctx, worker, { input, output, rep }) {
  const { bk, unique } = ctx;
  const names = Array.from({ length: COUNT }, (_, i) => unique(`c${rep}-${i}`));
  try {
    const c0 = Date.now();
    const created = await Promise.all(names.map(async (n) => {
      const t = Date.now();
      await postSink(worker, n, input, output);
      return Date.now() - t;
    }));
    const runningAt = await waitAllRunning(worker, names);

    const t0 = Date.now();
    const answers = await Promise.all(names.map(async (n) => {
      const t = Date.now();
      const res = await worker.request('DELETE', `/connectors/${n}`);
      return { name: n, status: res.status, ms: Date.now() - t, text: res.status === 204 ? '' : res.text.slice(0, 300) };
    }));
    const answeredAt = Date.now();
    const bad = answers.filter((a) => a.status !== 204);
    if (bad.length > 0) throw new Error(`${bad.length} DELETE answers were not 204: ${JSON.stringify(bad.slice(0, 5))}`);
    // GET /connectors until none of them is listed
    let goneAt;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await worker.request('GET', '/connectors');
      if (res.status === 200 && Array.isArray(res.body) && !res.body.some((n) => names.includes(n))) { goneAt = Date.now(); break; }
      if (Date.now() > deadline) throw new Error(`60 s after the deletes GET /connectors still lists ${res.text.slice(0, 1000)}`);
      await sleep(25);
    }
    const statuses = await Promise.all(names.map((n) => worker.request('GET', `/connectors/${n}/status`)));
    const stillThere = statuses.filter((s) => s.status !== 404).length;
    const stoppedAt = Math.max(...(await Promise.all(names.map((n) => waitGroupEmpty(bk, `connect-${n}`)))));
    const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
    const cms = [...created].sort((a, b) => a - b);
    return {
      t0,
      deleteP50Ms: percentile(ms, 50),
      deleteMaxMs: ms[ms.length - 1],
      allAnsweredMs: answeredAt - t0,
      goneFromListMs: goneAt - t0,
      statusNot404AfterGone: stillThere,
      tasksLeftGroupsMs: stoppedAt - t0,
      createP50Ms: percentile(cms, 50),
      createMaxMs: cms[cms.length - 1],
      allRunningMs: runningAt - c0,
      goneAt,
    };
  } finally {
    await bk.admin.deleteGroups(names.map((n) => `connect-${n}`)).catch(() => undefined);
  }
}

function deleteLatency() {
  const name = 'delete-latency';
  return {
    name,
    description: `worker: ${COUNT} KafkaTopicSink connectors RUNNING, all deleted in parallel: DELETE answer p50/max, until GET /connectors lists none`,
    noRate: true,
    table: deleteTable,
    async run(ctx) {
      const { bk, unique } = ctx;
      const input = await createTopic(bk, unique('in'), 1);
      const output = await createTopic(bk, unique('out'), 1);
      ctx.cleanupTopics.push(input, output);
      await bk.produceInput(input, 100, 1);
      const worker = await startWorker();
      ctx.cleanupTopics.push(...worker.internalTopics);
      const rounds = [];
      try {
        for (let rep = 0; rep < REPS; rep++) {
          const r = await deleteRound(ctx, worker, { input, output, rep });
          log(`${name}: repetition ${rep + 1}/${REPS}: DELETE p50 ${r.deleteP50Ms} ms, max ${r.deleteMaxMs} ms; gone from GET /connectors after ${r.goneFromListMs} ms; tasks out of their groups after ${r.tasksLeftGroupsMs} ms`);
          rounds.push(r);
        }
      } catch (e) {
        throw withLogs(e, worker);
      } finally {
        await worker.stop();
      }
      const med = (k) => Math.round(median(rounds.map((r) => r[k])));
      const last = rounds[rounds.length - 1];
      return {
        t0: last.t0, first: last.t0, last: last.goneAt, committedAt: last.goneAt, outputRecords: 0, records: 0,
        deletes: {
          connectors: COUNT, repetitions: REPS,
          deleteP50Ms: med('deleteP50Ms'), deleteMaxMs: med('deleteMaxMs'), allAnsweredMs: med('allAnsweredMs'),
          goneFromListMs: med('goneFromListMs'), tasksLeftGroupsMs: med('tasksLeftGroupsMs'),
          createP50Ms: med('createP50Ms'), createMaxMs: med('createMaxMs'), allRunningMs: med('allRunningMs'),
          rounds: rounds.map(({ t0, goneAt, ...r }) => r),
        },
      };
    },
  };
}

function deleteTable(rows) {
  const lines = [];
  for (const r of rows.filter((x) => x.deletes || (x.error && x.name === 'delete-latency'))) {
    if (r.error) { lines.push(`${r.name}: ERROR`); continue; }
    const d = r.deletes;
    const each = (k) => d.rounds.map((x) => x[k]).join(' / ');
    lines.push(`${r.name} (${d.connectors} connectors, one worker, medians of ${d.repetitions}): DELETE answers p50 ${d.deleteP50Ms} ms (${each('deleteP50Ms')}), max ${d.deleteMaxMs} ms (${each('deleteMaxMs')}); ` +
      `none listed by GET /connectors after ${d.goneFromListMs} ms (${each('goneFromListMs')}); every task out of its group after ${d.tasksLeftGroupsMs} ms (${each('tasksLeftGroupsMs')}); ` +
      `creates: p50 ${d.createP50Ms} ms, max ${d.createMaxMs} ms, all RUNNING after ${d.allRunningMs} ms`);
  }
  return lines.join('\n');
}

module.exports = [deleteLatency()];
