'use strict';
/**
 * A Connect cluster of worker processes (`--only cluster`; docs/design.md "A Connect cluster").
 *
 * - cluster-throughput: 1, 2 and 3 workers in one group, one KafkaTopicSink connector with
 *   tasks.max = workers (one task per worker) on an input topic of 6 partitions
 *   (KAPPA_BENCH_CLUSTER_PARTITIONS) of iris records, pass-through and Score (iris-logreg, as
 *   bench/scenarios/scaling.js): records/s after a warm-up, CPU per record summed over the
 *   workers, and the ratio to 1 worker. Repetitions alternate the order (1, 2, 3 workers, then
 *   3, 2, 1; KAPPA_BENCH_CLUSTER_REPS, default 2), medians. Each cluster is started once per
 *   repetition and size and runs both connectors, one after the other; a connector is created
 *   PAUSED and resumed once all its tasks are in their consumer group, so the clock does not
 *   include tasks joining one after another.
 * - cluster-rebalance: 3 workers, a connector with tasks.max=3 (KAPPA_BENCH_REBALANCE_TASKS) on 6
 *   partitions, one task per worker; a worker that is not the leader leaves, by kill -9 or by
 *   SIGTERM (graceful), with scheduled.rebalance.max.delay.ms = 0 and 10000: the time until the
 *   leader's GET /connectors/<name>/status shows the connector and every task RUNNING on the
 *   workers left, and until a record written to every input partition at the departure is in
 *   the output. A fresh cluster per case; task consumers have session.timeout.ms=10000
 *   (KAPPA_BENCH_REBALANCE_CONSUMER_SESSION_MS; the consumer default, 45 s, would bound the kill -9
 *   cases' data time), workers their default (10 s).
 */
const sv = require('../lib/serving');
const { median, measureWindow } = require('../lib/measure');
const { scoreConfig, failedTaskCheck } = require('../lib/connect');
const { createTopic, startCluster, waitJoined, waitTasks, waitGroupStable, pausedSink, postSink, deleteSink } = require('../lib/cluster');
const { sleep } = require('../lib/kafka');
const { inBackground, settle } = require('../lib/runs');

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const env = (name, dflt) => (process.env[name] !== undefined && process.env[name] !== '' ? Number(process.env[name]) : dflt);

const MODEL = 'iris-logreg';
const PARTITIONS = env('KAPPA_BENCH_CLUSTER_PARTITIONS', 6);
const WARMUP = env('KAPPA_BENCH_CLUSTER_WARMUP', 20_000);
/** measured records per run: --records, at most this (12 runs and 6 cluster starts within ~3 minutes) */
const MAX_MEASURED = env('KAPPA_BENCH_CLUSTER_RECORDS', 200_000);
const REPS = env('KAPPA_BENCH_CLUSTER_REPS', 2);
const SIZES = [1, 2, 3];
const MODES = ['passthrough', 'score'];

const round = (v, digits) => (v == null ? null : Number(v.toFixed(digits)));

/** Publishes the model through the first worker and waits until every worker knows it. */
async function publishEverywhere(cluster) {
  await sv.publishRest(cluster.workers[0], MODEL, 1, MODEL);
  for (const w of cluster.workers) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await w.request('GET', `/models/${MODEL}`);
      if (res.status === 200) break;
      if (Date.now() > deadline) throw new Error(`worker ${w.id}: GET /models/${MODEL} HTTP ${res.status} 30 s after publishing`);
      await sleep(100);
    }
  }
}

/** One measured run on a running cluster: a fresh output topic and connector over the pre-filled input. */
async function clusterRun(ctx, cluster, { input, total, mode, tag }) {
  const { bk, unique } = ctx;
  const k = cluster.workers.length;
  const output = await createTopic(bk, unique(`out-${tag}`), PARTITIONS);
  const name = unique(`conn-${tag}`);
  const worker = cluster.workers[0];
  try {
    const paused = await pausedSink(bk, worker, name, input, output, mode === 'score' ? scoreConfig(MODEL) : {}, { tasks: k, spread: k });
    const t0 = await paused.resume();
    const m = await measureWindow(bk, output, { warmup: WARMUP, expected: total, pid: cluster.workers.map((w) => w.pid), onTick: failedTaskCheck(worker, name) });
    const committedAt = await bk.waitCommitted(`connect-${name}`, input, total);
    return { t0, committedAt, ...m };
  } finally {
    await deleteSink(bk, worker, name);
    inBackground(ctx, () => bk.deleteTopics([output]));
  }
}

