import { AggregatorRegistry } from 'prom-client';
import { RetriableException, type RawRecord } from '../../../src/api';
import type { KafkaClient, OutgoingMessage } from '../../../src/kafka/port';
import { METRIC, jmxName, statusLabel } from '../../../src/metrics/names';
import { WindowedRate } from '../../../src/metrics/rate';
import { ThreadMetrics, type ErrorMetrics } from '../../../src/metrics/thread-metrics';
import { WorkerMetrics } from '../../../src/metrics/worker-metrics';
import { ErrorHandler, type ErrorHandlingConfig } from '../../../src/runtime/errors';
import { compileWorkerConfig } from '../../../src/config/worker-config';

describe('metric names (as the Prometheus JMX exporter renders Connect MBeans)', () => {
  it('renders domain, MBean type and attribute with underscores', () => {
    expect(jmxName('kafka.connect', 'sink-task-metrics', 'sink-record-read-rate')).toBe('kafka_connect_sink_task_metrics_sink_record_read_rate');
    expect(jmxName('kafka.connect', 'connect-worker-metrics', 'connector-count')).toBe('kafka_connect_connect_worker_metrics_connector_count');
  });

  it("serves Connect's names for the metrics dashboards look for", () => {
    expect(METRIC).toMatchObject({
      sinkRecordReadRate: 'kafka_connect_sink_task_metrics_sink_record_read_rate',
      sinkRecordReadTotal: 'kafka_connect_sink_task_metrics_sink_record_read_total',
      sinkRecordSendTotal: 'kafka_connect_sink_task_metrics_sink_record_send_total',
      workerConnectorCount: 'kafka_connect_connect_worker_metrics_connector_count',
      workerTaskCount: 'kafka_connect_connect_worker_metrics_task_count',
      connectorStatus: 'kafka_connect_connector_metrics_status',
      totalRecordErrors: 'kafka_connect_task_error_metrics_total_record_errors',
      totalRecordFailures: 'kafka_connect_task_error_metrics_total_record_failures',
      totalRecordsSkipped: 'kafka_connect_task_error_metrics_total_records_skipped',
      dlqProduceRequests: 'kafka_connect_task_error_metrics_deadletterqueue_produce_requests',
      dlqProduceFailures: 'kafka_connect_task_error_metrics_deadletterqueue_produce_failures',
      recordsLag: 'kafka_consumer_fetch_manager_metrics_records_lag',
      inferenceSeconds: 'kappa_model_inference_seconds',
    });
  });

  it('every name is a valid Prometheus metric name; ML names start with kappa_', () => {
    for (const [key, name] of Object.entries(METRIC)) {
      expect(name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
      expect(name.startsWith('kafka_') || name.startsWith('kappa_')).toBe(true);
      if (/model|learner/i.test(key)) expect(name.startsWith('kappa_')).toBe(true);
    }
  });

  it("status values are Connect's status attribute (lower case)", () => {
    expect(statusLabel('RUNNING')).toBe('running');
    expect(statusLabel('UNASSIGNED')).toBe('unassigned');
  });
});

describe('WindowedRate', () => {
  it('is events per second over the window, and forgets what left it', () => {
    const t0 = 1_000_000;
    const r = new WindowedRate(30, t0);
    for (let s = 0; s < 10; s++) r.add(50, t0 + s * 1000);
    expect(r.rate(t0 + 10_000)).toBeCloseTo(50, 5);
    // 30 s later, with nothing new, the window is empty
    expect(r.rate(t0 + 45_000)).toBe(0);
  });
});

async function text(m: ThreadMetrics): Promise<string> {
  return m.registry.metrics();
}

describe('task metrics', () => {
  it('counts batches read and sent, lag per partition, and drops a revoked partition', async () => {
    const m = new ThreadMetrics();
    const t = m.task('c', 0, 'connector-consumer-c-0');
    t.batchRead(100, 'in', 0, 100, 250);
    t.batchRead(50, 'in', 1, 50, 50);
    t.batchSent(90);
    let out = await text(m);
    expect(out).toContain('kafka_connect_sink_task_metrics_sink_record_read_total{connector="c",task="0"} 150');
    expect(out).toContain('kafka_connect_sink_task_metrics_sink_record_send_total{connector="c",task="0"} 90');
    expect(out).toContain('kafka_consumer_fetch_manager_metrics_records_lag{client_id="connector-consumer-c-0",topic="in",partition="0",connector="c",task="0"} 150');
    expect(out).toContain('kafka_consumer_fetch_manager_metrics_records_lag{client_id="connector-consumer-c-0",topic="in",partition="1",connector="c",task="0"} 0');
    expect(out).toContain('kafka_connect_sink_task_metrics_partition_count{connector="c",task="0"} 2');
    expect(out).toMatch(/kafka_connect_sink_task_metrics_sink_record_read_rate\{connector="c",task="0"\} [1-9]/);
    t.partitionsRevoked([{ topic: 'in', partition: 0 }]);
    out = await text(m);
    expect(out).not.toContain('partition="0"');
    expect(out).toContain('kafka_connect_sink_task_metrics_partition_count{connector="c",task="0"} 1');
  });

  it('a stopped task leaves no series; a rebuilt runner of the same task keeps its own', async () => {
    const m = new ThreadMetrics();
    const first = m.task('c', 1, 'x');
    first.batchRead(10, 'in', 0, 10, 10);
    const second = m.task('c', 1, 'x');
    second.batchRead(3, 'in', 0, 13, 13);
    first.close(); // the old runner closes after the new one started
    expect(await text(m)).toContain('kafka_connect_sink_task_metrics_sink_record_read_total{connector="c",task="1"} 3');
    second.close();
    expect(await text(m)).not.toContain('connector="c"');
  });

  it('scoring: latency per call, records per version, one version in use per model', async () => {
    const m = new ThreadMetrics();
    const s = m.scoring('c', 0);
    s.scored('iris', '1', 100, 0.003);
    s.scored('iris', '2', 50, 0.02);
    const out = await text(m);
    expect(out).toContain('kappa_model_inference_seconds_count{model="iris",version="1"} 1');
    expect(out).toContain('kappa_model_inference_seconds_bucket{le="0.005",model="iris",version="1"} 1');
    expect(out).toContain('kappa_model_records_scored_total{connector="c",task="0",model="iris",version="2"} 50');
    expect(out).toContain('kappa_model_version_in_use{connector="c",task="0",model="iris",version="2"} 1');
    expect(out).not.toContain('kappa_model_version_in_use{connector="c",task="0",model="iris",version="1"}');
    s.close();
    expect(await text(m)).not.toContain('connector="c"');
  });

  it('registries of several threads add up (prom-client aggregation): histograms per model sum, task series stay apart', async () => {
    const a = new ThreadMetrics();
    const b = new ThreadMetrics();
    a.task('c', 0, 'x').batchRead(5, 't', 0, 5, 5);
    b.task('c', 1, 'y').batchRead(7, 't', 1, 7, 7);
    a.scoring('c', 0).scored('m', '1', 5, 0.001);
    b.scoring('c', 1).scored('m', '1', 7, 0.001);
    const out = await AggregatorRegistry.aggregate([await a.registry.getMetricsAsJSON(), await b.registry.getMetricsAsJSON()]).metrics();
    expect(out).toContain('kafka_connect_sink_task_metrics_sink_record_read_total{connector="c",task="0"} 5');
    expect(out).toContain('kafka_connect_sink_task_metrics_sink_record_read_total{connector="c",task="1"} 7');
    expect(out).toContain('kappa_model_inference_seconds_count{model="m",version="1"} 2');
  });
});

describe("the error path counts Connect's task-error-metrics", () => {
  const record: RawRecord = { topic: 'in', partition: 0, offset: 1, timestamp: 1, key: null, value: Buffer.from('v'), headers: [] };
  const silent = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
  const counting = () => {
    const c = { errors: 0, failures: 0, skipped: 0, retries: 0, logged: 0, dlq: 0, dlqFailures: 0 };
    const m: ErrorMetrics = {
      recordError: () => { c.errors++; }, recordFailure: () => { c.failures++; }, recordSkipped: () => { c.skipped++; },
      retry: () => { c.retries++; }, errorLogged: () => { c.logged++; }, dlqProduced: (n) => { c.dlq += n; }, dlqFailed: () => { c.dlqFailures++; },
    };
    return { c, m };
  };
  const config = (o: Partial<ErrorHandlingConfig>): ErrorHandlingConfig => ({
    retryTimeoutMs: 0, retryDelayMaxMs: 10, tolerance: 'all', logEnable: true, logIncludeMessages: false, dlqTopic: 'dlq', dlqReplicationFactor: 1, dlqContextHeaders: false, ...o,
  });

  it('errors, skips, logged errors and DLQ records; a failed DLQ send', async () => {
    const { c, m } = counting();
    let fail = false;
    const kafka = { ensureTopics: async () => undefined, send: async (_r: readonly OutgoingMessage[]) => { if (fail) throw new Error('broker away'); } } as unknown as KafkaClient;
    const eh = new ErrorHandler(config({}), { connector: 'c', taskId: 0 }, kafka, silent, m);
    eh.execute('VALUE_CONVERTER', 'X', record, () => { throw new Error('bad'); });
    eh.execute('TRANSFORMATION', 'T', record, () => { throw new Error('bad'); });
    await eh.flushDlq();
    expect(c).toEqual({ errors: 2, failures: 2, skipped: 2, retries: 0, logged: 2, dlq: 2, dlqFailures: 0 });
    fail = true;
    eh.execute('VALUE_CONVERTER', 'X', record, () => { throw new Error('bad'); });
    await expect(eh.flushDlq()).rejects.toThrow('broker away');
    expect(c.dlqFailures).toBe(1);
    expect(c.dlq).toBe(3); // a request is counted whether or not it succeeds
  });

  it('retries: every failed attempt is a failure, the record one error', async () => {
    const { c, m } = counting();
    const kafka = { ensureTopics: async () => undefined, send: async () => undefined } as unknown as KafkaClient;
    const eh = new ErrorHandler(config({ retryTimeoutMs: 60_000, logEnable: false }), { connector: 'c', taskId: 0 }, kafka, silent, m);
    let attempts = 0;
    const v = await eh.execute('VALUE_CONVERTER', 'X', record, () => {
      attempts++;
      if (attempts < 3) throw new RetriableException('later');
      return 'ok';
    });
    expect(v).toBe('ok');
    expect(c).toMatchObject({ failures: 2, retries: 2, errors: 0, skipped: 0 });
  });
});

describe('worker metrics', () => {
  it("count what this worker runs, with Connect's status attribute", async () => {
    const metrics = new WorkerMetrics({
      workerId: 'me:8083',
      connectorNames: () => ['a', 'b', 'gone'],
      connectorStatus: (name) => {
        if (name === 'gone') throw new Error('No status found for connector gone');
        return name === 'a'
          ? { connector: { state: 'RUNNING', worker_id: 'me:8083' }, tasks: [{ id: 0, state: 'RUNNING', worker_id: 'me:8083' }, { id: 1, state: 'FAILED', worker_id: 'other:8083' }] }
          : { connector: { state: 'PAUSED', worker_id: 'other:8083' }, tasks: [{ id: 0, state: 'PAUSED', worker_id: 'me:8083' }] };
      },
    });
    const out = await metrics.render();
    expect(out).toContain('kafka_connect_connect_worker_metrics_connector_count 1');
    expect(out).toContain('kafka_connect_connect_worker_metrics_task_count 2');
    expect(out).toContain('kafka_connect_connector_metrics_status{connector="a",status="running"} 1');
    expect(out).not.toContain('kafka_connect_connector_metrics_status{connector="b"');
    expect(out).toContain('kafka_connect_connector_task_metrics_status{connector="b",task="0",status="paused"} 1');
    expect(out).not.toContain('status="failed"');
  });
});

describe('worker properties metrics.listener and log.format', () => {
  const base = { 'group.id': 'g', 'config.storage.topic': 'c', 'status.storage.topic': 's', 'offset.storage.topic': 'o', 'key.converter': 'k', 'value.converter': 'v' };
  it('metrics.listener is off by default and takes http://host:port; log.format is text or json', () => {
    expect(compileWorkerConfig(base)).toMatchObject({ metricsListener: null, logFormat: 'text' });
    expect(compileWorkerConfig({ ...base, 'metrics.listener': 'http://127.0.0.1:9404', 'log.format': 'JSON' })).toMatchObject({
      metricsListener: { protocol: 'http', host: '127.0.0.1', port: 9404 }, logFormat: 'json',
    });
  });
  it('invalid values name the key', () => {
    expect(() => compileWorkerConfig({ ...base, 'metrics.listener': '9404' })).toThrow('Invalid value 9404 for configuration metrics.listener: Expected a URL of the form http://host:port');
    expect(() => compileWorkerConfig({ ...base, 'log.format': 'xml' })).toThrow('Invalid value xml for configuration log.format: String must be one of: text, json');
  });
});
