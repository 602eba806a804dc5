/**
 * Connect's error handling for the record path (RetryWithToleranceOperator, LogReporter and
 * DeadLetterQueueReporter in one place): retries with exponential backoff for retriable failures,
 * tolerance by stage, error logs, and the dead letter queue with the `__connect.errors.*` headers.
 */
import { ConnectException, type Logger, type RawRecord } from '../api';
import type { KafkaClient, OutgoingMessage } from '../kafka/port';
import type { ErrorMetrics } from '../metrics/thread-metrics';

/** Where DLQ records go: topic creation, and a send that may only queue them (acknowledged by the task's flush). */
export type DlqWriter = Pick<KafkaClient, 'ensureTopics' | 'send'>;

export type Stage = 'KEY_CONVERTER' | 'VALUE_CONVERTER' | 'HEADER_CONVERTER' | 'TRANSFORMATION' | 'TASK_PUT' | 'KAFKA_CONSUME' | 'KAFKA_PRODUCE';

/** Stages in which `errors.tolerance=all` skips any failure; elsewhere only retriable ones. */
const tolerableStages = new Set<Stage>(['KEY_CONVERTER', 'VALUE_CONVERTER', 'HEADER_CONVERTER', 'TRANSFORMATION']);

export interface ErrorHandlingConfig {
  retryTimeoutMs: number;
  retryDelayMaxMs: number;
  tolerance: 'none' | 'all';
  logEnable: boolean;
  logIncludeMessages: boolean;
  dlqTopic: string;
  dlqReplicationFactor: number;
  dlqContextHeaders: boolean;
}

export interface ErrorContext {
  stage: Stage;
  /** the class executing when it failed (converter, transformation, task) */
  className: string;
  record: RawRecord;
  error: Error;
}

/** The failure that ends a task when tolerance is exceeded; `cause` is the original error. */
export class ToleranceExceededError extends ConnectException {
  constructor(override readonly cause: Error) {
    super('Tolerance exceeded in error handler');
  }
}

export function isRetriable(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { retriable?: unknown }).retriable === true;
}

/** A Java-like trace: `Class: message`, the stack, then each `Caused by:`. */
export function traceOf(error: Error): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const walk = (current: unknown, prefix: string) => {
    while (current instanceof Error && !seen.has(current) && parts.length < 20) {
      seen.add(current);
      // Connect's errors carry their Java class names, as in Connect's traces (kcctl and UIs show these).
      const head = `${javaClassName(current)}: ${current.message}`;
      const stack = (current.stack ?? head).replace(/^[^\n]*/, head);
      parts.push(prefix + stack);
      // an aggregate (e.g. a Kafka client's "Producing messages failed.") says why in its parts
      const inner = (current as { errors?: unknown }).errors;
      if (Array.isArray(inner)) {
        const distinct = new Map<string, unknown>();
        for (const e of inner) if (e instanceof Error && !distinct.has(e.message)) distinct.set(e.message, e);
        for (const e of [...distinct.values()].slice(0, 5)) walk(e, 'Caused by: ');
      }
      prefix = 'Caused by: ';
      current = (current as { cause?: unknown }).cause;
    }
  };
  walk(error, '');
  return parts.join('\n');
}

