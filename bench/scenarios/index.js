'use strict';
/**
 * The benchmark scenarios, run in this order. Add a scenario by appending an object with
 * `name`, `description` and `async run(ctx)` returning `{ t0, first, last, committedAt, outputRecords }`
 * (Date.now() times: start, first and last output record seen, offsets committed); see run.js for ctx.
 * Pipeline variants (Avro converters, ONNX scoring, online learning SMTs) are one pipelineScenario()
 * call each with their connector config and, for plugins, `workerProps: { 'plugin.path': ... }`.
 */
const raw = require('./raw-kafkajs');
const { pipelineScenario } = require('./pipeline');

module.exports = [
  raw,
  pipelineScenario({
    name: 'pipeline-passthrough',
    description: 'worker: consume → JsonConverter → KafkaTopicSink (no SMTs), tasks.max=1',
  }),
  pipelineScenario({
    name: 'pipeline-2-smts',
    description: 'worker: as pass-through + InsertField$Value (static field) + ReplaceField$Value (rename), tasks.max=1',
    connectorConfig: {
      transforms: 'insert,rename',
      'transforms.insert.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
      'transforms.insert.static.field': 'pipeline',
      'transforms.insert.static.value': 'kappa',
      'transforms.rename.type': 'org.apache.kafka.connect.transforms.ReplaceField$Value',
      'transforms.rename.renames': 'seq:sequence',
    },
  }),
];
