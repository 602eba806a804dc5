'use strict';
/**
 * Learning through Kafka: a worker (child process) runs a KafkaTopicSink connector with the Learn
 * transform (io.kappa.connect.ml.Learn) in front, over a pre-filled topic of labeled records from a
 * seeded rotating-hyperplane stream (d = 4). Timed like the other pipeline scenarios: from the first
 * to the last output record (polled), so records/s = learned events/s when every input record is a
 * label (`mode: 'labeled'`), or twice the learned events/s when events and labels alternate
 * (`mode: 'events+labels'`). With `transform: null` the same data goes through with no SMT: the
 * pass-through ceiling for exactly this data. Every run is checked afterwards over
 * GET /learners/{connector}: the number of labels learned must equal the labels produced.
 */
const { startWorker } = require('./worker');
const { KAFKA_TOPIC_SINK } = require('../scenarios/pipeline');
const { loadOnline } = require('./learn-inprocess');

const D = 4;
const SEED = 7;

/** Per-run results of the learn scenarios, for the learn report (bench/lib/learn-report.js). */
const collected = [];

const round6 = (v) => Math.round(v * 1e6) / 1e6;

/**
 * Input records. 'labeled': record i = {id, f1..f4, label} (feedback that carries its features),
 * partition i mod P. 'events+labels': record 2k = event {id, f1..f4}, record 2k+1 = its label
 * {id, label}, both in partition k mod P, so the label always follows its event.
 */
function* inputRecords(count, partitions, mode) {
  const stream = new (loadOnline().HyperplaneStream)({ seed: SEED, nFeatures: D });
  if (mode === 'labeled') {
    for (let i = 0; i < count; i++) {
      const { x, y } = stream.next();
      yield { key: `e${i}`, partition: i % partitions, value: JSON.stringify({ id: `e${i}`, f1: round6(x[0]), f2: round6(x[1]), f3: round6(x[2]), f4: round6(x[3]), label: y }) };
    }
  } else {
    for (let k = 0; 2 * k < count; k++) {
      const { x, y } = stream.next();
      const p = k % partitions;
      yield { key: `e${k}`, partition: p, value: JSON.stringify({ id: `e${k}`, f1: round6(x[0]), f2: round6(x[1]), f3: round6(x[2]), f4: round6(x[3])  }) };
      if (2 * k + 1 < count) yield { key: `e${k}`, partition: p, value: JSON.stringify({ id: `e${k}`, label: y }) };
    }
  }
}

async function produceLearnInput(bk, topic, count, partitions, mode) {
  const producer = bk.kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 5 });
  await producer.connect();
  try {
    const it = inputRecords(count, partitions, mode);
    let done = false;
    const sender = async () => {
      while (!done) {
        const messages = [];
        while (messages.length < 1000) {
          const n = it.next();
          if (n.done) { done = true; break; }
          messages.push(n.value);
        }
        if (messages.length > 0) await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
      }
    };
    await Promise.all([sender(), sender(), sender(), sender()]);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

/**
 * A learn scenario. `transform`: the Learn settings (without the `transforms.learn.` prefix), or
 * null for the pass-through of the same data. `mode`: 'labeled' or 'events+labels'.
 */
function learnScenario({ name, description, transform, mode = 'labeled', tasks = 1, beforeRun }) {
  return {
    name,
    description,
    async run(ctx) {
      if (beforeRun) await beforeRun(ctx);
      const { bk, records, partitions, unique } = ctx;
      const input = await bk.createTopic(unique('in'), partitions);
      const output = await bk.createTopic(unique('out'), partitions);
      ctx.cleanupTopics.push(input, output);
      await produceLearnInput(bk, input, records, partitions, mode);
      const labels = mode === 'labeled' ? records : Math.floor(records / 2);

      const connector = unique('conn');
      const config = { 'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': String(tasks), topics: input, 'target.topic': output };
      if (transform) {
        const stateTopic = unique('state');
        const metricsTopic = unique('metrics');
        ctx.cleanupTopics.push(stateTopic, metricsTopic);
        const learn = {
          type: 'io.kappa.connect.ml.Learn',
          features: 'f1,f2,f3,f4',
          classes: '0,1',
          'id.field': 'id',
          'label.field': 'label',
          'emit.feedback': 'true',
          'state.topic': stateTopic,
          'metrics.topic': metricsTopic,
          'model.topic': '',
          'publish.every.updates': '0',
          ...transform,
        };
        config.transforms = 'learn';
        for (const [k, v] of Object.entries(learn)) config[`transforms.learn.${k}`] = v;
      }

      const worker = await startWorker();
      ctx.cleanupTopics.push(...worker.internalTopics);
      try {
        const t0 = Date.now();
        const res = await worker.request('POST', '/connectors', { name: connector, config });
        if (res.status !== 201) throw new Error(`POST /connectors: HTTP ${res.status} ${res.text}`);
        let failure;
        let lastCheck = 0;
        const watched = await bk.watchOutput(output, records, {
          onTick: () => {
            if (failure) throw failure;
            if (Date.now() - lastCheck < 1000) return;
            lastCheck = Date.now();
            worker.request('GET', `/connectors/${connector}/status`).then((st) => {
              const tasksFailed = st.body && st.body.tasks && st.body.tasks.some((t) => t.state === 'FAILED');
              if (tasksFailed) failure = new Error(`connector ${connector} has a FAILED task: ${st.text.slice(0, 2000)}`);
            }, () => undefined);
          },
        });
        const committedAt = await bk.waitCommitted(`connect-${connector}`, input, records);
        let learner = null;
        if (transform) {
          const st = await worker.request('GET', `/learners/${encodeURIComponent(connector)}`);
          if (st.status !== 200) throw new Error(`GET /learners/${connector}: HTTP ${st.status} ${st.text.slice(0, 500)}`);
          learner = st.body;
          if (learner.learned !== labels) throw new Error(`${connector} learned ${learner.learned} labels, expected ${labels}`);
        }
        await worker.request('DELETE', `/connectors/${connector}`);
        await bk.admin.deleteGroups([`connect-${connector}`]).catch(() => undefined);
        const steady = (watched.last - watched.first) / 1000;
        collected.push({
          name,
          mode,
          d: D,
          algorithm: transform ? transform.algorithm : null,
          records,
          labels,
          outputRecords: watched.count,
          steadySeconds: steady,
          recordsPerSec: Math.round(records / Math.max(steady, 0.001)),
          learnedPerSec: transform ? Math.round(labels / Math.max(steady, 0.001)) : null,
          endToEndSeconds: (watched.last - t0) / 1000,
          accuracy: learner && learner.cumulative ? Number(learner.cumulative.accuracy.toFixed(4)) : null,
          learned: learner ? learner.learned : null,
        });
        return { t0, first: watched.first, last: watched.last, committedAt, outputRecords: watched.count };
      } catch (e) {
        e.message += `\nworker log (tail):\n${worker.logs().slice(-3000)}`;
        throw e;
      } finally {
        await worker.stop();
      }
    },
  };
}

module.exports = { learnScenario, collected, inputRecords, D, SEED };