function clusterThroughput() {
  const name = 'cluster-throughput';
  return {
    name,
    description: `workers: 1, 2, 3 workers of one cluster, tasks.max = workers, ${PARTITIONS} partitions, pass-through and Score (${MODEL}); medians; main row: 3 workers, pass-through`,
    table: clusterTable,
    async run(ctx) {
      const { bk, unique } = ctx;
      const measured = Math.min(ctx.records, MAX_MEASURED);
      const total = WARMUP + measured;
      const input = await createTopic(bk, unique('in'), PARTITIONS);
      ctx.cleanupTopics.push(input);
      await sv.produceIris(bk, input, total, PARTITIONS, { perPartition: 250 });
      const runs = Object.fromEntries(MODES.map((m) => [m, Object.fromEntries(SIZES.map((k) => [k, []]))]));
      try {
        for (let rep = 0; rep < REPS; rep++) {
          const sizes = rep % 2 === 0 ? SIZES : [...SIZES].reverse();
          for (const k of sizes) {
            // the cluster's own topics go with it (dozens deleted at the end slow a busy broker down)
            const own = { ...ctx, cleanupTopics: [] };
            log(`${name}: repetition ${rep + 1}/${REPS}: starting ${k} worker(s) …`);
            const cluster = await startCluster(own, k, { tag: `c${k}-${rep}`, usesModels: true });
            try {
              await publishEverywhere(cluster);
              for (const mode of rep % 2 === 0 ? MODES : [...MODES].reverse()) {
                const r = await clusterRun(ctx, cluster, { input, total, mode, tag: `${mode}-w${k}-${rep}` });
                log(`${name}: ${mode}, ${k} worker(s): ${r.recordsPerSec} records/s, ${r.cpuUsPerRecord} µs CPU/record (all workers)`);
                runs[mode][k].push(r);
              }
            } catch (e) {
              e.message += `\n${cluster.logs()}`;
              throw e;
            } finally {
              inBackground(ctx, async () => {
                await cluster.stopAll();
                await bk.deleteTopics(own.cleanupTopics);
              });
            }
          }
        }
      } finally {
        await settle(ctx);
      }
      const byMode = {};
      for (const mode of MODES) {
        const med = (k, key) => round(median(runs[mode][k].map((r) => r[key])), key === 'cpuUsPerRecord' ? 2 : 0);
        const one = med(1, 'recordsPerSec');
        byMode[mode] = SIZES.map((k) => ({
          workers: k,
          tasks: k,
          recordsPerSec: med(k, 'recordsPerSec'),
          ratioTo1Worker: one ? Number((med(k, 'recordsPerSec') / one).toFixed(3)) : null,
          cpuUsPerRecord: med(k, 'cpuUsPerRecord'),
          runs: runs[mode][k].map((r) => ({ recordsPerSec: r.recordsPerSec, cpuUsPerRecord: r.cpuUsPerRecord, records: r.records, seconds: Number(r.seconds.toFixed(3)) })),
        }));
      }
      // the main row: the median 3-worker pass-through run
      const three = runs.passthrough[3];
      const sorted = [...three].sort((a, b) => a.recordsPerSec - b.recordsPerSec);
      const mid = sorted[Math.floor((sorted.length - 1) / 2)];
      return {
        t0: mid.t0, first: mid.startAt, last: mid.endAt, committedAt: mid.committedAt, outputRecords: mid.endCount, records: mid.records,
        cluster: { kind: 'throughput', model: MODEL, partitions: PARTITIONS, warmupRecords: WARMUP, measuredRecords: measured, repetitions: REPS, byMode },
      };
    },
  };
}

