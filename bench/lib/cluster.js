'use strict';
/**
 * Helpers of the scenarios that run connectors on several workers or many connectors on one
 * (bench/scenarios/cluster.js, eos.js, delete-latency.js): a Connect cluster of worker processes
 * (same group.id and internal topics, one model-control topic, a REST port each), statuses seen
 * from one worker, connectors created PAUSED and resumed once every task is in its consumer group
 * (so a measured run starts with all tasks fetching, not with tasks joining one after another),
 * and a delete that waits until the tasks have left their group.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { sleep } = require('./kafka');
const { startWorker } = require('./worker');
const { KAFKA_TOPIC_SINK } = require('./connect');

/**
 * bk.createTopic, again on a retriable error: these scenarios delete their last run's topics in
 * the background, and kafkajs' admin refreshes the metadata of every topic it has seen, which
 * the broker may answer with UNKNOWN_TOPIC_OR_PARTITION while one of them is being deleted.
 * (A topic that exists already is no error for createTopics: a retry is harmless.)
 */
async function createTopic(bk, topic, partitions, attempts = 5) {
  for (let i = 1; ; i++) {
    try {
      return await bk.createTopic(topic, partitions);
    } catch (e) {
      if (i >= attempts || !(e && e.retriable)) throw e;
      await sleep(500 * i);
    }
  }
}

/** The worker id a worker reports in statuses (rest.advertised.host.name:port). */
function workerId(worker) {
  return new URL(worker.url).host;
}

/**
 * Starts `n` workers of one cluster (one after another: the first becomes the leader) and waits
 * until each has joined the same generation. `props` go to every worker. The cluster's internal
 * topics and model-control topic are added to ctx.cleanupTopics (the model topic only when
 * `usesModels`, the worker creates it then). Returns { workers, modelTopic, groupId, add(), stopAll() }.
 */
async function startCluster(ctx, n, { props = {}, tag = 'cluster', usesModels = false } = {}) {
  const base = ctx.unique(tag);
  const shared = {
    'group.id': base,
    'config.storage.topic': `${base}-configs`,
    'offset.storage.topic': `${base}-offsets`,
    'status.storage.topic': `${base}-status`,
    'kappa.model.topic': `${base}-models`,
    ...props,
  };
  ctx.cleanupTopics.push(shared['config.storage.topic'], shared['offset.storage.topic'], shared['status.storage.topic']);
  if (usesModels) ctx.cleanupTopics.push(shared['kappa.model.topic']);
  const workers = [];
  const cluster = {
    workers,
    modelTopic: shared['kappa.model.topic'],
    groupId: base,
    /** one more worker of the cluster */
    async add() {
      const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-bench-models-'));
      let w;
      try {
        w = await startWorker({ ...shared, 'kappa.model.cache.dir': cacheDir });
      } catch (e) {
        fs.rmSync(cacheDir, { recursive: true, force: true });
        throw e;
      }
      for (const k of ['stop', 'kill']) {
        const f = w[k].bind(w);
        w[k] = async () => {
          await f();
          fs.rmSync(cacheDir, { recursive: true, force: true });
        };
      }
      w.id = workerId(w);
      workers.push(w);
      return w;
    },
    async stopAll() {
      await Promise.all(workers.map((w) => w.stop().catch(() => undefined)));
    },
    /** the logs of all workers, last `chars` characters each */
    logs(chars = 3000) {
      return workers.map((w) => `--- worker ${w.id} ---\n${w.logs().slice(-chars)}`).join('\n');
    },
  };
  try {
    for (let i = 0; i < n; i++) await cluster.add();
    await waitJoined(workers);
  } catch (e) {
    e.message += `\n${cluster.logs()}`;
    await cluster.stopAll();
    throw e;
  }
  return cluster;
}

/** The generation and role a worker logged last ("Joined generation N as leader|member"). */
function lastJoin(worker) {
  const all = [...worker.logs().matchAll(/Joined generation (\d+) as (leader|member)/g)];
  if (all.length === 0) return null;
  const m = all[all.length - 1];
  return { generation: Number(m[1]), leader: m[2] === 'leader' };
}

/** Waits until every worker has joined the same (latest) generation, with one leader; returns the leader. */
async function waitJoined(workers, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const joins = workers.map(lastJoin);
    if (joins.every(Boolean) && new Set(joins.map((j) => j.generation)).size === 1) {
      const leaders = workers.filter((_, i) => joins[i].leader);
      if (leaders.length === 1) return leaders[0];
    }
    if (Date.now() > deadline) throw new Error(`workers not in one generation after ${timeoutMs} ms: ${JSON.stringify(joins)}`);
    await sleep(100);
  }
}

/** GET /connectors/{name}/status from `worker`: the body, or null (404, not reachable). */
async function statusOf(worker, name) {
  try {
    const res = await worker.request('GET', `/connectors/${name}/status`);
    return res.status === 200 ? res.body : null;
  } catch {
    return null;
  }
}

