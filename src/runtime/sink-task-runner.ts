/**
 * One sink task (Connect's WorkerSinkTask): a member of consumer group `connect-<name>` that takes
 * batches per partition through converters → transformation chain → `SinkTask.put`, and commits
 * offsets only for what the sink has flushed. Pause stops fetching without leaving the group;
 * stop flushes, commits and leaves. Any failure that is not tolerated fails the task with a trace;
 * the offsets of the failing record and after it stay uncommitted, so a restart resumes from it.
 */
import type { ConfigMap, Converter, Logger, SchemaAndValue, SinkRecord, SinkTask, SinkConnectorDescriptor, TransformationContext } from '../api';
import type { GroupConsumer, KafkaClient, ConsumedMessage, TopicPartitionOffset } from '../kafka/port';
import { ErrorHandler, isRetriable, traceOf, type ErrorHandlingConfig } from './errors';
import { stepApplies, closeChain, type ChainStep } from './transformation-chain';
import { withPrefix } from '../config/parse';

export type TaskState = 'UNASSIGNED' | 'RUNNING' | 'PAUSED' | 'FAILED';

export interface SinkTaskRunnerOptions {
  connector: string;
  taskId: number;
  /** the connector config (framework keys) and the task's own config from taskConfigs() */
  connectorConfig: ConfigMap;
  taskConfig: ConfigMap;
  descriptor: SinkConnectorDescriptor;
  kafka: KafkaClient;
  keyConverter: Converter;
  valueConverter: Converter;
  keyConverterClass: string;
  valueConverterClass: string;
  chain: ChainStep[];
  errors: ErrorHandlingConfig;
  topics: string[];
  topicsRegex: string;
  offsetFlushIntervalMs: number;
  startPaused: boolean;
  logger: Logger;
  onStateChange(state: TaskState, trace?: string): void;
  onTopicSeen(topic: string): void;
  transformationContext: TransformationContext;
}