/** One departure: a fresh cluster of 3, the connector RUNNING, then one worker leaves. */
async function rebalanceCase(ctx, { how, delayMs, tasks, consumerSessionMs }) {
  const { bk, unique } = ctx;
  const tag = `${how}-d${delayMs}`;
  const own = { ...ctx, cleanupTopics: [] };
  // fresh topics per case: the record counts below are per partition
  const input = await createTopic(bk, unique(`in-${tag}`), PARTITIONS);
  own.cleanupTopics.push(input);
  const output = await createTopic(bk, unique(`out-${tag}`), PARTITIONS);
  own.cleanupTopics.push(output);
  let cluster;
  try {
    cluster = await startCluster(own, 3, {
      tag,
      props: { 'scheduled.rebalance.max.delay.ms': String(delayMs), 'consumer.session.timeout.ms': String(consumerSessionMs) },
    });
  } catch (e) {
    inBackground(ctx, () => bk.deleteTopics(own.cleanupTopics));
    throw e;
  }
  const producer = bk.kafka.producer({ allowAutoTopicCreation: false });
  const name = unique(`conn-${tag}`);
  let survivor = cluster.workers[0];
  try {
    await producer.connect();
    const leader = await waitJoined(cluster.workers);
    await postSink(leader, name, input, output, {}, { tasks });
    const { status } = await waitTasks(leader, name, { tasks, state: 'RUNNING' });
    const owners = new Set(status.tasks.map((t) => t.worker_id));
    if (owners.size !== Math.min(3, tasks)) throw new Error(`connector ${name}: ${tasks} tasks on ${owners.size} workers: ${JSON.stringify(status)}`);
    await waitGroupStable(bk, `connect-${name}`, tasks);
    // every partition moves one record and commits it: all tasks work before the departure
    const round = async (n) => producer.send({
      topic: input, acks: -1,
      messages: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, key: `r${n}-${p}`, value: JSON.stringify({ id: n * PARTITIONS + p, round: n }) })),
    });
    await round(0);
    await bk.watchOutput(output, PARTITIONS, { stallMs: 30_000, timeoutMs: 60_000 });
    await bk.waitCommitted(`connect-${name}`, input, PARTITIONS);

    const victim = cluster.workers.find((w) => w !== leader && status.tasks.some((t) => t.worker_id === w.id));
    survivor = leader;
    const victimTasks = status.tasks.filter((t) => t.worker_id === victim.id).map((t) => t.id);
    const victimHadConnector = status.connector.worker_id === victim.id;
    const t0 = Date.now();
    if (how === 'kill') await victim.kill();
    else victim.terminate();
    // a record on every partition right after the departure: when is each partition served again?
    await round(1);
    const exited = how === 'kill' ? Promise.resolve(null) : victim.exited.then((code) => ({ ms: Date.now() - t0, code }));
    const running = waitTasks(survivor, name, { tasks, state: 'RUNNING', notOn: [victim.id], timeoutMs: 120_000 }).then(({ at, status: s }) => ({ ms: at - t0, status: s }));
    const data = (async () => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const offs = await bk.admin.fetchTopicOffsets(output).catch(() => null);
        if (offs && offs.length === PARTITIONS && offs.every((p) => Number(p.high) >= 2)) return Date.now() - t0;
        if (Date.now() > deadline) throw new Error(`output ${output}: not every partition got its record within 120 s of the departure: ${JSON.stringify(offs)}`);
        await sleep(50);
      }
    })();
    const [r, dataMs, exit] = await Promise.all([running, data, exited]);
    return {
      how: how === 'kill' ? 'kill -9' : 'SIGTERM',
      scheduledRebalanceMaxDelayMs: delayMs,
      victim: victim.id,
      victimTasks,
      victimHadConnector,
      tasksRunningMs: r.ms,
      allPartitionsServedMs: dataMs,
      // SIGTERM: when the worker process was gone, and its exit code (0: it stopped in order)
      victimExitedMs: exit ? exit.ms : null,
      victimExitCode: exit ? exit.code : null,
      after: r.status.tasks.map((t) => ({ id: t.id, worker: t.worker_id })),
    };
  } catch (e) {
    e.message += `\n${cluster.logs()}`;
    throw e;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await survivor.request('DELETE', `/connectors/${name}`).catch(() => undefined);
    inBackground(ctx, async () => {
      await cluster.stopAll();
      await bk.admin.deleteGroups([`connect-${name}`]).catch(() => undefined);
      await bk.deleteTopics(own.cleanupTopics);
    });
  }
}

