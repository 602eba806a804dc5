/**
 * The metrics of what runs in this thread: sink tasks (records read and sent, errors, DLQ, consumer
 * lag) and model scoring (latency, records scored, version in use). Every thread has its own
 * prom-client registry (module state is per thread); the main thread's /metrics gathers the task
 * threads' registries over their channels and sums them with its own (worker-metrics.ts), so a
 * task counts the same whether it runs in a thread or on the main thread.
 *
 * The hot path stays cheap: the task loop counts per batch, never per record, into plain numbers
 * that reach prom-client (which hashes labels on every update) only when the registry is read. The
 * scoring transform observes one latency per model call.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { METRIC } from './names';
import { WindowedRate } from './rate';

/** Latency buckets (seconds) of one scoring call: a micro-batched call takes from well under a millisecond to seconds under load. */
export const INFERENCE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const TASK_LABELS = ['connector', 'task'] as const;

export class ThreadMetrics {
  readonly registry = new Registry();
  private readonly tasks = new Map<string, TaskMetrics>();

  // registered first: its collect hands every task's counts to all the task metrics before any is read
  readonly readTotal = new Counter({
    name: METRIC.sinkRecordReadTotal,
    help: 'Records read from Kafka by the sink task (before transformations).',
    labelNames: [...TASK_LABELS],
    registers: [this.registry],
    collect: () => this.publishTasks(),
  });
  readonly sendTotal = this.counter(METRIC.sinkRecordSendTotal, 'Records the transformations passed on to the sink task (put).', TASK_LABELS);
  readonly recordErrors = this.counter(METRIC.totalRecordErrors, 'Records that failed in a stage (converter, transformation) after retries.', TASK_LABELS);
  readonly recordFailures = this.counter(METRIC.totalRecordFailures, 'Failed attempts of a stage, retries included.', TASK_LABELS);
  readonly recordsSkipped = this.counter(METRIC.totalRecordsSkipped, 'Records skipped because errors.tolerance=all tolerated their failure.', TASK_LABELS);
  readonly retries = this.counter(METRIC.totalRetries, 'Retries of retriable failures.', TASK_LABELS);
  readonly errorsLogged = this.counter(METRIC.totalErrorsLogged, 'Errors logged (errors.log.enable=true).', TASK_LABELS);
  readonly dlqRequests = this.counter(METRIC.dlqProduceRequests, 'Records sent to the dead letter queue (failed sends included).', TASK_LABELS);
  readonly dlqFailures = this.counter(METRIC.dlqProduceFailures, 'Sends to the dead letter queue that failed.', TASK_LABELS);
  readonly readRate = this.gauge(METRIC.sinkRecordReadRate, 'Records read per second over the last 30 s.', TASK_LABELS);
  readonly sendRate = this.gauge(METRIC.sinkRecordSendRate, 'Records put per second over the last 30 s.', TASK_LABELS);
  readonly partitionCount = this.gauge(METRIC.sinkPartitionCount, 'Partitions the sink task has read from and still owns.', TASK_LABELS);
  readonly recordsLag = this.gauge(METRIC.recordsLag, "Records of the partition not yet processed by the task: its high watermark (as the last fetch saw it) minus the offset after the last batch processed.", ['client_id', 'topic', 'partition', 'connector', 'task']);
  readonly inferenceSeconds = new Histogram({
    name: METRIC.inferenceSeconds,
    help: 'Duration of one scoring call (one batch of records of one model version), as the scoring task sees it.',
    labelNames: ['model', 'version'],
    buckets: INFERENCE_BUCKETS,
    registers: [this.registry],
  });
  readonly recordsScored = this.counter(METRIC.recordsScored, 'Records scored, per connector task and model version.', ['connector', 'task', 'model', 'version']);
  readonly versionInUse = this.gauge(METRIC.modelVersionInUse, 'The model version a scoring task used last (1), per connector task and model.', ['connector', 'task', 'model', 'version']);
  readonly activationRefusals = this.counter(METRIC.activationRefusals, 'Model versions the catalog refused to activate (artifact unreachable, checksum mismatch, inputs that do not fit).', ['model']);

  private counter(name: string, help: string, labelNames: readonly string[]): Counter<string> {
    return new Counter({ name, help, labelNames: [...labelNames], registers: [this.registry] });
  }

  private gauge(name: string, help: string, labelNames: readonly string[]): Gauge<string> {
    return new Gauge({ name, help, labelNames: [...labelNames], registers: [this.registry] });
  }

  private publishTasks(): void {
    const now = Date.now();
    for (const t of this.tasks.values()) t.publish(now);
  }

  /** The metrics of a sink task; a newer instance for the same task (a rebuilt runner) takes its series over. */
  task(connector: string, taskId: number, consumerClientId: string): TaskMetrics {
    const key = `${connector}\u0000${taskId}`;
    this.tasks.get(key)?.removeSeries();
    const m = new TaskMetrics(this, connector, taskId, consumerClientId, () => {
      if (this.tasks.get(key) !== m) return false;
      this.tasks.delete(key);
      return true;
    });
    this.tasks.set(key, m);
    return m;
  }

  scoring(connector: string, taskId: number): ScoringMetrics {
    return new ScoringMetrics(this, connector, String(taskId));
  }
}

let local: ThreadMetrics | undefined;

/** This thread's metrics (one registry per thread). */
export function threadMetrics(): ThreadMetrics {
  return (local ??= new ThreadMetrics());
}

