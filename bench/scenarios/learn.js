'use strict';
/**
 * Online-learning scenarios (docs/benchmarks.md, "Online learning"): the Learn transform through
 * Kafka beside the pass-through of the same labeled data. The first of them to run also runs the
 * in-process learner microbenchmark and scikit-learn's per-sample partial_fit
 * (bench/lib/learn-inprocess.js, scripts/online/bench_partial_fit.py); the extra tables are
 * printed after run.js's and stored as the `learn` section of the result file.
 */
const { learnScenario } = require('../lib/learn-pipeline');
const { beforeLearnScenario } = require('../lib/learn-report');

const beforeRun = beforeLearnScenario;

module.exports = [
  learnScenario({
    name: 'learn-passthrough',
    description: 'worker: the labeled hyperplane records (d=4) → JsonConverter → KafkaTopicSink, no SMT: the ceiling for this data',
    transform: null,
    beforeRun,
  }),
  learnScenario({
    name: 'learn-pa-i',
    description: 'worker: Learn (PA-I, sklearn mode) on labeled records carrying their features, emits one record per learned label',
    transform: { algorithm: 'pa-i' },
    beforeRun,
  }),
  learnScenario({
    name: 'learn-scw-i',
    description: 'worker: Learn (SCW-I, full Σ) on labeled records carrying their features, emits one record per learned label',
    transform: { algorithm: 'scw-i' },
    beforeRun,
  }),
  learnScenario({
    name: 'learn-scw-i-events',
    description: 'worker: Learn (SCW-I) on events then labels (N/2 each, label right after its event): predict + store, then learn from the store',
    transform: { algorithm: 'scw-i' },
    mode: 'events+labels',
    beforeRun,
  }),
];