/** Connect writes the exception's Java class name (getClass().getName()); map our API errors to theirs. */
const JAVA_CLASS_NAMES: Record<string, string> = {
  DataException: 'org.apache.kafka.connect.errors.DataException',
  RetriableException: 'org.apache.kafka.connect.errors.RetriableException',
  ConnectException: 'org.apache.kafka.connect.errors.ConnectException',
  ConfigException: 'org.apache.kafka.common.config.ConfigException',
};
export function javaClassName(error: Error): string {
  return JAVA_CLASS_NAMES[error.name] ?? error.name;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ErrorHandler {
  /** DLQ records of the current batch; sent before the batch's offsets are committed. */
  private pendingDlq: OutgoingMessage[] = [];
  private dlqReady?: Promise<void>;
  recordsSkipped = 0;

  constructor(
    private readonly config: ErrorHandlingConfig,
    private readonly identity: { connector: string; taskId: number },
    private readonly kafka: DlqWriter,
    private readonly logger: Logger,
    /** Connect's task-error-metrics of the task */
    private readonly metrics?: ErrorMetrics,
  ) {}

  get tolerance(): 'none' | 'all' { return this.config.tolerance; }

  /**
   * Runs `fn` for one record in one stage. Returns its result, or `undefined` when the failure was
   * tolerated (the record is skipped and reported). Throws ToleranceExceededError otherwise.
   * Retriable failures are retried (asynchronously) for up to errors.retry.timeout.
   */
  execute<T>(stage: Stage, className: string, record: RawRecord, fn: () => T): T | undefined | Promise<T | undefined> {
    try {
      return fn();
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      if (isRetriable(error) && this.config.retryTimeoutMs !== 0) return this.retry(stage, className, record, fn, error);
      return this.handle({ stage, className, record, error });
    }
  }

  private async retry<T>(stage: Stage, className: string, record: RawRecord, fn: () => T, first: Error): Promise<T | undefined> {
    const deadline = this.config.retryTimeoutMs < 0 ? Infinity : Date.now() + this.config.retryTimeoutMs;
    let delay = 300;
    let last = first;
    while (Date.now() < deadline) {
      const wait = Math.min(delay, this.config.retryDelayMaxMs, deadline - Date.now());
      await sleep(Math.max(0, wait + Math.floor(Math.random() * Math.min(wait, 100))));
      delay *= 2;
      this.metrics?.retry();
      try {
        const value = fn();
        this.metrics?.recordFailure(); // the attempt before this one
        return value;
      } catch (e) {
        this.metrics?.recordFailure(); // the attempt before this one; the last failure is counted by handle()
        last = e instanceof Error ? e : new Error(String(e));
        if (!isRetriable(last)) break;
      }
    }
    return this.handle({ stage, className, record, error: last });
  }

  /** Reports a failure; returns undefined when tolerated, throws when not. */
  handle(ctx: ErrorContext): undefined {
    const tolerated = this.config.tolerance === 'all' && (tolerableStages.has(ctx.stage) || isRetriable(ctx.error));
    this.metrics?.recordFailure();
    this.metrics?.recordError();
    if (this.config.logEnable) {
      this.log(ctx);
      this.metrics?.errorLogged();
    }
    if (!tolerated) throw new ToleranceExceededError(ctx.error);
    this.recordsSkipped++;
    this.metrics?.recordSkipped();
    if (this.config.dlqTopic !== '') this.pendingDlq.push(this.dlqRecord(ctx));
    return undefined;
  }

  private log(ctx: ErrorContext): void {
    const where = `Error encountered in task ${this.identity.connector}-${this.identity.taskId}. Executing stage '${ctx.stage}' with class '${ctx.className}'`;
    const r = ctx.record;
    const detail = this.config.logIncludeMessages
      ? `, where consumed record is {topic='${r.topic}', partition=${r.partition}, offset=${r.offset}, timestamp=${r.timestamp ?? -1}}`
      : '';
    this.logger.error(`${where}${detail}.`, { error: ctx.error });
  }

  private dlqRecord(ctx: ErrorContext): OutgoingMessage {
    const headers: Record<string, Buffer | string> = {};
    for (const h of ctx.record.headers) if (h.value !== null) headers[h.key] = h.value;
    if (this.config.dlqContextHeaders) {
      const p = '__connect.errors.';
      headers[p + 'topic'] = ctx.record.topic;
      headers[p + 'partition'] = String(ctx.record.partition);
      headers[p + 'offset'] = String(ctx.record.offset);
      headers[p + 'connector.name'] = this.identity.connector;
      headers[p + 'task.id'] = String(this.identity.taskId);
      headers[p + 'stage'] = ctx.stage;
      headers[p + 'class.name'] = ctx.className;
      headers[p + 'exception.class.name'] = javaClassName(ctx.error);
      headers[p + 'exception.message'] = ctx.error.message;
      headers[p + 'exception.stacktrace'] = traceOf(ctx.error);
    }
    return { topic: this.config.dlqTopic, key: ctx.record.key, value: ctx.record.value, headers, timestamp: ctx.record.timestamp };
  }

  /** The DLQ records collected so far, handed to the caller (a batch keeps its own until it is put). */
  takePendingDlq(): OutgoingMessage[] {
    const batch = this.pendingDlq;
    this.pendingDlq = [];
    return batch;
  }

  /**
   * Sends the DLQ records collected so far, or the given ones (creating the topic once). With the
   * task's pipelined producer this only queues them: the task's flush waits for their acks before offsets move.
   */
  async flushDlq(batch: OutgoingMessage[] = this.takePendingDlq()): Promise<void> {
    if (batch.length === 0) return;
    this.dlqReady ??= this.kafka.ensureTopics([{ topic: this.config.dlqTopic, partitions: 1, replicationFactor: this.config.dlqReplicationFactor }])
      .catch((e) => { this.dlqReady = undefined; throw e; });
    // as Connect counts them: a request per record sent, a failure per send that failed
    this.metrics?.dlqProduced(batch.length);
    try {
      await this.dlqReady;
      await this.kafka.send(batch);
    } catch (e) {
      this.metrics?.dlqFailed();
      throw e;
    }
  }
}
