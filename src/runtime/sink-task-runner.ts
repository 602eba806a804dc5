/**
 * One sink task (Connect's WorkerSinkTask): a member of consumer group `connect-<name>` that takes
 * batches per partition through converters → transformation chain → `SinkTask.put`, and commits
 * offsets only for what the sink has flushed.
 *
 * The loop is pipelined: the consumer fetches the next batches while this one is processed, and a
 * sink that writes to Kafka only queues its records on the task's producer (put returns once they
 * are handed over), so converting and transforming batch n+1 overlaps with fetching n+2 and
 * producing n. Offsets move only behind acknowledgements: every offset.flush.interval.ms the
 * sink's flush() and the producer's flush() (outputs and DLQ records acknowledged) come before the
 * commit. A chain with stateful transformations (preCommit: online learning) holds processing for
 * that moment, so its checkpoint matches the offsets exactly; otherwise the flush and commit run
 * behind the processing.
 *
 * Lifetime: the runner owns its consumer and producer from start to stop; stop (and fail) close
 * them, and nothing restarts them behind its back. Pause stops fetching without leaving the group.
 * A failure that is not tolerated fails the task with a trace; the offsets of the failing record
 * and after it stay uncommitted, so a restart resumes from it.
 */
import type { ConfigMap, Converter, Header, Logger, ProducedRecord, SchemaAndValue, SinkRecord, SinkTask, SinkConnectorDescriptor, TransformationContext } from '../api';
import type { ConsumedMessage, FetchedBatch, GroupConsumer, KafkaClient, OutgoingMessage, RecordProducer, TopicPartition, TopicPartitionOffset, TransactionalProducer } from '../kafka/port';
import { ErrorHandler, isRetriable, traceOf, type ErrorHandlingConfig } from './errors';
import { stepApplies, closeChain, type ChainStep } from './transformation-chain';
import { withPrefix } from '../config/parse';
import { headersToConnect } from '../converters/headers';
import { threadMetrics, type TaskMetrics } from '../metrics/thread-metrics';

export type TaskState = 'UNASSIGNED' | 'RUNNING' | 'PAUSED' | 'FAILED';

export interface SinkTaskRunnerOptions {
  connector: string;
  taskId: number;
  /** the connector config (framework keys) and the task's own config from taskConfigs() */
  connectorConfig: ConfigMap;
  taskConfig: ConfigMap;
  descriptor: SinkConnectorDescriptor;
  /** the Kafka client this task's consumer and producer come from */
  kafka: KafkaClient;
  keyConverter: Converter;
  valueConverter: Converter;
  keyConverterClass: string;
  valueConverterClass: string;
  /** `header.converter`: reads each Kafka header into a Connect header (value and schema) */
  headerConverter: Converter;
  headerConverterClass: string;
  chain: ChainStep[];
  errors: ErrorHandlingConfig;
  topics: string[];
  topicsRegex: string;
  offsetFlushIntervalMs: number;
  /** how long stop() waits for the batch in progress and the final commit */
  shutdownTimeoutMs?: number;
  startPaused: boolean;
  logger: Logger;
  /** state changes; `trace` is the failure (FAILED) or what degrades a RUNNING task (Kafka unreachable) */
  onStateChange(state: TaskState, trace?: string): void;
  onTopicSeen(topic: string): void;
  transformationContext: TransformationContext;
  /**
   * processing.guarantee=exactly_once_v2: everything a commit interval produces (outputs, DLQ
   * records, state checkpoints) and the input offsets commit in one Kafka transaction.
   */
  exactlyOnce?: { transactionalId: string; transactionTimeoutMs: number; commitIntervalMs: number };
  /**
   * The task must start over from its committed state (exactly-once: partitions moved away while
   * a transaction held their records); the owner builds a new runner. Without it the task fails.
   */
  onRestartNeeded?(reason: string): void;
}

/**
 * exactly_once_v2: the most records one put() gets. A fetch hands over up to a megabyte per
 * partition (over 10,000 small records); converted and put in one piece, its first request leaves
 * only after the whole batch is converted, and the commit every 100 ms then waits for all of it to
 * be written: converting and writing take turns instead of overlapping (0.6 × at-least-once's rate).
 * In slices, the broker writes one slice while the task converts the next, and a commit waits for
 * one slice at most. At-least-once never waits for its writes, so it keeps the whole batch.
 * Measured with the next slice prepared during a commit (bench `eos`, iris records): 500 records
 * gave 0.66 × at-least-once for Score, 2,000 0.75-0.90, 5,000 0.80-0.96 (each slice pays a put,
 * a request split and a trip through the serial executor).
 */
const EXACTLY_ONCE_SLICE_RECORDS = 5000;