/** A tiny serial executor: batch processing, commits and stop never overlap. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

export class SinkTaskRunner {
  private consumer?: GroupConsumer;
  private task?: SinkTask;
  private readonly errorHandler: ErrorHandler;
  private readonly serial = new Serial();
  /** next offset to commit per partition: everything before it was put (and maybe not yet flushed) */
  private readonly putOffsets = new Map<string, TopicPartitionOffset>();
  private lastCommit = Date.now();
  private commitTimer?: NodeJS.Timeout;
  private paused: boolean;
  private failed = false;
  private stopped = false;
  private stopping?: Promise<void>;

  constructor(private readonly o: SinkTaskRunnerOptions) {
    this.paused = o.startPaused;
    this.errorHandler = new ErrorHandler(o.errors, { connector: o.connector, taskId: o.taskId }, o.kafka, o.logger);
  }

  get state(): TaskState {
    return this.failed ? 'FAILED' : this.paused ? 'PAUSED' : 'RUNNING';
  }

  async start(): Promise<void> {
    const o = this.o;
    try {
      this.task = o.descriptor.createTask();
      await this.task.start(o.taskConfig, {
        connectorName: o.connector,
        taskId: o.taskId,
        logger: o.logger,
        producer: { send: (records) => o.kafka.send(records) },
        failTask: (e) => this.fail(e),
        keyConverter: o.keyConverter,
        valueConverter: o.valueConverter,
      });
      for (const step of o.chain) if (step.transformation.open) await step.transformation.open(o.transformationContext);
      this.consumer = o.kafka.groupConsumer({
        groupId: `connect-${o.connector}`,
        clientId: `connector-consumer-${o.connector}-${o.taskId}`,
        topics: o.topics.length > 0 ? o.topics : undefined,
        topicsRegex: o.topicsRegex ? new RegExp(`^(?:${o.topicsRegex})$`) : undefined,
        overrides: withPrefix(o.connectorConfig, 'consumer.override.'),
        onBatch: async (messages, topic, partition, control) => {
          // Scoring and learning may hold a batch for a while (inference runs off the event loop):
          // keep the group membership alive meanwhile.
          const heartbeat = setInterval(() => { control.heartbeat().catch(() => undefined); }, 3000);
          try {
            await this.serial.run(() => this.processBatch(messages, topic, partition, control.isStale));
          } catch (e) {
            this.fail(e as Error);
          } finally {
            clearInterval(heartbeat);
          }
        },
        onAssignment: (assigned) => {
          // Never commit for partitions this task no longer owns: that could move another task's position back.
          const owned = new Set(assigned.map((a) => `${a.topic}:${a.partition}`));
          for (const key of [...this.putOffsets.keys()]) if (!owned.has(key)) this.putOffsets.delete(key);
        },
        onCrash: (e) => this.fail(e),
      });
      if (this.paused) this.consumer.pause();
      await this.consumer.start();
      if (this.paused) this.consumer.pause();
      this.commitTimer = setInterval(() => { void this.serial.run(() => this.commitIfDue()); }, Math.max(100, Math.min(o.offsetFlushIntervalMs, 1000)));
      this.commitTimer.unref();
      if (!this.failed && !this.stopped) o.onStateChange(this.paused ? 'PAUSED' : 'RUNNING');
    } catch (e) {
      this.fail(e as Error);
    }
  }

  pause(): void {
    if (this.failed || this.stopped) return;
    this.paused = true;
    this.consumer?.pause();
    this.o.onStateChange('PAUSED');
  }

  resume(): void {
    if (this.failed || this.stopped) return;
    this.paused = false;
    this.consumer?.resume();
    this.o.onStateChange('RUNNING');
  }

  /**
   * Converts, transforms and puts one batch of one partition, then commits when due.
   * Conversion runs per record (synchronously unless a retry is needed); each transformation step
   * runs over the whole batch, in one call for steps with a batch form (model scoring). When a
   * failure is not tolerated at record k, records before k are still put and committed, so the
   * restarted task resumes exactly at k.
   */
  private async processBatch(messages: ConsumedMessage[], topic: string, partition: number, isStale: () => boolean): Promise<void> {
    if (this.failed || this.stopped || isStale()) return;
    this.o.onTopicSeen(topic);
    try {
      await this.o.keyConverter.prepare?.(topic, messages.map((m) => m.key));
      await this.o.valueConverter.prepare?.(topic, messages.map((m) => m.value));
    } catch (e) {
      // A prefetch failure (e.g. registry unreachable) is reported per record by the conversion below.
      this.o.logger.debug(`converter prefetch failed: ${(e as Error).message}`);
    }
    const n = messages.length;
    const records: (SinkRecord | null)[] = new Array(n).fill(null);
    let failIndex = n;
    let failError: Error | undefined;
    const failAt = (i: number, e: unknown) => {
      if (i < failIndex) { failIndex = i; failError = e as Error; }
    };

    for (let i = 0; i < n; i++) {
      try {
        let r = this.convert(messages[i]!);
        if (r instanceof Promise) r = await r;
        records[i] = r;
      } catch (e) {
        failAt(i, e);
        break;
      }
    }

    const eh = this.errorHandler;
    for (const step of this.o.chain) {
      const t = step.transformation;
      if (t.applyBatch) {
        const idx: number[] = [];
        for (let i = 0; i < failIndex; i++) if (records[i] && stepApplies(step, records[i]!)) idx.push(i);
        if (idx.length === 0) continue;
        let results: (SinkRecord | null | Error)[];
        try {
          results = await t.applyBatch(idx.map((i) => records[i]!));
        } catch (e) {
          results = idx.map(() => e as Error);
        }
        for (let j = 0; j < idx.length; j++) {
          const i = idx[j]!;
          if (i >= failIndex) break;
          const res = results[j];
          if (res instanceof Error) {
            try {
              eh.handle({ stage: 'TRANSFORMATION', className: step.className, record: messages[i]!, error: res });
              records[i] = null;
            } catch (e) {
              failAt(i, e);
            }
          } else {
            records[i] = res ?? null;
          }
        }
      } else {
        for (let i = 0; i < failIndex; i++) {
          const current = records[i];
          if (!current) continue;
          try {
            let out = eh.execute('TRANSFORMATION', step.className, messages[i]!, () => (stepApplies(step, current) ? t.apply(current) : current));
            if (out instanceof Promise) out = await out;
            records[i] = out ?? null;
          } catch (e) {
            failAt(i, e);
            break;
          }
        }
      }
    }

    const out: SinkRecord[] = [];
    for (let i = 0; i < failIndex; i++) if (records[i]) out.push(records[i]!);
    await this.putAndTrack(out, topic, partition, failIndex > 0 ? messages[failIndex - 1]!.offset + 1 : undefined);
    if (failError) {
      await this.commitNow().catch((e) => this.o.logger.warn(`commit before failing the task failed: ${(e as Error).message}`));
      throw failError;
    }
    await this.commitIfDue();
  }

  /** Runs the key and value converters for one record; a Promise only when a retry is under way. */
  private convert(m: ConsumedMessage): SinkRecord | null | Promise<SinkRecord | null> {
    const eh = this.errorHandler;
    const key = eh.execute('KEY_CONVERTER', this.o.keyConverterClass, m, () => this.o.keyConverter.toConnectData(m.topic, m.key, m.headers));
    const withKey = (k: SchemaAndValue | undefined): SinkRecord | null | Promise<SinkRecord | null> => {
      if (k === undefined) return null;
      const value = eh.execute('VALUE_CONVERTER', this.o.valueConverterClass, m, () => this.o.valueConverter.toConnectData(m.topic, m.value, m.headers));
      const build = (v: SchemaAndValue | undefined): SinkRecord | null => (v === undefined ? null : {
        topic: m.topic,
        kafkaPartition: m.partition,
        kafkaOffset: m.offset,
        timestamp: m.timestamp,
        keySchema: k.schema,
        key: k.value,
        valueSchema: v.schema,
        value: v.value,
        headers: m.headers,
      });
      return value instanceof Promise ? value.then(build) : build(value);
    };
    return key instanceof Promise ? key.then(withKey) : withKey(key);
  }

  private async putAndTrack(records: SinkRecord[], topic: string, partition: number, nextOffset: number | undefined): Promise<void> {
    if (records.length > 0) await this.putWithRetry(records);
    await this.errorHandler.flushDlq();
    if (nextOffset !== undefined) this.putOffsets.set(`${topic}:${partition}`, { topic, partition, offset: nextOffset });
  }

  private async putWithRetry(records: SinkRecord[]): Promise<void> {
    const deadline = this.o.errors.retryTimeoutMs < 0 ? Infinity : Date.now() + this.o.errors.retryTimeoutMs;
    let delay = 300;
    for (;;) {
      try {
        await this.task!.put(records);
        return;
      } catch (e) {
        // As in Connect, put() failures kill the task unless they are retriable and time remains.
        if (!isRetriable(e) || Date.now() >= deadline || this.stopped) throw e;
        await new Promise((r) => setTimeout(r, Math.min(delay, this.o.errors.retryDelayMaxMs)));
        delay *= 2;
      }
    }
  }

  private async commitIfDue(): Promise<void> {
    if (Date.now() - this.lastCommit >= this.o.offsetFlushIntervalMs) await this.commitNow();
  }

  /** Flushes the sink, then commits the offsets of everything it was given. */
  private async commitNow(): Promise<void> {
    this.lastCommit = Date.now();
    if (this.putOffsets.size === 0 || !this.task || !this.consumer) return;
    const offsets = [...this.putOffsets.values()];
    // Stateful transformations checkpoint first, then the sink flushes, then offsets are committed.
    for (const step of this.o.chain) if (step.transformation.preCommit) await step.transformation.preCommit(offsets);
    await this.task.flush();
    await this.consumer.commit(offsets);
    for (const o of offsets) {
      const key = `${o.topic}:${o.partition}`;
      if (this.putOffsets.get(key) === o) this.putOffsets.delete(key);
    }
  }

  /** Marks the task FAILED with its trace and leaves the group (without committing past the failure). */
  fail(error: Error): void {
    if (this.failed || this.stopped) return;
    this.failed = true;
    const trace = traceOf(error);
    this.o.logger.error(`Task threw an uncaught and unrecoverable exception. Task is being killed and will not recover until manually restarted.`, { error: trace });
    this.o.onStateChange('FAILED', trace);
    void this.shutdown(false);
  }

  /** Orderly stop: flush and commit what was written, leave the group, stop the sink. Idempotent. */
  stop(): Promise<void> {
    return this.shutdown(!this.failed);
  }

  private shutdown(commit: boolean): Promise<void> {
    this.stopped = true;
    this.stopping ??= (async () => {
      if (this.commitTimer) clearInterval(this.commitTimer);
      // Let an in-flight batch finish first, then commit what it wrote.
      if (commit) await this.serial.run(() => this.commitNow()).catch((e) => this.o.logger.warn(`final commit failed: ${(e as Error).message}`));
      await this.consumer?.stop();
      try { await this.task?.stop(); } catch (e) { this.o.logger.warn(`task stop failed: ${(e as Error).message}`); }
      await closeChain(this.o.chain).catch(() => undefined);
    })();
    return this.stopping;
  }
}