function clusterRebalance() {
  const name = 'cluster-rebalance';
  const tasks = env('KAPPA_BENCH_REBALANCE_TASKS', 3);
  const consumerSessionMs = env('KAPPA_BENCH_REBALANCE_CONSUMER_SESSION_MS', 10_000);
  return {
    name,
    description: `workers: 3 workers, tasks.max=${tasks}; one leaves (kill -9, SIGTERM) with scheduled.rebalance.max.delay.ms 0 and 10000: ms until every task is RUNNING again`,
    noRate: true,
    table: clusterTable,
    async run(ctx) {
      const cases = [];
      const failures = [];
      const started = Date.now();
      try {
        for (const how of ['kill', 'term']) {
          for (const delayMs of [0, 10_000]) {
            log(`${name}: ${how === 'kill' ? 'kill -9' : 'SIGTERM'} with scheduled.rebalance.max.delay.ms=${delayMs} …`);
            try {
              const c = await rebalanceCase(ctx, { how, delayMs, tasks, consumerSessionMs });
              log(`${name}: ${c.how}, delay ${delayMs}: tasks RUNNING after ${c.tasksRunningMs} ms, every partition served after ${c.allPartitionsServedMs} ms`);
              cases.push(c);
            } catch (e) {
              log(`${name}: ${how}, delay ${delayMs}: FAILED ${e.stack || e}`);
              failures.push(`${how}, delay ${delayMs}: ${String(e.message || e).slice(0, 1500)}`);
              cases.push({ how: how === 'kill' ? 'kill -9' : 'SIGTERM', scheduledRebalanceMaxDelayMs: delayMs, error: String(e.message || e).split('\n')[0] });
            }
          }
        }
      } finally {
        await settle(ctx);
      }
      if (failures.length > 0) throw new Error(`${failures.length} of 4 cases failed: ${JSON.stringify(cases)}\n${failures.join('\n')}`);
      const end = Date.now();
      return {
        t0: started, first: started, last: end, committedAt: end, outputRecords: 0, records: 0,
        cluster: { kind: 'rebalance', workers: 3, tasks, partitions: PARTITIONS, workerSessionTimeoutMs: 10_000, consumerSessionTimeoutMs: consumerSessionMs, cases },
      };
    },
  };
}

function clusterTable(rows) {
  const lines = [];
  for (const r of rows.filter((x) => x.cluster || (x.error && x.name.startsWith('cluster-')))) {
    if (r.error) { lines.push(`${r.name}: ERROR`); continue; }
    const c = r.cluster;
    if (c.kind === 'throughput') {
      lines.push(`${r.name} (${c.partitions} partitions, tasks.max = workers, ${c.warmupRecords} + ${c.measuredRecords} records, medians of ${c.repetitions}):`);
      for (const [mode, list] of Object.entries(c.byMode)) {
        const cells = list.map((x) => `${x.workers} worker${x.workers > 1 ? 's' : ''} ${x.recordsPerSec} rec/s (${x.runs.map((y) => y.recordsPerSec).join(' / ')}) ×${x.ratioTo1Worker}, ${x.cpuUsPerRecord} µs CPU/rec`);
        lines.push(`  ${mode === 'score' ? `score (${c.model})` : 'pass-through'}: ${cells.join('; ')}`);
      }
    } else {
      lines.push(`${r.name} (3 workers, tasks.max=${c.tasks}, ${c.partitions} partitions, worker session ${c.workerSessionTimeoutMs} ms, task consumer session ${c.consumerSessionTimeoutMs} ms):`);
      for (const x of c.cases) {
        if (x.error) { lines.push(`  ${x.how}, scheduled.rebalance.max.delay.ms=${x.scheduledRebalanceMaxDelayMs}: ERROR ${x.error}`); continue; }
        lines.push(`  ${x.how.padEnd(7)} delay ${String(x.scheduledRebalanceMaxDelayMs).padStart(5)} ms: tasks RUNNING again after ${x.tasksRunningMs} ms, every partition served after ${x.allPartitionsServedMs} ms` +
          `${x.victimExitedMs != null ? ` (worker exited after ${x.victimExitedMs} ms, code ${x.victimExitCode})` : ''}; it had task(s) ${x.victimTasks.join(',')}${x.victimHadConnector ? ' and the connector' : ''}`);
      }
    }
  }
  return lines.join('\n');
}

module.exports = [clusterThroughput(), clusterRebalance()];