/** A slice converted and transformed, waiting for its put. */
/** One partition's share of a prepared batch (a fetched batch, or a slice of one). */
interface PreparedPart {
  topic: string;
  partition: number;
  firstOffset: number;
  /** the offset after the last record of this part handled (undefined: none was) */
  nextOffset: number | undefined;
  /** where its messages start in the batch's messages (the parts follow each other) */
  start: number;
}

interface PreparedBatch {
  parts: PreparedPart[];
  records: SinkRecord[];
  /** the message each record came from (a part's records are left out if it is no longer current) */
  sourceOf: number[];
  /** its DLQ records: sent by its own put, so they commit with its offsets */
  dlq: OutgoingMessage[];
  /** a record that failed the task: the put before it happens, then the task fails */
  failError?: Error;
  /** the part of that record */
  failPart?: number;
}

/** The part that message `index` of a prepared batch belongs to (the parts follow each other). */
function partOf(parts: readonly PreparedPart[], index: number): number {
  let j = 0;
  while (j + 1 < parts.length && index >= parts[j + 1]!.start) j++;
  return j;
}

/** Exactly-once counters, shown in the task's status and metrics. */
export interface TransactionStats {
  commits: number;
  aborts: number;
  /** mean time from the first send of a transaction to its commit */
  avgTransactionMs: number;
}

