'use strict';
/**
 * Worker-side helpers of the scenarios that run a KafkaTopicSink connector on a worker of their
 * own: a worker with its own model-control topic, the Score transform's config, creating the
 * connector, a status check that turns a FAILED task into an error, and clean-up.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { startWorker } = require('./worker');

const KAFKA_TOPIC_SINK = 'io.kappa.connect.kafka.KafkaTopicSinkConnector';

/**
 * A worker with its own model-control topic and artifact cache; `props` add/override worker
 * properties. A scenario that starts several workers gives each a `tag` (their models would
 * otherwise meet in one control topic).
 */
async function servingWorker(ctx, props = {}, usesModels = true, tag = '') {
  const modelTopic = ctx.unique(tag ? `models-${tag}` : 'models');
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-bench-models-'));
  // only topics that exist: deleting a missing one fails the whole deleteTopics call
  if (usesModels) ctx.cleanupTopics.push(modelTopic);
  const worker = await startWorker({ 'kappa.model.topic': modelTopic, 'kappa.model.cache.dir': cacheDir, ...props });
  ctx.cleanupTopics.push(...worker.internalTopics);
  const stop = worker.stop.bind(worker);
  worker.stop = async () => {
    await stop();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  };
  worker.modelTopic = modelTopic;
  return worker;
}

function scoreConfig(modelId) {
  return {
    transforms: 'score',
    'transforms.score.type': 'io.kappa.connect.ml.Score',
    'transforms.score.model.id': modelId,
  };
}

async function createConnector(worker, name, input, output, config, tasks = 1) {
  const res = await worker.request('POST', '/connectors', {
    name,
    config: { 'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': String(tasks), topics: input, 'target.topic': output, ...config },
  });
  if (res.status !== 201) throw new Error(`POST /connectors: HTTP ${res.status} ${res.text}`);
}

/**
 * An onTick for the output watchers: looks at the connector's status once a second and throws
 * (on the next tick) once a task is FAILED, which would otherwise only show as a stall.
 */
function failedTaskCheck(worker, connector) {
  let lastCheck = 0;
  let failure;
  return () => {
    if (failure) throw failure;
    if (Date.now() - lastCheck < 1000) return;
    lastCheck = Date.now();
    worker.request('GET', `/connectors/${connector}/status`).then((st) => {
      if (st.body && st.body.tasks && st.body.tasks.some((t) => t.state === 'FAILED')) failure = new Error(`connector ${connector} has a FAILED task: ${st.text.slice(0, 2000)}`);
    }, () => undefined);
  };
}

/** watchOutput that fails fast when the connector's task is FAILED. */
async function watchWithStatus(ctx, worker, connector, output, expected) {
  return ctx.bk.watchOutput(output, expected, { onTick: failedTaskCheck(worker, connector) });
}

async function finish(ctx, worker, connector) {
  await worker.request('DELETE', `/connectors/${connector}`).catch(() => undefined);
  await ctx.bk.admin.deleteGroups([`connect-${connector}`]).catch(() => undefined);
}

function withLogs(e, worker) {
  if (worker) e.message += `\nworker log (tail):\n${worker.logs().slice(-3000)}`;
  return e;
}

module.exports = { KAFKA_TOPIC_SINK, servingWorker, scoreConfig, createConnector, failedTaskCheck, watchWithStatus, finish, withLogs };