/**
 * Polls the status of `name` on `worker` until the connector and all `tasks` tasks are in `state`
 * (and on a worker not in `notOn`, a list of worker ids); every `intervalMs`. A FAILED task throws.
 * Returns { status, at } (at: Date.now() of the answer that showed it).
 */
async function waitTasks(worker, name, { tasks, state = 'RUNNING', notOn = [], timeoutMs = 90_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  for (;;) {
    const s = await statusOf(worker, name);
    const at = Date.now();
    if (s) last = s;
    if (s && s.tasks && s.tasks.some((t) => t.state === 'FAILED')) throw new Error(`connector ${name} has a FAILED task: ${JSON.stringify(s).slice(0, 2000)}`);
    const ok = (x) => x && x.state === state && !notOn.includes(x.worker_id);
    if (s && ok(s.connector) && s.tasks.length === tasks && s.tasks.every(ok)) return { status: s, at };
    if (at > deadline) throw new Error(`connector ${name}: not all ${tasks} tasks ${state}${notOn.length ? ` away from ${notOn.join(', ')}` : ''} after ${timeoutMs} ms: ${JSON.stringify(last).slice(0, 2000)}`);
    await sleep(intervalMs);
  }
}

/** Waits until consumer group `groupId` is Stable with `members` members. */
async function waitGroupStable(bk, groupId, members, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  for (;;) {
    const { groups } = await bk.admin.describeGroups([groupId]).catch(() => ({ groups: [] }));
    last = groups[0];
    if (last && last.state === 'Stable' && last.members.length === members) return;
    if (Date.now() > deadline) throw new Error(`group ${groupId}: not Stable with ${members} members after ${timeoutMs} ms (${last ? `${last.state}, ${last.members.length} members` : 'not described'})`);
    await sleep(100);
  }
}

/** Waits until consumer group `groupId` has no member left (Empty or Dead); returns Date.now() then. */
async function waitGroupEmpty(bk, groupId, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { groups } = await bk.admin.describeGroups([groupId]).catch(() => ({ groups: [] }));
    const g = groups[0];
    if (g && (g.state === 'Empty' || g.state === 'Dead' || g.members.length === 0)) return Date.now();
    if (Date.now() > deadline) throw new Error(`group ${groupId}: members left after ${timeoutMs} ms (${g ? `${g.state}, ${g.members.length} members` : 'not described'})`);
    await sleep(100);
  }
}

/** POST /connectors of a KafkaTopicSink; `initialState` PAUSED creates it paused. Returns the answer. */
async function postSink(worker, name, input, output, config = {}, { tasks = 1, initialState } = {}) {
  const body = {
    name,
    config: { 'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': String(tasks), topics: input, 'target.topic': output, ...config },
  };
  if (initialState) body.initial_state = initialState;
  const res = await worker.request('POST', '/connectors', body);
  if (res.status !== 201) throw new Error(`POST /connectors ${name}: HTTP ${res.status} ${res.text.slice(0, 2000)}`);
  return res;
}

/**
 * A KafkaTopicSink created PAUSED whose `tasks` tasks are all PAUSED (each in the consumer group,
 * the group Stable with all of them; on `spread` distinct workers when given); resume() then
 * starts them together and returns Date.now() of the resume's answer.
 */
async function pausedSink(bk, worker, name, input, output, config, { tasks = 1, spread } = {}) {
  await postSink(worker, name, input, output, config, { tasks, initialState: 'PAUSED' });
  const { status } = await waitTasks(worker, name, { tasks, state: 'PAUSED' });
  if (spread && new Set(status.tasks.map((t) => t.worker_id)).size !== spread) {
    throw new Error(`connector ${name}: ${tasks} tasks on ${new Set(status.tasks.map((t) => t.worker_id)).size} workers, not ${spread}: ${JSON.stringify(status)}`);
  }
  await waitGroupStable(bk, `connect-${name}`, tasks);
  return {
    status,
    async resume() {
      const res = await worker.request('PUT', `/connectors/${name}/resume`);
      if (res.status !== 202 && res.status !== 200) throw new Error(`PUT /connectors/${name}/resume: HTTP ${res.status} ${res.text}`);
      return Date.now();
    },
  };
}

/** DELETE a connector, wait until its tasks have left the group, delete the group. */
async function deleteSink(bk, worker, name) {
  await worker.request('DELETE', `/connectors/${name}`).catch(() => undefined);
  await waitGroupEmpty(bk, `connect-${name}`).catch(() => undefined);
  await bk.admin.deleteGroups([`connect-${name}`]).catch(() => undefined);
}

module.exports = { createTopic, workerId, startCluster, lastJoin, waitJoined, statusOf, waitTasks, waitGroupStable, waitGroupEmpty, postSink, pausedSink, deleteSink };