/** A tiny serial executor: batch processing and the parts of a commit that hold processing never overlap. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

const consumerClientId = (connector: string, taskId: number) => `connector-consumer-${connector}-${taskId}`;

const partitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), ms); })]).finally(() => clearTimeout(timer));
}

export class SinkTaskRunner {
  private consumer?: GroupConsumer;
  private producer?: RecordProducer;
  /** set with exactly_once_v2: the producer, seen as transactional */
  private tx?: TransactionalProducer;
  private readonly txStats = { commits: 0, aborts: 0, totalMs: 0, openedAt: 0 };
  private restartRequested?: string;
  /** exactly-once: a rebalance took partitions away while the open transaction held their records */
  private rollbackRequested?: string;
  /** exactly-once: per partition, the first offset the open transaction holds (where a rollback goes back to) */
  private readonly txStart = new Map<string, TopicPartitionOffset>();
  private task?: SinkTask;
  private readonly errorHandler: ErrorHandler;
  private readonly metrics: TaskMetrics;
  private readonly serial = new Serial();
  private readonly statefulChain: boolean;
  /**
   * Exactly-once with a stateless chain: the next slice is converted and transformed while the
   * previous one waits for its put behind a transaction commit (flush, offsets, EndTxn: 10-40 ms of
   * every 100 ms transaction that converting would otherwise sit out). A stateful chain goes one
   * slice at a time: its checkpoint in the commit must not hold state of a slice not yet put.
   */
  private readonly overlapSlices: boolean;
  /** next offset to commit per partition: everything before it was put (and maybe not yet flushed) */
  private readonly putOffsets = new Map<string, TopicPartitionOffset>();
  private lastCommit = Date.now();
  private commitTimer?: NodeJS.Timeout;
  /** a commit running behind the processing (flush, then commit) */
  private committing?: Promise<void>;
  private paused: boolean;
  private resumed?: { promise: Promise<void>; resolve: () => void };
  private failed = false;
  private stopped = false;
  private stopping?: Promise<void>;
  private looping?: Promise<void>;
  private degradedReason?: string;

  constructor(private readonly o: SinkTaskRunnerOptions) {
    this.paused = o.startPaused;
    this.statefulChain = o.chain.some((s) => typeof s.transformation.preCommit === 'function');
    this.overlapSlices = o.exactlyOnce !== undefined && !this.statefulChain;
    this.metrics = threadMetrics().task(o.connector, o.taskId, consumerClientId(o.connector, o.taskId));
    this.errorHandler = new ErrorHandler(o.errors, { connector: o.connector, taskId: o.taskId }, {
      ensureTopics: (specs) => o.kafka.ensureTopics(specs),
      send: (records) => this.producer!.send(records),
    }, o.logger, this.metrics);
  }

  get state(): TaskState {
    return this.failed ? 'FAILED' : this.paused ? 'PAUSED' : 'RUNNING';
  }

  get transactions(): TransactionStats | undefined {
    if (!this.tx) return undefined;
    const s = this.txStats;
    return { commits: s.commits, aborts: s.aborts, avgTransactionMs: s.commits === 0 ? 0 : s.totalMs / s.commits };
  }

  /** Sends records of a transformation (a state checkpoint) with the task's producer: in the open transaction under exactly-once. */
  async sendWithTask(records: readonly ProducedRecord[]): Promise<void> {
    this.noteTransactionStart();
    await this.producer!.send(records);
  }

  private noteTransactionStart(): void {
    if (this.tx && !this.tx.inTransaction) this.txStats.openedAt = Date.now();
  }

  async start(): Promise<void> {
    const o = this.o;
    try {
      const clientId = `connector-producer-${o.connector}-${o.taskId}`;
      const overrides = withPrefix(o.connectorConfig, 'producer.override.');
      if (o.exactlyOnce) {
        this.tx = o.kafka.transactionalProducer({ clientId, overrides, transactionalId: o.exactlyOnce.transactionalId, transactionTimeoutMs: o.exactlyOnce.transactionTimeoutMs });
      }
      // exactly-once: fence the task's previous instance first, so that its open transaction is
      // aborted before anything below (state restored with read_committed) reads behind it
      const tx = this.tx;
      if (tx) await this.untilKafkaAnswers('claiming the transactional id', () => tx.init());
      if (this.stopped) return;
      const producer: RecordProducer = this.tx ?? o.kafka.producer({ clientId, overrides });
      this.producer = producer;
      this.task = o.descriptor.createTask();
      await this.task.start(o.taskConfig, {
        connectorName: o.connector,
        taskId: o.taskId,
        logger: o.logger,
        producer: {
          send: async (records: readonly ProducedRecord[]) => { this.noteTransactionStart(); await producer.send(records); await producer.flush(); },
          enqueue: (records: readonly ProducedRecord[]) => { this.noteTransactionStart(); return producer.send(records); },
          flush: () => producer.flush(),
        },
        failTask: (e) => this.fail(e, 'the sink task'),
        keyConverter: o.keyConverter,
        valueConverter: o.valueConverter,
        headerConverter: o.headerConverter,
      });
      for (const step of o.chain) {
        const t = step.transformation;
        if (t.open) await this.untilKafkaAnswers(`opening transformation ${step.alias}`, () => t.open!(o.transformationContext));
        if (this.stopped || this.failed) return;
      }
      this.consumer = o.kafka.groupConsumer({
        groupId: `connect-${o.connector}`,
        clientId: consumerClientId(o.connector, o.taskId),
        topics: o.topics.length > 0 ? o.topics : undefined,
        topicsRegex: o.topicsRegex ? new RegExp(`^(?:${o.topicsRegex})$`) : undefined,
        overrides: withPrefix(o.connectorConfig, 'consumer.override.'),
        // exactly-once reads what upstream transactions committed only (Kafka Streams does the same)
        readCommitted: !!o.exactlyOnce,
        onRevoked: async (revoked, { committable }) => {
          // A rebalance is starting: what was put is flushed and committed now (the transaction, with
          // exactly-once), so the partitions' next owner starts right after it (Connect commits in
          // onPartitionsRevoked the same way).
          if (committable) await this.commitBeforeGivingBack(revoked);
          // Exactly-once: the open transaction holds records of partitions the group has already moved,
          // which can no longer be committed with their offsets: it is rolled back.
          if (this.tx && this.tx.inTransaction && revoked.some((r) => this.txStart.has(partitionKey(r.topic, r.partition)))) {
            this.rollbackRequested ??= `partitions ${revoked.map((r) => `${r.topic}-${r.partition}`).join(', ')} moved to another task while a transaction held their records`;
          }
          this.metrics.partitionsRevoked(revoked);
          // Never commit for partitions this task no longer owns: that could move another task's position back.
          for (const r of revoked) {
            this.putOffsets.delete(partitionKey(r.topic, r.partition));
            if (!this.rollbackRequested) this.txStart.delete(partitionKey(r.topic, r.partition));
          }
        },
        onFatal: (e) => this.fail(e, 'the consumer'),
        onDegraded: (reason) => this.degrade(reason),
        onRecovered: () => this.recover(),
      });
      if (this.paused) this.consumer.pause();
      // report RUNNING once the member is in its group (it may wait there while the broker is away)
      await this.consumer.start();
      if (this.stopped || this.failed) return;
      const interval = o.exactlyOnce ? Math.max(10, Math.min(o.exactlyOnce.commitIntervalMs, 1000)) : Math.max(100, Math.min(o.offsetFlushIntervalMs, 1000));
      this.commitTimer = setInterval(() => { void this.serial.run(() => this.commitIfDue())
        .catch((e) => this.fail(e as Error, 'the offset commit')); }, interval);
      this.commitTimer.unref();
      o.onStateChange(this.paused ? 'PAUSED' : 'RUNNING', this.degradedReason);
      this.looping = this.loop();
    } catch (e) {
      this.fail(e as Error, 'the task start');
    }
  }

  /**
   * Runs a start step that needs Kafka (a transformation creating its topics or reading its state),
   * again and again while Kafka is unreachable: a task that starts during a broker outage waits
   * for the broker (status UNASSIGNED with the reason) instead of failing for good.
   */
  private async untilKafkaAnswers(what: string, step: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await step();
        return;
      } catch (e) {
        if (this.stopped || !this.o.kafka.isRetriable(e)) throw e;
        if (attempt === 1) {
          const reason = `Kafka is unreachable while ${what}: ${(e as Error).message}. The task keeps trying and starts by itself.`;
          this.o.logger.warn(reason);
          this.o.onStateChange('UNASSIGNED', reason);
        }
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** Math.min(5, attempt))));
      }
    }
  }

  private async loop(): Promise<void> {
    const consumer = this.consumer!;
    while (!this.stopped && !this.failed) {
      if (this.paused) {
        await this.waitForResume();
        continue;
      }
      // At-least-once takes what a poll would return: the queued batches of every partition, up to
      // max.poll.records, go through the chain together (one model call and one put for all, where
      // one per partition made a trickle of records wait behind each other's round trips).
      // Exactly-once goes one batch at a time, in slices.
      const batches = this.tx ? await consumer.next().then((b) => (b ? [b] : null)) : await consumer.nextPoll();
      if (!batches) break;
      if (this.rollbackRequested) await this.serial.run(() => this.rollback());
      // a fetch that was in flight when the task was paused: its records wait for the resume
      while (this.paused && !this.stopped && !this.failed) await this.waitForResume();
      try {
        if (!this.stopped && !this.failed) {
          if (this.tx) await this.processInSlices(consumer, batches[0]!);
          else await this.serial.run(() => this.processTogether(consumer, batches));
        }
      } catch (e) {
        this.fail(e as Error, 'a batch');
      } finally {
        for (const b of batches) consumer.release(b);
      }
      if (this.restartRequested) await this.startOver(this.restartRequested);
    }
  }

  /** Batches of one poll through the chain at once, then one put (at-least-once); runs on the serial executor. */
  private async processTogether(consumer: GroupConsumer, batches: FetchedBatch[]): Promise<void> {
    // checked on the serial executor: a rebalance may have moved partitions while these waited behind a commit
    const current = batches.filter((b) => consumer.isCurrent(b));
    if (current.length === 0) return;
    const prepared = await this.prepareBatch(current);
    if (!prepared) return;
    // a partition may have moved while the chain ran: its records are left to its next owner
    const stillCurrent = current.map((b) => consumer.isCurrent(b));
    current.forEach((b, j) => {
      if (stillCurrent[j]) this.metrics.batchRead(b.messages.length, b.topic, b.partition, b.messages[b.messages.length - 1]!.offset + 1, b.highWatermark);
    });
    await this.putPrepared(prepared, stillCurrent);
  }

  /** One batch in slices (exactly-once); the next slice is prepared while the previous one is put. */
  private async processInSlices(consumer: GroupConsumer, batch: FetchedBatch): Promise<void> {
    const size = EXACTLY_ONCE_SLICE_RECORDS;
    // the put of the previous slice, while this one is prepared (overlapping mode only)
    let putting: Promise<void> | undefined;
    try {
      for (let from = 0; from < batch.messages.length; from += size) {
        if (this.stopped || this.failed || this.restartRequested) break;
        // a rebalance between two slices: the rollback moves the partitions it rolls back, and
        // the rest of this batch is then no longer current (it is fetched again)
        if (this.rollbackRequested) await this.serial.run(() => this.rollback());
        const slice = from === 0 && batch.messages.length <= size ? batch : { ...batch, messages: batch.messages.slice(from, from + size) };
        const put = (prepared: PreparedBatch | undefined) => {
          // checked on the serial executor: a rebalance or a rollback may have moved the partition
          // while this slice waited behind a commit
          if (!prepared || !consumer.isCurrent(batch)) return Promise.resolve();
          const last = slice.messages[slice.messages.length - 1]!;
          this.metrics.batchRead(slice.messages.length, batch.topic, batch.partition, last.offset + 1, batch.highWatermark);
          return this.putPrepared(prepared);
        };
        if (!this.overlapSlices) {
          await this.serial.run(async () => (consumer.isCurrent(batch) ? put(await this.prepareBatch([slice])) : undefined));
          continue;
        }
        const prepared = consumer.isCurrent(batch) ? await this.prepareBatch([slice]) : undefined;
        await putting;
        if (this.stopped || this.failed || this.restartRequested) break;
        putting = this.serial.run(() => put(prepared));
        // awaited above with the next slice or below; until then its failure is not unhandled
        putting.catch(() => undefined);
      }
    } finally {
      await putting;
    }
  }

  /**
   * Before the task gives its partitions back (a rebalance starts): the batch in progress finishes,
   * and what was put is flushed and committed while this member's generation is still valid. A
   * commit that fails or takes longer than the shutdown bound leaves those records to the next
   * owner (delivered again: at-least-once).
   */
  private async commitBeforeGivingBack(revoked: TopicPartition[]): Promise<void> {
    if (this.stopped || this.failed) return;
    const bound = this.o.shutdownTimeoutMs ?? 30_000;
    const done = await withTimeout(this.serial.run(async () => {
      await this.committing;
      await this.commitNow(true);
    }).then(() => 'ok' as const, (e: Error) => {
      this.o.logger.warn(`Commit before a rebalance failed; the next owner of ${revoked.length} partition(s) reads their records again: ${e.message}`);
      return 'failed' as const;
    }), bound);
    if (done === 'timeout') this.o.logger.warn(`The commit before a rebalance did not finish within ${bound} ms; the next owner reads the records again`);
    // exactly-once with state (online learning): the state learned from records that were not committed
    if (done !== 'ok' && this.tx && this.statefulChain) this.restartRequested ??= 'a rebalance found a transaction that could not be committed';
  }

  /**
   * Exactly-once after a rebalance that took partitions away while the open transaction held
   * their records: those records cannot be committed with their offsets any more, so the whole
   * transaction is aborted and the partitions this task still owns go back to where it began (their
   * committed position); the batches fetched since are dropped. A chain with state (online learning)
   * has learned from the aborted records: the task starts over from its committed state instead.
   */
  private async rollback(): Promise<void> {
    const reason = this.rollbackRequested;
    this.rollbackRequested = undefined;
    if (!reason || !this.tx || this.stopped || this.failed) return;
    this.o.logger.info(`Aborting the open transaction: ${reason}`);
    this.txStats.aborts++;
    await this.tx.abort();
    if (this.statefulChain) {
      this.restartRequested ??= reason;
      return;
    }
    for (const p of this.txStart.values()) if (this.consumer!.owns(p.topic, p.partition)) this.consumer!.seek(p.topic, p.partition, p.offset);
    this.txStart.clear();
    this.putOffsets.clear();
  }

  /** Exactly-once after a rebalance: abort the open transaction, close everything, let the owner build the task anew. */
  private async startOver(reason: string): Promise<void> {
    if (this.stopped || this.failed) return;
    this.o.logger.info(`The task starts over from its committed state: ${reason}`);
    if (!this.o.onRestartNeeded) {
      this.fail(new Error(`the task must start over (${reason}); restart it`), 'a rebalance');
      return;
    }
    await this.shutdown(false);
    this.o.onRestartNeeded(reason);
  }

  private waitForResume(): Promise<void> {
    if (!this.resumed) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => { resolve = r; });
      this.resumed = { promise, resolve };
    }
    return this.resumed.promise;
  }

  private wake(): void {
    const r = this.resumed;
    this.resumed = undefined;
    r?.resolve();
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
    this.wake();
    this.o.onStateChange('RUNNING', this.degradedReason);
  }

  private degrade(reason: string): void {
    if (this.failed || this.stopped) return;
    this.degradedReason = `Kafka is unreachable for this task since ${new Date().toISOString()}: ${reason}. The task keeps retrying and resumes by itself.`;
    this.o.logger.warn(this.degradedReason);
    if (!this.paused) this.o.onStateChange('RUNNING', this.degradedReason);
  }

  private recover(): void {
    if (!this.degradedReason || this.failed || this.stopped) return;
    this.degradedReason = undefined;
    this.o.logger.info('Kafka is reachable again; the task resumes');
    if (!this.paused) this.o.onStateChange('RUNNING');
  }

  /**
   * Converts and transforms batches of one or several partitions (one after the other, as if each
   * went alone): everything up to the put. Conversion runs per record (synchronously unless a retry
   * is needed); each transformation step runs over all the records, in one call for steps with a
   * batch form (model scoring). When a failure is not tolerated at record k, the records before k
   * are still put and committed (in their partitions), so the restarted task resumes exactly at k.
   * Its DLQ records stay with it (sent by its put, in the same transaction as its offsets).
   * Undefined when the task failed or stopped.
   */
  private async prepareBatch(parts: readonly { topic: string; partition: number; messages: ConsumedMessage[] }[]): Promise<PreparedBatch | undefined> {
    if (this.failed || this.stopped) return undefined;
    const messages = parts.length === 1 ? parts[0]!.messages : parts.flatMap((b) => b.messages);
    const topics = parts.length === 1 ? [parts[0]!.topic] : [...new Set(parts.map((b) => b.topic))];
    for (const topic of topics) {
      this.o.onTopicSeen(topic);
      const ofTopic = topics.length === 1 ? messages : messages.filter((m) => m.topic === topic);
      try {
        if (this.o.keyConverter.prepare) await this.o.keyConverter.prepare(topic, ofTopic.map((m) => m.key));
        if (this.o.valueConverter.prepare) await this.o.valueConverter.prepare(topic, ofTopic.map((m) => m.value));
      } catch (e) {
        // A prefetch failure (e.g. registry unreachable) is reported per record by the conversion below.
        this.o.logger.debug(`converter prefetch failed: ${(e as Error).message}`);
      }
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
          let out: SinkRecord | null | undefined;
          try {
            out = stepApplies(step, current) ? t.apply(current) : current;
          } catch {
            // the error path (retries, tolerance, DLQ) runs the step again under the error handler
            try {
              let handled = eh.execute('TRANSFORMATION', step.className, messages[i]!, () => (stepApplies(step, current) ? t.apply(current) : current));
              if (handled instanceof Promise) handled = await handled;
              out = handled;
            } catch (e) {
              failAt(i, e);
              break;
            }
          }
          records[i] = out ?? null;
        }
      }
    }

    const out: SinkRecord[] = [];
    const sourceOf: number[] = [];
    for (let i = 0; i < failIndex; i++) {
      if (!records[i]) continue;
      out.push(records[i]!);
      sourceOf.push(i);
    }
    const prepared: PreparedPart[] = [];
    let start = 0;
    for (const b of parts) {
      const end = start + b.messages.length;
      const handled = Math.min(end, failIndex); // messages [start, handled) went through
      prepared.push({ topic: b.topic, partition: b.partition, firstOffset: b.messages[0]!.offset, nextOffset: handled > start ? messages[handled - 1]!.offset + 1 : undefined, start });
      start = end;
    }
    return { parts: prepared, records: out, sourceOf, dlq: eh.takePendingDlq(), failError, failPart: failError ? partOf(prepared, failIndex) : undefined };
  }

  /**
   * Puts a prepared batch (outputs, then its DLQ records) and notes its offsets; runs on the serial
   * executor. `current` (one flag per part) leaves out the parts whose partitions moved meanwhile.
   */
  private async putPrepared(b: PreparedBatch, current?: readonly boolean[]): Promise<void> {
    if (this.failed || this.stopped) return;
    let { parts, records } = b;
    // a failure in a partition that moved is its next owner's to meet
    const failError = b.failError && (!current || current[b.failPart!]) ? b.failError : undefined;
    if (current && current.some((c) => !c)) {
      const all = parts;
      records = records.filter((_r, k) => current[partOf(all, b.sourceOf[k]!)]);
      parts = parts.filter((_p, i) => current[i]);
    }
    if (this.tx) {
      for (const p of parts) {
        const k = partitionKey(p.topic, p.partition);
        if (!this.txStart.has(k)) this.txStart.set(k, { topic: p.topic, partition: p.partition, offset: p.firstOffset });
      }
    }
    if (records.length > 0) await this.putWithRetry(records);
    this.metrics.batchSent(records.length);
    await this.errorHandler.flushDlq(b.dlq);
    for (const p of parts) if (p.nextOffset !== undefined) this.putOffsets.set(partitionKey(p.topic, p.partition), { topic: p.topic, partition: p.partition, offset: p.nextOffset });
    if (failError) {
      // what was put before the failing record is flushed and committed: a restart resumes exactly at it
      await this.commitNow(true).catch((e) => this.o.logger.warn(`commit before failing the task failed: ${(e as Error).message}`));
      throw failError;
    }
  }

  /**
   * Runs the key, value and header converters for one record. The common case (all succeed)
   * allocates nothing but the record (and its headers, when it has any); a failure takes the error
   * path (retries, tolerance, DLQ), which returns a Promise only while a retry is under way.
   */
  private convert(m: ConsumedMessage): SinkRecord | null | Promise<SinkRecord | null> {
    let k: SchemaAndValue;
    let v: SchemaAndValue;
    let headers: readonly Header[] = m.headers;
    try {
      k = this.o.keyConverter.toConnectData(m.topic, m.key, m.headers);
      v = this.o.valueConverter.toConnectData(m.topic, m.value, m.headers);
      if (m.headers.length > 0) headers = headersToConnect(this.o.headerConverter, m.topic, m.headers);
    } catch {
      return this.convertWithErrorHandling(m);
    }
    return this.record(m, k, v, headers);
  }

  private record(m: ConsumedMessage, k: SchemaAndValue, v: SchemaAndValue, headers: readonly Header[]): SinkRecord {
    return {
      topic: m.topic,
      kafkaPartition: m.partition,
      kafkaOffset: m.offset,
      timestamp: m.timestamp,
      keySchema: k.schema,
      key: k.value,
      valueSchema: v.schema,
      value: v.value,
      headers,
    };
  }

  /** The conversion again, stage by stage (key, value, headers, as Connect), under the error handler (retries, tolerance, DLQ). */
  private convertWithErrorHandling(m: ConsumedMessage): SinkRecord | null | Promise<SinkRecord | null> {
    const eh = this.errorHandler;
    const o = this.o;
    const key = eh.execute('KEY_CONVERTER', o.keyConverterClass, m, () => o.keyConverter.toConnectData(m.topic, m.key, m.headers));
    const withHeaders = (k: SchemaAndValue, v: SchemaAndValue): SinkRecord | null | Promise<SinkRecord | null> => {
      if (m.headers.length === 0) return this.record(m, k, v, m.headers);
      const headers = eh.execute('HEADER_CONVERTER', o.headerConverterClass, m, () => headersToConnect(o.headerConverter, m.topic, m.headers));
      const build = (h: readonly Header[] | undefined): SinkRecord | null => (h === undefined ? null : this.record(m, k, v, h));
      return headers instanceof Promise ? headers.then(build) : build(headers);
    };
    const withKey = (k: SchemaAndValue | undefined): SinkRecord | null | Promise<SinkRecord | null> => {
      if (k === undefined) return null;
      const value = eh.execute('VALUE_CONVERTER', o.valueConverterClass, m, () => o.valueConverter.toConnectData(m.topic, m.value, m.headers));
      const next = (v: SchemaAndValue | undefined) => (v === undefined ? null : withHeaders(k, v));
      return value instanceof Promise ? value.then(next) : next(value);
    };
    return key instanceof Promise ? key.then(withKey) : withKey(key);
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
    const interval = this.o.exactlyOnce ? this.o.exactlyOnce.commitIntervalMs : this.o.offsetFlushIntervalMs;
    if (Date.now() - this.lastCommit >= interval) await this.commitNow(false);
  }

  /**
   * Exactly-once: outputs and DLQ records acknowledged, the stateful transformations' checkpoints
   * sent into the transaction, the input offsets added with the group's generation, then the
   * transaction committed. Any failure aborts it (outputs of an aborted transaction are never read
   * by read_committed readers); Kafka unreachable or busy, the task then resumes from the last
   * committed transaction by itself (see fail), any other failure fails the task.
   */
  private async commitTransaction(offsets: TopicPartitionOffset[], consumer: GroupConsumer, forget: () => void): Promise<void> {
    const tx = this.tx!;
    if (this.rollbackRequested) {
      // records of partitions this task lost are in the transaction: it must not commit
      await this.rollback();
      return;
    }
    if (this.restartRequested) return; // the task starts over from its committed state
    if (!tx.inTransaction && offsets.length === 0) return;
    try {
      await this.flushAll();
      for (const step of this.o.chain) if (step.transformation.preCommit) await step.transformation.preCommit(offsets);
      await tx.sendOffsets(consumer, offsets.filter((o) => consumer.owns(o.topic, o.partition)));
      await tx.commit();
    } catch (e) {
      this.txStats.aborts++;
      await tx.abort();
      throw e;
    }
    this.txStats.commits++;
    if (this.txStats.openedAt > 0) this.txStats.totalMs += Date.now() - this.txStats.openedAt;
    this.txStats.openedAt = 0;
    this.txStart.clear();
    forget();
  }

  /** The sink and the producer (outputs, DLQ records) make everything given to them durable. */
  private async flushAll(): Promise<void> {
    await this.task!.flush();
    await this.producer!.flush();
  }

  /**
   * Commits the offsets of everything put so far, behind its flush. Runs on the serial executor.
   * `hold` (or a stateful chain) keeps processing waiting until the commit is done; otherwise the
   * flush and commit run behind the processing, one at a time.
   */
  private async commitNow(hold: boolean): Promise<void> {
    this.lastCommit = Date.now();
    if (!this.task || !this.consumer) return;
    if (this.putOffsets.size === 0 && !this.tx?.inTransaction) return;
    const offsets = [...this.putOffsets.values()];
    const consumer = this.consumer;
    const forget = () => {
      for (const o of offsets) {
        const key = partitionKey(o.topic, o.partition);
        if (this.putOffsets.get(key) === o) this.putOffsets.delete(key);
      }
    };
    // the transaction commit runs on the serial executor: no batch adds to it meanwhile
    if (this.tx) return this.commitTransaction(offsets, consumer, forget);
    if (hold || this.statefulChain) {
      await this.committing;
      await this.flushAll();
      // Stateful transformations checkpoint after the outputs are durable and before the offsets move.
      // A checkpoint that cannot be written now (Kafka away) leaves the offsets where they are: the
      // next commit tries both again, and a restart resumes from the last complete one.
      try {
        for (const step of this.o.chain) if (step.transformation.preCommit) await step.transformation.preCommit(offsets);
      } catch (e) {
        if (!this.o.kafka.isRetriable(e)) throw e;
        this.o.logger.warn(`Checkpoint of the task's state failed; it is retried with the next commit: ${(e as Error).message}`);
        return;
      }
      try {
        await this.commitOffsets(consumer, offsets);
      } catch {
        return; // warned; the offsets stay for the next commit
      }
      forget();
      return;
    }
    if (this.committing) return; // the next tick takes the newer offsets
    this.committing = (async () => {
      try {
        await this.flushAll();
      } catch (e) {
        this.fail(e as Error, 'the flush before a commit');
        return;
      }
      await this.commitOffsets(consumer, offsets);
      forget();
    })().catch(() => undefined).finally(() => { this.committing = undefined; });
  }

  /** A failed commit is not fatal: the offsets stay and the next commit carries them (as Connect logs and goes on). */
  private async commitOffsets(consumer: GroupConsumer, offsets: TopicPartitionOffset[]): Promise<void> {
    try {
      await consumer.commit(offsets);
    } catch (e) {
      if (this.stopped || this.failed) throw e;
      this.o.logger.warn(`Commit of offsets failed; it is retried with the next commit: ${(e as Error).message}`);
      throw e;
    }
  }

  /** Marks the task FAILED with its trace and closes its clients (without committing past the failure). */
  fail(error: Error, where = 'the task'): void {
    if (this.failed || this.stopped) return;
    // Exactly-once, Kafka unreachable or busy (an outage, a coordinator moving): nothing of the open
    // transaction is visible to read_committed readers, so it is aborted and the task resumes from
    // its last committed transaction, as after a rebalance. Fencing and every other error still fail the task.
    if (this.tx && this.looping && this.o.kafka.isRetriable(error)) {
      if (!this.rollbackRequested) {
        this.o.logger.warn(`The open transaction could not be completed (${where}): ${error.message.replace(/\.+$/, '')}. It is aborted and the task resumes from its last committed offsets.`);
      }
      this.rollbackRequested ??= `Kafka failed in ${where}: ${error.message.replace(/\.+$/, '')}`;
      return;
    }
    this.failed = true;
    const trace = traceOf(error);
    this.o.logger.error(`Task threw an uncaught and unrecoverable exception in ${where}. Task is being killed and will not recover until manually restarted.`, { error: trace });
    this.o.onStateChange('FAILED', trace);
    void this.shutdown(false);
  }

  /** Orderly stop: finish the batch in progress, flush and commit what was written, leave the group, stop the sink. Idempotent. */
  stop(): Promise<void> {
    return this.shutdown(!this.failed);
  }

  private shutdown(commit: boolean): Promise<void> {
    this.stopped = true;
    this.wake();
    this.stopping ??= (async () => {
      if (this.commitTimer) clearInterval(this.commitTimer);
      const timeout = this.o.shutdownTimeoutMs ?? 30_000;
      if (commit) {
        // Let the batch in progress finish, then commit what it wrote; give up after the bound (the
        // records are then delivered again after a restart: at-least-once).
        const done = await withTimeout(this.serial.run(async () => {
          await this.committing;
          await this.commitNow(true);
        }).then(() => 'ok' as const, (e: Error) => { this.o.logger.warn(`final commit failed: ${e.message}`); return 'failed' as const; }), timeout);
        if (done === 'timeout') this.o.logger.warn(`the final flush and commit did not finish within ${timeout} ms; uncommitted records will be delivered again`);
      }
      // a transaction left open (failure, or a stop that could not commit) is aborted now rather than at its timeout
      // (bounded: the producer retries its coordinator requests for up to max.block.ms)
      if (this.tx?.inTransaction) {
        this.txStats.aborts++;
        await withTimeout(this.tx.abort().catch(() => undefined), timeout);
      }
      await this.consumer?.stop();
      if (!this.restartRequested) await this.looping?.catch(() => undefined);
      // the transactional producer too when the stop came while it was still claiming its id
      await (this.producer ?? this.tx)?.close().catch(() => undefined);
      try { await this.task?.stop(); } catch (e) { this.o.logger.warn(`task stop failed: ${(e as Error).message}`); }
      await closeChain(this.o.chain).catch(() => undefined);
      this.metrics.close();
    })();
    return this.stopping;
  }
}
