/**
 * Metric names. Connect's metrics are JMX MBeans (`kafka.connect<type=sink-task-metrics,
 * connector=c, task=0>` with attribute `sink-record-read-total`); the Prometheus JMX exporter, as
 * Kafka Connect deployments usually run it, renders them as `<domain>_<type>_<attribute>` with dots
 * and dashes turned into underscores and the MBean keys as labels:
 * `kafka_connect_sink_task_metrics_sink_record_read_total{connector="c",task="0"}`. The worker
 * serves the same names, so dashboards and alerts written for a Java Connect worker work unchanged.
 * Metrics Connect does not have (the ML plane) start with `kappa_`.
 */

/** `kafka.connect` + MBean type + attribute, as the JMX exporter writes them. */
export function jmxName(domain: string, type: string, attribute: string): string {
  return [domain, type, attribute].map((part) => part.replace(/[^A-Za-z0-9]+/g, '_')).join('_').toLowerCase();
}

const connect = (type: string, attribute: string) => jmxName('kafka.connect', type, attribute);

export const METRIC = {
  // kafka.connect<type=connect-worker-metrics>
  workerConnectorCount: connect('connect-worker-metrics', 'connector-count'),
  workerTaskCount: connect('connect-worker-metrics', 'task-count'),
  // kafka.connect<type=connector-metrics, connector=c> status (a string attribute: one series, value 1)
  connectorStatus: connect('connector-metrics', 'status'),
  // kafka.connect<type=connector-task-metrics, connector=c, task=t> status
  taskStatus: connect('connector-task-metrics', 'status'),
  // kafka.connect<type=sink-task-metrics, connector=c, task=t>
  sinkRecordReadTotal: connect('sink-task-metrics', 'sink-record-read-total'),
  sinkRecordReadRate: connect('sink-task-metrics', 'sink-record-read-rate'),
  sinkRecordSendTotal: connect('sink-task-metrics', 'sink-record-send-total'),
  sinkRecordSendRate: connect('sink-task-metrics', 'sink-record-send-rate'),
  sinkPartitionCount: connect('sink-task-metrics', 'partition-count'),
  // kafka.connect<type=task-error-metrics, connector=c, task=t>
  totalRecordErrors: connect('task-error-metrics', 'total-record-errors'),
  totalRecordFailures: connect('task-error-metrics', 'total-record-failures'),
  totalRecordsSkipped: connect('task-error-metrics', 'total-records-skipped'),
  totalRetries: connect('task-error-metrics', 'total-retries'),
  totalErrorsLogged: connect('task-error-metrics', 'total-errors-logged'),
  dlqProduceRequests: connect('task-error-metrics', 'deadletterqueue-produce-requests'),
  dlqProduceFailures: connect('task-error-metrics', 'deadletterqueue-produce-failures'),
  // kafka.consumer<type=consumer-fetch-manager-metrics, client-id=x, topic=t, partition=p> records-lag;
  // the exporter's common Kafka client rule drops the repeated "consumer" of domain and type
  recordsLag: jmxName('kafka.consumer', 'fetch-manager-metrics', 'records-lag'),
  // the ML plane
  inferenceSeconds: 'kappa_model_inference_seconds',
  recordsScored: 'kappa_model_records_scored_total',
  modelVersionInUse: 'kappa_model_version_in_use',
  activationRefusals: 'kappa_model_activation_refusals_total',
  learnerLabelsLearned: 'kappa_learner_labels_learned_total',
  learnerUpdates: 'kappa_learner_updates_total',
  learnerMistakes: 'kappa_learner_mistakes_total',
  learnerWindowedAccuracy: 'kappa_learner_windowed_accuracy',
  learnerPendingEvents: 'kappa_learner_pending_events',
  learnerPendingFeedback: 'kappa_learner_pending_feedback',
} as const;

/** Connect's status attribute: the state in lower case (`running`, `paused`, `failed`, ...). */
export function statusLabel(state: string): string {
  return state.toLowerCase();
}
