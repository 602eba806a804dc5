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
const serving = require('./serving');

module.exports = [
  raw,
  // the same loop on the worker's new client (@platformatic/kafka); `--only raw` runs all three
  ...require('./raw-platformatic'),
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
  // model serving (bench/scenarios/serving.js, docs/benchmarks.md "Model serving"); `--only serving` runs these
  serving.servingThroughput({
    name: 'serving-passthrough-iris',
    description: 'worker: pass-through of the iris records (no transform, worker defaults): the ceiling of the serving rows',
    // --records (200,000): with fetches of up to 1 MB per partition, 100,000 records are only a few task batches
  }),
  ...[1, 16, 128, 512].flatMap((batch) => [null, 'iris-logreg', 'iris-rf'].map((model) => serving.servingThroughput({
    name: `serving-${model ? model.slice(5) : 'passthrough'}-b${batch}`,
    description: model
      ? `worker: Score with ${model}, kappa.model.batch.max.records=${batch}, task batches of ≤ ${batch} records`
      : `worker: pass-through of the iris records in task batches of ≤ ${batch} records (the ceiling at this batch size)`,
    model,
    batch,
    maxRecords: { 1: 5_000, 16: 30_000, 128: 100_000, 512: 100_000 }[batch],
  }))),
  serving.servingThroughput({
    name: 'serving-logreg-default',
    description: 'worker: Score with iris-logreg, worker defaults (batch.max.records=256, fetch not bounded)',
    model: 'iris-logreg',
    batch: 256,
    fetchBounded: false,
  }),
  serving.servingLatency({
    name: 'serving-latency',
    description: 'worker: Score with iris-logreg at 2,000 records/s offered for 10 s: produce → output latency',
  }),
  serving.servingSwap({
    name: 'serving-swap',
    description: 'worker: Score under a 2,000 records/s stream; publish versions 2..5 (REST, topic): time to the first record scored',
  }),
  // a remote model on MLServer (Open Inference Protocol) beside the local ONNX model, same run (bench/scenarios/serving-remote.js)
  require('./serving-remote').servingRemote({
    name: 'serving-remote',
    description: 'worker: Score with iris LogisticRegression on MLServer (format: remote) vs iris-logreg ONNX in the pool: backlog records/s, p50/p99 at 1,000 records/s',
  }),
  // online learning (bench/scenarios/learn.js): Learn through Kafka beside the pass-through of the
  // same data; the first of them also runs the in-process learner and scikit-learn microbenchmarks
  ...require('./learn'),
  // Kappa beside the Kafka Streams + ONNX Runtime peer (bench/scenarios/peer.js, bench/peer/); `--only peer`
  require('./peer').peerComparison(),
  // tasks.max=1 vs 2, pass-through and Score (bench/scenarios/scaling.js); `--only scaling`
  ...require('./scaling'),
  // a backlog far beyond the drain rate: max RSS, nothing lost (bench/scenarios/overload.js); `--only overload`
  ...require('./overload'),
  // Avro with the Schema Registry (bench/scenarios/avro-2-smts.js, docs/benchmarks.md "Avro"): compare with pipeline-passthrough
  require('./avro-2-smts'),
  // a cluster of workers: 1/2/3 workers' records/s, a worker leaving (bench/scenarios/cluster.js); `--only cluster`
  ...require('./cluster'),
  // at_least_once vs exactly_once_v2 and commit.interval.ms, read_committed counts (bench/scenarios/eos.js); `--only eos`
  ...require('./eos'),
  // 20 connectors deleted in parallel (bench/scenarios/delete-latency.js); `--only delete`
  ...require('./delete-latency'),
];
