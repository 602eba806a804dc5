/**
 * The plugin contracts. Third-party plugins depend only on src/api; the runtime implements the rest.
 * Each plugin is described by a PluginDescriptor (class name, type, version, config definition,
 * factory), which is what `plugin.path` modules export.
 */
import type { ConfigDef, ConfigMap } from './config';
import type { Schema } from './data';
import type { SinkRecord } from './record';

export type PluginType = 'sink' | 'source' | 'transformation' | 'predicate' | 'converter' | 'header_converter';

export interface Logger {
  error(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  info(msg: string, extra?: Record<string, unknown>): void;
  debug(msg: string, extra?: Record<string, unknown>): void;
  /**
   * Another logger of the same worker, named `name`, whose lines carry `context` instead of this
   * logger's `[connector|task-N]` context (no context when omitted). For state a plugin shares
   * between tasks, such as a model catalog used by several connectors: its lines must not appear
   * under whichever task happened to create it.
   * @default undefined (loggers that cannot do this; fall back to the task's logger)
   */
  forContext?(name: string, context?: string): Logger;
}

/** What the runtime hands a sink task: its identity, a logger and the Kafka port it may produce to. */
export interface SinkTaskContext {
  readonly connectorName: string;
  readonly taskId: number;
  readonly logger: Logger;
  /** worker-level producer shared by the task (kafka/ port); sinks writing to Kafka use it */
  readonly producer: TaskProducer;
  /** Ask the runtime to fail this task with the given error (e.g. from a background flush). */
  failTask(error: Error): void;
  /** The connector's key, value and header converters, for sinks that write records back to Kafka. */
  readonly keyConverter: Converter;
  readonly valueConverter: Converter;
  readonly headerConverter: Converter;
}

export interface ProducedRecord {
  readonly topic: string;
  readonly partition?: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, Buffer | string>>;
  readonly timestamp?: number | null;
}

export interface TaskProducer {
  /** Sends a batch; resolves once every record is acknowledged by the broker (acks=all). */
  send(records: readonly ProducedRecord[]): Promise<void>;
  /**
   * Hands a batch to the task's producer and resolves once it is queued (waiting only while too
   * many bytes are in flight), so the next batch can be processed while this one travels. Order per
   * partition is kept. A failure surfaces in `flush()` (or the next `enqueue`).
   */
  enqueue(records: readonly ProducedRecord[]): Promise<void>;
  /** Resolves once everything enqueued so far is acknowledged (acks=all); rejects with the first failure. */
  flush(): Promise<void>;
}

/** A connector splits its config into task configs (Connect's Connector.taskConfigs). */
export interface SinkConnector {
  start(config: ConfigMap): void | Promise<void>;
  taskConfigs(maxTasks: number): ConfigMap[];
  stop(): void | Promise<void>;
  /** Extra validation beyond the config definition: key → error messages. */
  validate?(config: ConfigMap): Record<string, string[]>;
}

export interface SinkTask {
  start(config: ConfigMap, context: SinkTaskContext): void | Promise<void>;
  /** Receives a batch of converted, transformed records. May buffer; `flush` must make them durable. */
  put(records: readonly SinkRecord[]): void | Promise<void>;
  /** Make everything given to `put` durable. Offsets up to those records are committed after this resolves. */
  flush(): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** A record read back from a topic by a plugin (control topics, state topics). */
export interface PluginTopicRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly { key: string; value: Buffer | null }[];
  readonly timestamp: number | null;
}

/** Follows whole topics from the beginning (like a global table); see PluginKafka.followTopics. */
export interface TopicFollower {
  /** resolves once every record up to the end offsets seen at call time was delivered */
  readToEnd(): Promise<void>;
  /** stops following; idempotent */
  stop(): Promise<void>;
}

/** What the runtime lets plugins do with Kafka, without importing a client library. */
export interface PluginKafka {
  /** sends records, resolving when all are acknowledged (acks=all) */
  send(records: readonly ProducedRecord[]): Promise<void>;
  /** creates topics that do not exist yet (compacted when `compact`) */
  ensureTopic(topic: string, options?: { partitions?: number; replicationFactor?: number; compact?: boolean }): Promise<void>;
  /** reads topics from their beginning and keeps following them, calling `onRecord` in offset order per partition */
  followTopics(topics: readonly string[], onRecord: (r: PluginTopicRecord) => void): TopicFollower;
  /**
   * Reads one partition once, from `options.from` (default: its start) up to its end offset when
   * the call starts: `onRecords` gets each fetch's records in offset order and is awaited before
   * more is fetched; returning false stops the read. A missing topic reads as empty. (Model
   * artifacts stored in chunks are read this way; absent where the runtime offers no such read.)
   */
  readPartition?(topic: string, partition: number, onRecords: (records: readonly PluginTopicRecord[]) => boolean | void | Promise<boolean | void>, options?: { from?: number; idleTimeoutMs?: number }): Promise<void>;
}

/** Given to transformations that need more than their config (model scoring, online learning). */
export interface TransformationContext {
  readonly connectorName: string;
  readonly taskId: number;
  readonly workerId: string;
  readonly logger: Logger;
  readonly kafka: PluginKafka;
  /** worker-level settings a plugin may need, e.g. `kappa.` keys, bootstrap servers */
  readonly workerConfig: Readonly<Record<string, string>>;
  /** report a problem visible in the task's status without failing it (e.g. a refused model) */
  reportWarning(message: string): void;
}

export interface Transformation {
  configure(config: ConfigMap): void;
  /** Called once after configure, before any record, for transformations that need I/O (await it). */
  open?(context: TransformationContext): Promise<void>;
  /**
   * Called before the task commits offsets: `offsets` are the next offsets per partition about to be
   * committed. Stateful transformations persist their state here, so state and offsets move together.
   */
  preCommit?(offsets: readonly { topic: string; partition: number; offset: number }[]): Promise<void>;
  /** Returns the transformed record, or null to drop it. Must not mutate its input. */
  apply(record: SinkRecord): SinkRecord | null;
  /**
   * Optional batch form: transforms that gain from seeing a whole batch (model scoring) implement it.
   * Entries map 1:1 to the input; null drops; an Error marks that record as failed in this stage.
   */
  applyBatch?(records: readonly SinkRecord[]): Promise<(SinkRecord | null | Error)[]>;
  close(): void | Promise<void>;
}

export interface Predicate {
  configure(config: ConfigMap): void;
  test(record: SinkRecord): boolean;
  close(): void;
}

export interface SchemaAndValue {
  readonly schema: Schema | null;
  readonly value: unknown;
}

export interface Converter {
  /** `isKey` mirrors Connect's configure(configs, isKey); config has the prefix stripped. */
  configure(config: ConfigMap, isKey: boolean): void | Promise<void>;
  toConnectData(topic: string, bytes: Buffer | null, headers?: readonly { key: string; value: Buffer | null }[]): SchemaAndValue;
  fromConnectData(topic: string, schema: Schema | null, value: unknown): Buffer | null;
  /**
   * Header converters (Connect's HeaderConverter) may read and write headers differently from
   * values; without these methods, a converter used for headers reads and writes them as values.
   */
  toConnectHeader?(topic: string, headerKey: string, bytes: Buffer | null): SchemaAndValue;
  fromConnectHeader?(topic: string, headerKey: string, schema: Schema | null, value: unknown): Buffer | null;
  /** Converters that need I/O before decoding (schema registry lookups) prefetch here, per batch. */
  prepare?(topic: string, batch: readonly (Buffer | null)[]): Promise<void>;
  /** Converters that need I/O before encoding (schema registration) prepare here, per batch. */
  prepareEncode?(topic: string, schemas: readonly (Schema | null)[]): Promise<void>;
  close?(): void | Promise<void>;
}

interface PluginDescriptorBase<TType extends PluginType, TInstance> {
  /** fully qualified class name as Connect users write it */
  readonly className: string;
  readonly type: TType;
  readonly version: string;
  /** additional names this plugin answers to (besides Connect's simple-name rules) */
  readonly aliases?: readonly string[];
  readonly configDef: ConfigDef;
  create(): TInstance;
}

export interface SinkConnectorDescriptor extends PluginDescriptorBase<'sink', SinkConnector> {
  /** the class name reported for tasks (`task.class`) */
  readonly taskClassName: string;
  createTask(): SinkTask;
}
export type TransformationDescriptor = PluginDescriptorBase<'transformation', Transformation>;
export type PredicateDescriptor = PluginDescriptorBase<'predicate', Predicate>;
export type ConverterDescriptor = PluginDescriptorBase<'converter' | 'header_converter', Converter>;

export type PluginDescriptor =
  | SinkConnectorDescriptor
  | TransformationDescriptor
  | PredicateDescriptor
  | ConverterDescriptor;
