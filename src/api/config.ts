/**
 * Config definitions as metadata, shaped like Connect's ConfigDef so that they render into the
 * validate endpoint's ConfigInfos without translation.
 */

export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD';
export type Importance = 'HIGH' | 'MEDIUM' | 'LOW';
export type Width = 'NONE' | 'SHORT' | 'MEDIUM' | 'LONG';

/** Returns an error message for a bad value, or undefined when the value is fine. */
export type ConfigValidator = (value: unknown, name: string) => string | undefined;

export interface ConfigKey {
  readonly name: string;
  readonly type: ConfigType;
  /** absent → required (Connect's NO_DEFAULT_VALUE); null is a real default */
  readonly default?: unknown;
  readonly importance: Importance;
  readonly documentation: string;
  readonly group?: string;
  readonly orderInGroup?: number;
  readonly width?: Width;
  readonly displayName?: string;
  readonly validator?: ConfigValidator;
  readonly recommendedValues?: readonly string[];
  readonly dependents?: readonly string[];
}

export type ConfigDef = readonly ConfigKey[];

/** A config map as users write it: all values strings. */
export type ConfigMap = Readonly<Record<string, string>>;

/**
 * The keys of a sink that can take part in exactly-once (`processing.guarantee=exactly_once_v2`):
 * it writes to Kafka only through the task's producer (SinkTaskContext.producer), so the runtime can
 * put its output, the DLQ records, state checkpoints and the input offsets in one transaction. A
 * sink declares it by including these keys in its ConfigDef; validation refuses exactly_once_v2 for
 * every other sink.
 */
export const EXACTLY_ONCE_CONFIG_DEF: ConfigDef = [
  {
    name: 'processing.guarantee', type: 'STRING', default: 'at_least_once', importance: 'MEDIUM', group: 'Exactly once', orderInGroup: 1, width: 'MEDIUM', displayName: 'Processing guarantee',
    documentation: "at_least_once (Connect's guarantee: after a crash some records are written again) or exactly_once_v2 (Kafka Streams' name: outputs, DLQ records, state and input offsets commit in one Kafka transaction; consumers of the output read with isolation.level=read_committed).",
    recommendedValues: ['at_least_once', 'exactly_once_v2'],
    validator: (v, n) => (typeof v === 'string' && !['at_least_once', 'exactly_once_v2'].includes(v) ? `Invalid value ${v} for configuration ${n}: String must be one of: at_least_once, exactly_once_v2` : undefined),
  },
  {
    name: 'commit.interval.ms', type: 'LONG', default: 100, importance: 'LOW', group: 'Exactly once', orderInGroup: 2, width: 'SHORT', displayName: 'Commit interval',
    documentation: 'With exactly_once_v2: how often the transaction (outputs and offsets) is committed; output becomes visible to read_committed consumers at each commit (Kafka Streams uses 100 ms).',
    validator: (v, n) => (typeof v === 'number' && v < 1 ? `Invalid value ${v} for configuration ${n}: Value must be at least 1` : undefined),
  },
  {
    name: 'transaction.timeout.ms', type: 'INT', default: 60000, importance: 'LOW', group: 'Exactly once', orderInGroup: 3, width: 'SHORT', displayName: 'Transaction timeout',
    documentation: 'With exactly_once_v2: the transaction timeout given to the broker; a transaction left open longer (a task that died) is aborted by the broker.',
    validator: (v, n) => (typeof v === 'number' && v < 1000 ? `Invalid value ${v} for configuration ${n}: Value must be at least 1000` : undefined),
  },
];
