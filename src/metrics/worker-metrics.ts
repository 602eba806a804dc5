/**
 * What `GET /metrics` serves (Prometheus text format): the worker's own metrics (connectors and
 * tasks it runs, their statuses, the online learners, the Node.js process), this thread's task and
 * scoring metrics, and every task thread's, summed (prom-client's aggregation: the series of
 * different tasks differ by their labels; a model's latency histogram adds up across threads).
 */
import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { learnerRegistry } from '../ml/online/registry';
import { METRIC, statusLabel } from './names';
import { threadSnapshots } from './thread-bridge';
import { threadMetrics } from './thread-metrics';

/** What the worker metrics read of the herder. */
export interface WorkerView {
  readonly workerId: string;
  connectorNames(): string[];
  connectorStatus(name: string): { connector: { state: string; worker_id: string }; tasks: { id: number; state: string; worker_id: string }[] };
}

/** a learner in a busy thread is left out of one scrape rather than holding it up */
const LEARNER_TIMEOUT_MS = 2000;

const LEARNER_LABELS = ['connector', 'task', 'model'];

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export class WorkerMetrics {
  private readonly registry = new Registry();
  private readonly r = [this.registry];
  private readonly connectorCount = new Gauge({ name: METRIC.workerConnectorCount, help: 'Connectors run by this worker.', registers: this.r });
  private readonly taskCount = new Gauge({ name: METRIC.workerTaskCount, help: 'Tasks run by this worker.', registers: this.r });
  private readonly connectorStatus = new Gauge({ name: METRIC.connectorStatus, help: "Status of each connector this worker runs (value 1; the status as Connect's status attribute names it).", labelNames: ['connector', 'status'], registers: this.r });
  private readonly taskStatus = new Gauge({ name: METRIC.taskStatus, help: 'Status of each task this worker runs (value 1).', labelNames: ['connector', 'task', 'status'], registers: this.r });
  private readonly learned = new Counter({ name: METRIC.learnerLabelsLearned, help: 'Labels learned by the online learner (restored with its state).', labelNames: LEARNER_LABELS, registers: this.r });
  private readonly updates = new Counter({ name: METRIC.learnerUpdates, help: "Learner updates that changed the model's parameters.", labelNames: LEARNER_LABELS, registers: this.r });
  private readonly mistakes = new Counter({ name: METRIC.learnerMistakes, help: 'Learned labels whose served prediction was wrong (classification).', labelNames: LEARNER_LABELS, registers: this.r });
  private readonly accuracy = new Gauge({ name: METRIC.learnerWindowedAccuracy, help: "Prequential accuracy over the learner's last metrics.window labels (classification; absent while the window is empty).", labelNames: LEARNER_LABELS, registers: this.r });
  private readonly pendingEvents = new Gauge({ name: METRIC.learnerPendingEvents, help: 'Events waiting for their label.', labelNames: LEARNER_LABELS, registers: this.r });
  private readonly pendingFeedback = new Gauge({ name: METRIC.learnerPendingFeedback, help: 'Labels that arrived before their event, waiting for it.', labelNames: LEARNER_LABELS, registers: this.r });

  constructor(private readonly worker: WorkerView) {
    collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text of everything this worker process measures. */
  async render(): Promise<string> {
    this.sampleWorker();
    await this.sampleLearners();
    const all = await Promise.all([this.registry.getMetricsAsJSON(), threadMetrics().registry.getMetricsAsJSON(), ...(await threadSnapshots())]);
    return AggregatorRegistry.aggregate(all).metrics();
  }

  /** Connect's worker and status metrics: what this worker runs, from the statuses it follows. */
  private sampleWorker(): void {
    for (const m of [this.connectorCount, this.taskCount, this.connectorStatus, this.taskStatus]) m.reset();
    const self = this.worker.workerId;
    let connectors = 0;
    let tasks = 0;
    for (const name of this.worker.connectorNames()) {
      let s: ReturnType<WorkerView['connectorStatus']>;
      try {
        s = this.worker.connectorStatus(name);
      } catch {
        continue; // deleted meanwhile, or no status yet
      }
      if (s.connector.worker_id === self) {
        connectors++;
        this.connectorStatus.set({ connector: name, status: statusLabel(s.connector.state) }, 1);
      }
      for (const t of s.tasks) {
        if (t.worker_id !== self) continue;
        tasks++;
        this.taskStatus.set({ connector: name, task: String(t.id), status: statusLabel(t.state) }, 1);
      }
    }
    this.connectorCount.set(connectors);
    this.taskCount.set(tasks);
  }

  /** The online learners this worker runs (here or in a task thread), read as /learners reads them. */
  private async sampleLearners(): Promise<void> {
    const handles = learnerRegistry.connectors().flatMap((c) => learnerRegistry.tasks(c));
    const statuses = await Promise.all(handles.map((h) => withTimeout(Promise.resolve(h.status()), LEARNER_TIMEOUT_MS).catch(() => undefined)));
    for (const m of [this.learned, this.updates, this.mistakes, this.accuracy, this.pendingEvents, this.pendingFeedback]) m.reset();
    for (const s of statuses) {
      if (!s) continue;
      const status = s as unknown as LearnerStatus;
      const labels = { connector: String(status.connector), task: String(status.task), model: String(status.model) };
      this.learned.inc(labels, status.counters?.learned ?? 0);
      this.updates.inc(labels, status.counters?.updates ?? 0);
      this.mistakes.inc(labels, status.counters?.mistakes ?? 0);
      this.pendingEvents.set(labels, status.pending?.events ?? 0);
      this.pendingFeedback.set(labels, status.pending?.feedback ?? 0);
      const accuracy = status.windowed?.accuracy;
      if (typeof accuracy === 'number') this.accuracy.set(labels, accuracy);
    }
  }
}

interface LearnerStatus {
  connector: unknown;
  task: unknown;
  model: unknown;
  counters?: { learned?: number; updates?: number; mistakes?: number };
  pending?: { events?: number; feedback?: number };
  windowed?: { accuracy?: number | null } | null;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); })]).finally(() => clearTimeout(timer));
}
