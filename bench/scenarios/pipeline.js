'use strict';
/**
 * Worker pipeline scenarios: a fresh worker (child process, own port and internal topics), a
 * pre-filled input topic, and a KafkaTopicSink connector (JsonConverter schemaless in and out,
 * target.partition=same). Timed from POST /connectors until every record is in the output topic;
 * then until the connector's group has committed the end offsets.
 */
const { startWorker } = require('../lib/worker');
const { KAFKA_TOPIC_SINK } = require('../lib/connect');

/**
 * Builds a pipeline scenario. `connectorConfig` is merged into the connector config (transforms,
 * converters, ...); `workerProps` into the worker properties (plugin.path, ...).
 */
function pipelineScenario({ name, description, connectorConfig = {}, workerProps = {}, tasks = 1 }) {
  return {
    name,
    description,
    async run(ctx) {
      const { bk, records, partitions, unique } = ctx;
      const input = await bk.createTopic(unique('in'), partitions);
      const output = await bk.createTopic(unique('out'), partitions);
      ctx.cleanupTopics.push(input, output);
      await bk.produceInput(input, records, partitions);

      const worker = await startWorker(workerProps);
      ctx.cleanupTopics.push(...worker.internalTopics);
      const connector = unique('conn');
      try {
        const t0 = Date.now();
        const res = await worker.request('POST', '/connectors', {
          name: connector,
          config: { 'connector.class': KAFKA_TOPIC_SINK, 'tasks.max': String(tasks), topics: input, 'target.topic': output, ...connectorConfig },
        });
        if (res.status !== 201) throw new Error(`POST /connectors: HTTP ${res.status} ${res.text}`);
        // a FAILED task would otherwise only show as a stall: look at the status once a second
        let lastCheck = 0;
        let failure;
        const { first, last, count } = await bk.watchOutput(output, records, {
          onTick: () => {
            if (failure) throw failure;
            if (Date.now() - lastCheck < 1000) return;
            lastCheck = Date.now();
            worker.request('GET', `/connectors/${connector}/status`).then((st) => {
              if (st.body && st.body.tasks && st.body.tasks.some((t) => t.state === 'FAILED')) failure = new Error(`connector ${connector} has a FAILED task: ${st.text.slice(0, 2000)}`);
            }, () => undefined);
          },
        });
        const committedAt = await bk.waitCommitted(`connect-${connector}`, input, records);
        await worker.request('DELETE', `/connectors/${connector}`);
        await bk.admin.deleteGroups([`connect-${connector}`]).catch(() => undefined);
        return { t0, first, last, committedAt, outputRecords: count };
      } catch (e) {
        e.message += `\nworker log (tail):\n${worker.logs().slice(-3000)}`;
        throw e;
      } finally {
        await worker.stop();
      }
    },
  };
}

module.exports = { pipelineScenario, KAFKA_TOPIC_SINK };