/** What the error path counts (Connect's task-error-metrics). */
export interface ErrorMetrics {
  recordError(): void;
  recordFailure(): void;
  recordSkipped(): void;
  retry(): void;
  errorLogged(): void;
  dlqProduced(records: number): void;
  dlqFailed(): void;
}

/**
 * One sink task's counts. The task loop adds to plain numbers (a batch costs a few additions and a
 * clock read); they reach the prom-client metrics when the registry is read (a scrape).
 */
export class TaskMetrics implements ErrorMetrics {
  private readonly labels: { connector: string; task: string };
  private read = 0;
  private sent = 0;
  private errors = 0;
  private failures = 0;
  private skipped = 0;
  private retries = 0;
  private logged = 0;
  private dlq = 0;
  private dlqFailures = 0;
  /** the totals as last handed to the counters (they only take increments) */
  private readonly published = new Float64Array(9);
  private readonly readWindow = new WindowedRate();
  private readonly sendWindow = new WindowedRate();
  /** per partition read: its lag series and last lag */
  private readonly lags = new Map<string, { labels: Record<string, string>; lag: number }>();

  constructor(private readonly m: ThreadMetrics, connector: string, taskId: number, private readonly clientId: string, private readonly release: () => boolean) {
    this.labels = { connector, task: String(taskId) };
    this.publish(Date.now()); // a task that reads nothing yet shows its series at 0, as Connect's MBeans do
  }

  private counters(): Counter<string>[] {
    const m = this.m;
    return [m.readTotal, m.sendTotal, m.recordErrors, m.recordFailures, m.recordsSkipped, m.retries, m.errorsLogged, m.dlqRequests, m.dlqFailures];
  }

  /** a batch of `n` records was read from `topic`-`partition`; `highWatermark` as the fetch saw it */
  batchRead(n: number, topic: string, partition: number, nextOffset: number, highWatermark: number | undefined): void {
    this.read += n;
    this.readWindow.add(n);
    if (highWatermark === undefined) return;
    const key = `${topic}\u0000${partition}`;
    const lag = Math.max(0, highWatermark - nextOffset);
    const entry = this.lags.get(key);
    if (entry) entry.lag = lag;
    else this.lags.set(key, { labels: { client_id: this.clientId, topic, partition: String(partition), ...this.labels }, lag });
  }

  batchSent(n: number): void {
    if (n === 0) return;
    this.sent += n;
    this.sendWindow.add(n);
  }

  /** the task no longer owns these partitions (rebalance) */
  partitionsRevoked(partitions: readonly { topic: string; partition: number }[]): void {
    for (const p of partitions) {
      const key = `${p.topic}\u0000${p.partition}`;
      const entry = this.lags.get(key);
      if (!entry) continue;
      this.m.recordsLag.remove(entry.labels);
      this.lags.delete(key);
    }
  }

  recordError(): void { this.errors++; }
  recordFailure(): void { this.failures++; }
  recordSkipped(): void { this.skipped++; }
  retry(): void { this.retries++; }
  errorLogged(): void { this.logged++; }
  dlqProduced(records: number): void { this.dlq += records; }
  dlqFailed(): void { this.dlqFailures++; }

  /** Hands the counts to the prom-client metrics (when the registry is read). */
  publish(now: number): void {
    const totals = [this.read, this.sent, this.errors, this.failures, this.skipped, this.retries, this.logged, this.dlq, this.dlqFailures];
    const counters = this.counters();
    for (let i = 0; i < totals.length; i++) {
      counters[i]!.inc(this.labels, totals[i]! - this.published[i]!);
      this.published[i] = totals[i]!;
    }
    const m = this.m;
    m.readRate.set(this.labels, this.readWindow.rate(now));
    m.sendRate.set(this.labels, this.sendWindow.rate(now));
    m.partitionCount.set(this.labels, this.lags.size);
    for (const { labels, lag } of this.lags.values()) m.recordsLag.set(labels, lag);
  }

  /** the task has stopped: its series go (Connect removes a stopped task's metric groups) */
  close(): void {
    if (this.release()) this.removeSeries();
  }

  removeSeries(): void {
    const m = this.m;
    for (const metric of [...this.counters(), m.readRate, m.sendRate, m.partitionCount]) metric.remove(this.labels);
    for (const { labels } of this.lags.values()) m.recordsLag.remove(labels);
    this.lags.clear();
  }
}

/** What a scoring transformation records: per call, not per record. */
export class ScoringMetrics {
  private readonly inUse = new Map<string, Record<string, string>>();
  private readonly scoredSeries = new Map<string, Record<string, string>>();
  private closed = false;

  constructor(private readonly m: ThreadMetrics, private readonly connector: string, private readonly task: string) {}

  scored(model: string, version: string, records: number, seconds: number): void {
    if (this.closed) return;
    this.m.inferenceSeconds.observe({ model, version }, seconds);
    const labels = { connector: this.connector, task: this.task, model, version };
    this.m.recordsScored.inc(labels, records);
    const seriesKey = `${model}\u0000${version}`;
    if (!this.scoredSeries.has(seriesKey)) this.scoredSeries.set(seriesKey, labels);
    const previous = this.inUse.get(model);
    if (previous?.version === version) return;
    if (previous) this.m.versionInUse.remove(previous);
    this.m.versionInUse.set(labels, 1);
    this.inUse.set(model, labels);
  }

  close(): void {
    this.closed = true;
    for (const labels of this.inUse.values()) this.m.versionInUse.remove(labels);
    for (const labels of this.scoredSeries.values()) this.m.recordsScored.remove(labels);
    this.inUse.clear();
    this.scoredSeries.clear();
  }
}
