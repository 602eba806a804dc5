/**
 * `io.kappa.connect.ml.Learn` (alias `Learn`): an SMT that predicts on unlabeled events and learns
 * when their labels arrive, with its state in a compacted Kafka topic checkpointed together with
 * the consumer offsets. See docs/online-learning.md for the record formats and the guarantees.
 *
 * Durability: in `preCommit` (the runtime calls it right before committing offsets) the changes of
 * the pending store since the last checkpoint and one `checkpoint` record (learner, metrics,
 * counters, per-partition positions, epoch) are sent to the state topic in one batch. On `open`,
 * the topic is read back: the last checkpoint wins, pending entries written with a later epoch
 * (an interrupted checkpoint) are ignored and rewritten, and records below the checkpointed
 * positions (already reflected in the state) are skipped when they are delivered again, so each
 * label is learned exactly once.
 */
import {
  ConfigException, Struct,
  type ConfigDef, type ConfigMap, headerText, type Logger, type PluginKafka, type ProducedRecord, type SinkRecord,
  type Transformation, type TransformationContext, type TransformationDescriptor,
} from '../../api';
import { BUILTIN_PLUGIN_VERSION } from '../../api/version';
import { parseConfigOrThrow, type ParsedConfig } from '../../config/parse';
import { LearnEngine, type DriftNotice, type EngineState, type PendingEntry, type LearnOutcome, type StoreChange } from './engine';
import { resolveConfig } from './learner';
import { resolveDriftConfig, type DriftConfig, type DriftStatus } from './drift/adaptive';
import { buildModelVersionMessage, sanitizeModelId, type LinearModelVersion } from './model-message';
import { learnerRegistry, type LearnerHandle } from './registry';
import type { Algorithm, BiasMode, CovarianceMode, Label, LearnerConfig, MulticlassMode, Prediction, Task } from './types';

export const LEARN_CLASS = 'io.kappa.connect.ml.Learn';
export const CHECKPOINT_KEY = 'checkpoint';
export const PENDING_PREFIX = 'pending/';
export const EPOCH_HEADER = 'kappa.epoch';

const str = (name: string, def: string | null, doc: string, importance: 'HIGH' | 'MEDIUM' | 'LOW' = 'MEDIUM') =>
  ({ name, type: 'STRING' as const, default: def, importance, documentation: doc });
const oneOf = (...allowed: string[]) => (value: unknown, name: string) =>
  typeof value === 'string' && value !== '' && !allowed.includes(value) ? `Invalid value ${value} for configuration ${name}: String must be one of: ${allowed.join(', ')}` : undefined;
const atLeast = (min: number) => (value: unknown, name: string) =>
  typeof value === 'number' && value < min ? `Invalid value ${value} for configuration ${name}: Value must be at least ${min}` : undefined;

export const learnConfigDef: ConfigDef = [
  { ...str('algorithm', 'pa-i', 'Learner: perceptron, pa, pa-i, pa-ii, arow, scw-i, scw-ii.', 'HIGH'), validator: oneOf('perceptron', 'pa', 'pa-i', 'pa-ii', 'arow', 'scw-i', 'scw-ii') },
  { ...str('task', '', 'binary, multiclass or regression; empty: binary with 2 classes, multiclass with more.', 'HIGH'), validator: oneOf('binary', 'multiclass', 'regression') },
  { name: 'classes', type: 'LIST', default: '0,1', importance: 'HIGH', documentation: 'Class labels (classification); for binary the second is the positive class. All-numeric lists are numbers.' },
  { name: 'features', type: 'LIST', default: '', importance: 'HIGH', documentation: 'Names of the numeric feature fields, in order. Alternative: features.field.' },
  str('features.field', '', 'A field holding the feature vector as an array of numbers (with n.features).'),
  { name: 'n.features', type: 'INT', default: 0, importance: 'MEDIUM', documentation: 'Length of the vector in features.field.', validator: atLeast(0) },
  str('id.field', 'id', 'Field with the event id that joins an event and its feedback; empty: the record key.', 'HIGH'),
  str('label.field', 'label', 'Field with the label (feedback records).', 'HIGH'),
  { ...str('feedback.by', 'field', 'How a record is told to be feedback: field (label field present and not null), header (feedback.header present and not "false"), topic (record topic in feedback.topics).'), validator: oneOf('field', 'header', 'topic') },
  str('feedback.header', 'kappa.feedback', 'Header marking feedback records (feedback.by=header).'),
  { name: 'feedback.topics', type: 'LIST', default: '', importance: 'MEDIUM', documentation: 'Topics carrying feedback (feedback.by=topic).' },
  { name: 'C', type: 'DOUBLE', default: null, importance: 'LOW', documentation: 'Aggressiveness (PA-I/II, SCW-I/II); default 1.' },
  { name: 'epsilon', type: 'DOUBLE', default: null, importance: 'LOW', documentation: 'Insensitivity of the regression loss; default 0.1.' },
  { name: 'eta', type: 'DOUBLE', default: null, importance: 'LOW', documentation: 'SCW confidence; default 0.75 (0.9 for binary SCW-II).' },
  { name: 'r', type: 'DOUBLE', default: null, importance: 'LOW', documentation: 'AROW regulariser; default 1.' },
  { name: 'a', type: 'DOUBLE', default: null, importance: 'LOW', documentation: 'Initial covariance a·I (AROW/SCW); default 1.' },
  { ...str('bias', '', 'intercept, feature or none; default intercept for PA/perceptron, feature for AROW/SCW.', 'LOW'), validator: oneOf('intercept', 'feature', 'none') },
  { ...str('multiclass', '', 'max-score or ovr; default max-score. scikit-learn parity (PassiveAggressiveClassifier) on multiclass data needs ovr.', 'LOW'), validator: oneOf('max-score', 'ovr') },
  { ...str('covariance', '', 'full or diagonal (AROW/SCW); default full.', 'LOW'), validator: oneOf('full', 'diagonal') },
  { ...str('standardize', 'false', 'Online z-score: false, true (= before), before, include.', 'LOW'), validator: oneOf('false', 'true', 'before', 'include') },
  { name: 'store.max.events', type: 'INT', default: 100000, importance: 'MEDIUM', documentation: 'Most pending entries (events waiting for a label plus early labels); the oldest is evicted beyond.', validator: atLeast(1) },
  { name: 'store.ttl.ms', type: 'LONG', default: 3600000, importance: 'MEDIUM', documentation: 'Pending entries expire this long (in record-timestamp time) after their record; 0 = never.', validator: atLeast(0) },
  { name: 'metrics.window', type: 'INT', default: 200, importance: 'LOW', documentation: 'Sliding window of the windowed metrics (labels).', validator: atLeast(0) },
  { name: 'emit.feedback', type: 'BOOLEAN', default: false, importance: 'MEDIUM', documentation: 'Emit a record per learned label (served and corrected prediction, loss); else feedback records are dropped.' },
  str('prediction.field', 'prediction', 'Field added to emitted events with the prediction.'),
  str('score.field', 'score', 'Field added with the decision value(s); empty to leave out.'),
  { name: 'state.enabled', type: 'BOOLEAN', default: true, importance: 'MEDIUM', documentation: 'Keep the learner and pending store in a compacted topic, checkpointed with the offsets.' },
  str('state.topic', '', 'Compacted state topic; default kappa-learner-<connector>.'),
  str('metrics.topic', 'kappa-learner-metrics', 'Topic that gets a metrics record at each checkpoint; empty to disable.'),
  str('model.topic', 'kappa-models', 'Model-control topic for published linear model versions; empty to disable.'),
  str('model.id', '', 'Model id of published versions; default the connector name.'),
  { name: 'publish.every.updates', type: 'INT', default: 1000, importance: 'MEDIUM', documentation: 'Publish the weights every N learned labels; 0 = only on demand (REST).', validator: atLeast(0) },
  { ...str('drift.detector', 'none', 'Drift detector fed the learner\'s prequential error: none, adwin, ddm (classification only) or page_hinkley. Recommended for AROW/SCW: adwin (delta 0.002) with drift.action=inflate.'), validator: oneOf('none', 'adwin', 'ddm', 'page_hinkley') },
  { ...str('drift.action', '', 'What a detected drift does: none, reset (a fresh learner), inflate (AROW/SCW: covariance back to a·I, means kept), background (a fresh learner trains from the warning or detection on and takes over when it is more accurate). Default: none without a detector, else inflate for AROW/SCW and reset for the others.'), validator: oneOf('none', 'reset', 'inflate', 'background') },
  { name: 'drift.adwin.delta', type: 'DOUBLE', default: 0.002, importance: 'LOW', documentation: 'ADWIN confidence δ (0 < δ < 1): smaller means fewer false alarms and later detection.' },
  { name: 'drift.ddm.warning.level', type: 'DOUBLE', default: 2, importance: 'LOW', documentation: 'DDM warning when p + s >= p_min + level · s_min.' },
  { name: 'drift.ddm.drift.level', type: 'DOUBLE', default: 3, importance: 'LOW', documentation: 'DDM drift when p + s >= p_min + level · s_min.' },
  { name: 'drift.ddm.min.instances', type: 'INT', default: 30, importance: 'LOW', documentation: 'Labels DDM sees before it tests.', validator: atLeast(1) },
  { name: 'drift.ph.delta', type: 'DOUBLE', default: 0.005, importance: 'LOW', documentation: 'Page-Hinkley δ: the rise of the error tolerated.' },
  { name: 'drift.ph.threshold', type: 'DOUBLE', default: 50, importance: 'LOW', documentation: 'Page-Hinkley λ: a drift when the cumulative rise exceeds it.' },
  { name: 'drift.ph.alpha', type: 'DOUBLE', default: 0.9999, importance: 'LOW', documentation: 'Page-Hinkley fading factor of the cumulative sum (1 = no fading).' },
  { name: 'drift.ph.min.instances', type: 'INT', default: 30, importance: 'LOW', documentation: 'Labels Page-Hinkley sees before it tests.', validator: atLeast(1) },
  { name: 'drift.inflate.mean.scale', type: 'DOUBLE', default: 1, importance: 'LOW', documentation: 'drift.action=inflate: the means are multiplied by this (1 keeps them, 0 forgets them).' },
  { name: 'drift.background.window', type: 'INT', default: 100, importance: 'LOW', documentation: 'drift.action=background: labels over which the background learner must beat the foreground.', validator: atLeast(1) },
  str('drift.topic', '', 'Topic that gets a JSON record per detected warning and drift; empty to disable.'),
];

interface Settings {
  learner: LearnerConfig;
  features: string[];
  featuresField: string;
  nFeatures: number;
  idField: string;
  labelField: string;
  feedbackBy: 'field' | 'header' | 'topic';
  feedbackHeader: string;
  feedbackTopics: Set<string>;
  maxPending: number;
  ttlMs: number;
  window: number;
  emitFeedback: boolean;
  predictionField: string;
  scoreField: string;
  stateEnabled: boolean;
  stateTopic: string;
  metricsTopic: string;
  modelTopic: string;
  modelId: string;
  publishEvery: number;
  drift: DriftConfig;
  driftTopic: string;
}

function parseClasses(list: string[]): Label[] {
  const numeric = list.length > 0 && list.every((s) => s.trim() !== '' && Number.isFinite(Number(s)));
  return numeric ? list.map(Number) : list;
}

export function parseLearnSettings(config: ConfigMap): Settings {
  const c: ParsedConfig = parseConfigOrThrow(learnConfigDef, config);
  const features = (c['features'] as string[]).filter((s) => s !== '');
  const featuresField = c['features.field'] as string;
  let nFeatures: number;
  if (featuresField) {
    if (features.length > 0) throw new ConfigException('Set either features or features.field, not both');
    nFeatures = c['n.features'] as number;
    if (!(nFeatures > 0)) throw new ConfigException('n.features must be set (> 0) with features.field');
  } else {
    if (features.length === 0) throw new ConfigException('Missing configuration: features (a list of numeric fields) or features.field');
    nFeatures = features.length;
  }
  const classes = parseClasses(c['classes'] as string[]);
  let task = (c['task'] as string) as Task | '';
  if (task === '') task = classes.length > 2 ? 'multiclass' : 'binary';
  if (task !== 'regression' && classes.length < 2) throw new ConfigException('classes needs at least two labels');
  const std = c['standardize'] as string;
  const learner: LearnerConfig = {
    algorithm: c['algorithm'] as Algorithm,
    task,
    nFeatures,
    classes: task === 'regression' ? undefined : classes,
    ...(c['C'] !== null ? { C: c['C'] as number } : {}),
    ...(c['epsilon'] !== null ? { epsilon: c['epsilon'] as number } : {}),
    ...(c['eta'] !== null ? { eta: c['eta'] as number } : {}),
    ...(c['r'] !== null ? { r: c['r'] as number } : {}),
    ...(c['a'] !== null ? { a: c['a'] as number } : {}),
    ...(c['bias'] ? { bias: c['bias'] as BiasMode } : {}),
    ...(c['multiclass'] ? { multiclass: c['multiclass'] as MulticlassMode } : {}),
    ...(c['covariance'] ? { covariance: c['covariance'] as CovarianceMode } : {}),
    standardize: std === 'false' ? false : std === 'true' ? true : (std as 'before' | 'include'),
  };
  try {
    resolveConfig(learner);
  } catch (e) {
    throw new ConfigException(`Invalid learner configuration: ${(e as Error).message}`);
  }
  const detector = c['drift.detector'] as DriftConfig['detector'];
  const cw = learner.algorithm === 'arow' || learner.algorithm === 'scw-i' || learner.algorithm === 'scw-ii';
  const drift: DriftConfig = {
    detector,
    action: (c['drift.action'] as DriftConfig['action'] | '') || (detector === 'none' ? 'none' : cw ? 'inflate' : 'reset'),
    adwin: { delta: c['drift.adwin.delta'] as number },
    ddm: { warningLevel: c['drift.ddm.warning.level'] as number, driftLevel: c['drift.ddm.drift.level'] as number, minInstances: c['drift.ddm.min.instances'] as number },
    pageHinkley: { delta: c['drift.ph.delta'] as number, threshold: c['drift.ph.threshold'] as number, alpha: c['drift.ph.alpha'] as number, minInstances: c['drift.ph.min.instances'] as number },
    inflateMeanScale: c['drift.inflate.mean.scale'] as number,
    backgroundWindow: c['drift.background.window'] as number,
  };
  try {
    resolveDriftConfig(drift, resolveConfig(learner));
  } catch (e) {
    throw new ConfigException(`Invalid drift configuration: ${(e as Error).message}`);
  }
  const feedbackBy = c['feedback.by'] as Settings['feedbackBy'];
  const feedbackTopics = new Set((c['feedback.topics'] as string[]).filter((s) => s !== ''));
  if (feedbackBy === 'topic' && feedbackTopics.size === 0) throw new ConfigException('feedback.by=topic needs feedback.topics');
  return {
    learner,
    features,
    featuresField,
    nFeatures,
    idField: c['id.field'] as string,
    labelField: c['label.field'] as string,
    feedbackBy,
    feedbackHeader: c['feedback.header'] as string,
    feedbackTopics,
    maxPending: c['store.max.events'] as number,
    ttlMs: c['store.ttl.ms'] as number,
    window: c['metrics.window'] as number,
    emitFeedback: c['emit.feedback'] as boolean,
    predictionField: c['prediction.field'] as string,
    scoreField: c['score.field'] as string,
    stateEnabled: c['state.enabled'] as boolean,
    stateTopic: c['state.topic'] as string,
    metricsTopic: c['metrics.topic'] as string,
    modelTopic: c['model.topic'] as string,
    modelId: c['model.id'] as string,
    publishEvery: c['publish.every.updates'] as number,
    drift,
    driftTopic: c['drift.topic'] as string,
  };
}

/** The checkpoint record's value on the state topic. */
export interface LearnCheckpoint {
  format: 'kappa-learn-checkpoint';
  version: 1;
  epoch: number;
  connector: string;
  task: number;
  /** next offset per partition: everything before it is reflected in `engine` */
  offsets: { topic: string; partition: number; offset: number }[];
  engine: EngineState;
  published: { version: number; sha256: string } | null;
}

function fieldOf(value: unknown, name: string): unknown {
  if (value instanceof Struct) return value.values[name] ?? null;
  if (value && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value)) return (value as Record<string, unknown>)[name];
  return undefined;
}


function asPlainMap(value: unknown): Record<string, unknown> {
  if (value instanceof Struct) return { ...value.values };
  if (value && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value)) return { ...(value as Record<string, unknown>) };
  return { value };
}

function idText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return JSON.stringify(v);
}

const posKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class LearnTransform implements Transformation {
  private s!: Settings;
  private engine!: LearnEngine;
  private ctx?: TransformationContext;
  private log?: Logger;
  private kafka?: PluginKafka;
  private connector = 'standalone';
  private taskId = 0;
  /** next offset per partition reflected in the engine (restored, then advanced per record) */
  private readonly positions = new Map<string, { topic: string; partition: number; offset: number }>();
  private epoch = 0;
  /** the highest epoch ever written, even by a checkpoint that failed half-way (never reused) */
  private lastEpochWritten = 0;
  /** store changes of a checkpoint that failed: sent again with the next one */
  private unsentChanges: StoreChange[] = [];
  private changedSinceCheckpoint = false;
  private lastCheckpoint: { epoch: number; at: number; offsets: number } | null = null;
  private published: { version: number; sha256: string } | null = null;
  private lastPublishedAt: number | null = null;
  private publishedCount = 0;
  private skippedReplayed = 0;
  private invalidRecords = 0;
  private restoredFrom: { epoch: number; pending: number; orphans: number } | null = null;
  private handle?: LearnerHandle;
  /** drift records waiting for the checkpoint that covers their labels (then sent to drift.topic) */
  private driftRecords: ProducedRecord[] = [];
  private publishing: Promise<unknown> = Promise.resolve();

  configure(config: ConfigMap): void {
    this.s = parseLearnSettings(config);
    this.engine = new LearnEngine(this.engineOptions());
  }

  private engineOptions() {
    return { learner: this.s.learner, window: this.s.window, maxPending: this.s.maxPending, ttlMs: this.s.ttlMs, drift: this.s.drift };
  }

  get stateTopic(): string {
    return this.s.stateTopic || `kappa-learner-${this.connector}`;
  }

  get modelId(): string {
    return sanitizeModelId(this.s.modelId || this.connector);
  }

  async open(context: TransformationContext): Promise<void> {
    this.ctx = context;
    this.log = context.logger;
    this.kafka = context.kafka;
    this.connector = context.connectorName;
    this.taskId = context.taskId;
    if (this.taskId > 0) {
      context.reportWarning(`${LEARN_CLASS} keeps one model per connector: run it with tasks.max=1 (task ${this.taskId} learns on its own state topic ${this.stateTopic})`);
    }
    if (this.s.stateEnabled) {
      await context.kafka.ensureTopic(this.stateTopic, { partitions: 1, compact: true });
      await this.restore(context.kafka);
    }
    if (this.s.metricsTopic) await context.kafka.ensureTopic(this.s.metricsTopic, { partitions: 1 });
    if (this.s.modelTopic) await context.kafka.ensureTopic(this.s.modelTopic, { partitions: 1 });
    if (this.s.driftTopic) await context.kafka.ensureTopic(this.s.driftTopic, { partitions: 1 });
    this.handle = {
      connector: this.connector,
      taskId: this.taskId,
      status: () => this.status(),
      model: () => this.engine.learner.toLinearModel(),
      publish: () => this.publishNow(),
      drift: () => this.driftStatus(),
    };
    learnerRegistry.register(this.handle);
  }

  /** Reads the state topic back; see the file comment. */
  private async restore(kafka: PluginKafka): Promise<void> {
    const topic = this.stateTopic;
    let checkpoint: LearnCheckpoint | null = null;
    const pending = new Map<string, { epoch: number; entry: PendingEntry | null }[]>();
    let maxEpoch = 0;
    const follower = kafka.followTopics([topic], (r) => {
      const key = r.key?.toString('utf8') ?? '';
      if (key === CHECKPOINT_KEY) {
        if (!r.value) return;
        const cp = JSON.parse(r.value.toString('utf8')) as LearnCheckpoint;
        if (cp.format !== 'kappa-learn-checkpoint' || cp.version !== 1) throw new Error(`unknown checkpoint format in ${topic}`);
        checkpoint = cp;
        maxEpoch = Math.max(maxEpoch, cp.epoch);
      } else if (key.startsWith(PENDING_PREFIX)) {
        const id = key.slice(PENDING_PREFIX.length);
        const eh = r.headers.find((h) => h.key === EPOCH_HEADER);
        const epoch = eh?.value ? Number(eh.value.toString('utf8')) : 0;
        maxEpoch = Math.max(maxEpoch, epoch);
        const list = pending.get(id) ?? [];
        list.push({ epoch, entry: r.value ? (JSON.parse(r.value.toString('utf8')) as PendingEntry) : null });
        pending.set(id, list);
      }
    });
    try {
      await follower.readToEnd();
    } finally {
      await follower.stop();
    }
    const cp = checkpoint as LearnCheckpoint | null;
    this.epoch = maxEpoch;
    this.lastEpochWritten = Math.max(this.lastEpochWritten, maxEpoch);
    if (!cp) {
      // Nothing committed: pending records (if any) belong to an interrupted first checkpoint.
      if (pending.size > 0) this.engine.markStale(pending.keys());
      this.restoredFrom = { epoch: 0, pending: 0, orphans: pending.size };
      if (pending.size > 0) await this.checkpoint();
      return;
    }
    const configured = JSON.stringify(resolveConfig(this.s.learner));
    const stored = JSON.stringify(cp.engine.learner.config);
    if (configured !== stored) {
      throw new ConfigException(
        `The learner state in ${topic} was made with a different learner configuration (${stored}) than configured (${configured}). ` +
          'Delete the state topic or set transforms.<alias>.state.topic to a new topic to start over.',
      );
    }
    this.engine = new LearnEngine(this.engineOptions(), cp.engine);
    const entries: [string, PendingEntry][] = [];
    const stale: string[] = [];
    for (const [id, list] of pending) {
      let committed: PendingEntry | null = null;
      let orphan = false;
      for (const rec of list) {
        if (rec.epoch <= cp.epoch) committed = rec.entry;
        else orphan = true;
      }
      if (committed) entries.push([id, committed]);
      if (orphan) stale.push(id);
    }
    this.engine.restoreEntries(entries);
    this.engine.markStale(stale);
    for (const o of cp.offsets) this.positions.set(posKey(o.topic, o.partition), { ...o });
    this.published = cp.published;
    this.lastCheckpoint = { epoch: cp.epoch, at: Date.now(), offsets: cp.offsets.length };
    this.restoredFrom = { epoch: cp.epoch, pending: entries.length, orphans: stale.length };
    this.log?.info(`restored learner from ${topic}: epoch ${cp.epoch}, ${this.engine.counters.learned} labels learned, ${entries.length} pending, ${stale.length} interrupted writes repaired`);
    if (stale.length > 0) await this.checkpoint();
  }

  apply(record: SinkRecord): SinkRecord | null {
    const out = this.handleRecord(record);
    if (out instanceof Error) throw out;
    return out;
  }

  async applyBatch(records: readonly SinkRecord[]): Promise<(SinkRecord | null | Error)[]> {
    const before = this.engine.counters.learned;
    const out = records.map((r) => this.handleRecord(r));
    const after = this.engine.counters.learned;
    const n = this.s.publishEvery;
    if (n > 0 && this.s.modelTopic && this.kafka && Math.floor(after / n) > Math.floor(before / n)) {
      // publication is a side effect: it never holds up or fails the records (Kafka away: the next one tries again)
      this.publishNow().catch((e: Error) => this.log?.warn(`could not publish the model of ${this.connector}: ${e.message}; the next publication tries again`));
    }
    return out;
  }

  private isFeedback(r: SinkRecord): boolean {
    switch (this.s.feedbackBy) {
      case 'topic':
        return this.s.feedbackTopics.has(r.topic);
      case 'header': {
        const h = r.headers.find((x) => x.key === this.s.feedbackHeader);
        if (!h) return false;
        const t = headerText(h)?.trim().toLowerCase();
        return t !== 'false' && t !== '0';
      }
      default: {
        const v = fieldOf(r.value, this.s.labelField);
        return v !== undefined && v !== null;
      }
    }
  }

  /** The feature vector of a record, or null when (some) features are missing; throws on non-numbers. */
  private features(value: unknown): Float64Array | null {
    const s = this.s;
    const x = new Float64Array(s.nFeatures);
    if (s.featuresField) {
      const arr = fieldOf(value, s.featuresField);
      if (arr === undefined || arr === null) return null;
      if (!Array.isArray(arr)) throw new Error(`field ${s.featuresField} must be an array of ${s.nFeatures} numbers`);
      if (arr.length !== s.nFeatures) throw new Error(`field ${s.featuresField} has ${arr.length} values, expected ${s.nFeatures}`);
      for (let i = 0; i < arr.length; i++) x[i] = num(arr[i], `${s.featuresField}[${i}]`);
      return x;
    }
    let missing = 0;
    for (let i = 0; i < s.features.length; i++) {
      const v = fieldOf(value, s.features[i]!);
      if (v === undefined || v === null) { missing++; continue; }
      x[i] = num(v, s.features[i]!);
    }
    if (missing === 0) return x;
    if (missing === s.features.length) return null;
    throw new Error(`missing feature fields: ${s.features.filter((f) => fieldOf(value, f) == null).join(', ')}`);
  }

  private handleRecord(r: SinkRecord): SinkRecord | null | Error {
    const pk = posKey(r.topic, r.kafkaPartition);
    const pos = this.positions.get(pk);
    if (pos && r.kafkaOffset < pos.offset) {
      this.skippedReplayed++;
      return null; // reflected in the restored state already
    }
    let result: SinkRecord | null;
    try {
      result = this.process(r);
    } catch (e) {
      // Nothing changed in the engine (it validates before it mutates): the record goes the error path.
      this.invalidRecords++;
      return e instanceof Error ? e : new Error(String(e));
    }
    this.positions.set(pk, { topic: r.topic, partition: r.kafkaPartition, offset: r.kafkaOffset + 1 });
    this.changedSinceCheckpoint = true;
    return result;
  }

  private process(r: SinkRecord): SinkRecord | null {
    const s = this.s;
    const id = idText(s.idField ? fieldOf(r.value, s.idField) : r.key);
    if (id === null) throw new Error(`record has no event id (${s.idField ? `field ${s.idField}` : 'key'})`);
    if (this.isFeedback(r)) {
      const label = fieldOf(r.value, s.labelField);
      if (label === undefined || label === null) throw new Error(`feedback record for ${id} has no ${s.labelField}`);
      const x = this.features(r.value);
      const outcome = this.engine.onFeedback(id, label, x, r.timestamp);
      if (outcome.status === 'learned' && outcome.drift) this.noteDrift(r, outcome.drift);
      if (!s.emitFeedback || outcome.status !== 'learned') return null;
      return this.feedbackRecord(r, id, outcome);
    }
    const x = this.features(r.value);
    if (!x) throw new Error(`event ${id} has no features`);
    const outcome = this.engine.onEvent(id, x, r.timestamp);
    if (outcome.learned?.drift) this.noteDrift(r, outcome.learned.drift);
    const value = asPlainMap(r.value);
    value[s.predictionField] = this.predictionValue(outcome.prediction);
    if (s.scoreField) value[s.scoreField] = this.scoreValue(outcome.prediction);
    return { ...r, valueSchema: null, value };
  }

  /** Queues the drift record of a warning or drift raised by the label in record `r`. */
  private noteDrift(r: SinkRecord, d: DriftNotice): void {
    if (d.kind === 'drift') {
      this.log?.info(`${this.connector} task ${this.taskId}: ${d.detector} detected a drift at label ${d.event}; action ${d.action}`);
    }
    if (!this.s.driftTopic) return;
    const regression = this.engine.config.task === 'regression';
    const value = {
      connector: this.connector,
      task: this.taskId,
      learner: `${this.connector}/${this.taskId}`,
      topic: r.topic,
      partition: r.kafkaPartition,
      offset: r.kafkaOffset,
      algorithm: this.engine.config.algorithm,
      detector: d.detector,
      kind: d.kind,
      event: d.event,
      time: d.time,
      action: d.action,
      window: this.s.window,
      [regression ? 'windowedMaeBefore' : 'windowedAccuracyBefore']: d.windowedBefore,
    };
    this.driftRecords.push({ topic: this.s.driftTopic, key: Buffer.from(this.connector, 'utf8'), value: Buffer.from(JSON.stringify(value), 'utf8') });
  }

  /**
   * Sends the queued drift records. They wait for the checkpoint that covers their labels: records
   * replayed after a crash raise the same drifts again (the learner is deterministic), and sending
   * only what a checkpoint covers keeps them from being sent twice.
   */
  private async flushDriftRecords(): Promise<void> {
    if (this.driftRecords.length === 0 || !this.kafka) return;
    const batch = this.driftRecords;
    try {
      await this.kafka.send(batch);
      this.driftRecords = this.driftRecords.slice(batch.length);
    } catch (e) {
      this.log?.warn(`could not write ${batch.length} drift records to ${this.s.driftTopic}: ${(e as Error).message}; the next commit tries again`);
    }
  }

  private predictionValue(p: Prediction): Label {
    return this.engine.config.task === 'regression' ? (p.value as number) : (p.label as Label);
  }

  private scoreValue(p: Prediction): number | number[] {
    return this.engine.config.task === 'multiclass' ? p.scores : (p.scores[0] as number);
  }

  private feedbackRecord(r: SinkRecord, id: string, o: LearnOutcome): SinkRecord {
    const value: Record<string, unknown> = {
      id,
      label: o.label,
      served: o.served,
      [this.s.predictionField]: this.predictionValue(o.corrected),
      loss: o.loss,
      mistake: o.mistake,
      updated: o.updated,
      source: o.source,
      learned: this.engine.counters.learned,
    };
    if (this.s.scoreField) value[this.s.scoreField] = this.scoreValue(o.corrected);
    return { ...r, valueSchema: null, value };
  }

  async preCommit(offsets: readonly { topic: string; partition: number; offset: number }[]): Promise<void> {
    if (!this.kafka) return;
    if (this.s.stateEnabled) await this.checkpointIfChanged(offsets);
    await this.flushDriftRecords();
  }

  private async checkpointIfChanged(offsets: readonly { topic: string; partition: number; offset: number }[]): Promise<void> {
    for (const o of offsets) {
      const k = posKey(o.topic, o.partition);
      const cur = this.positions.get(k);
      // records before o.offset that never reached this step (predicates, earlier drops) are done too
      if (!cur || cur.offset < o.offset) {
        this.positions.set(k, { ...o });
        this.changedSinceCheckpoint = true;
      }
    }
    if (!this.changedSinceCheckpoint && !this.engine.hasChanges && this.unsentChanges.length === 0) return;
    await this.publishing.catch(() => undefined);
    await this.checkpoint();
  }

  /** Writes the store changes and a checkpoint record in one batch; then a metrics record. */
  private async checkpoint(): Promise<void> {
    const kafka = this.kafka!;
    // A failed checkpoint may have written part of its records: the next one uses a higher epoch
    // (so those never pass for a complete checkpoint) and sends the changes again.
    const epoch = Math.max(this.epoch, this.lastEpochWritten) + 1;
    this.lastEpochWritten = epoch;
    const epochHeader = { [EPOCH_HEADER]: String(epoch) };
    const records: ProducedRecord[] = [];
    const changes = mergeChanges(this.unsentChanges, this.engine.drainChanges());
    this.unsentChanges = changes;
    for (const ch of changes) {
      records.push({
        topic: this.stateTopic,
        partition: 0,
        key: Buffer.from(PENDING_PREFIX + ch.id, 'utf8'),
        value: ch.entry ? Buffer.from(JSON.stringify(ch.entry), 'utf8') : null,
        headers: epochHeader,
      });
    }
    const offsets = [...this.positions.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    const cp: LearnCheckpoint = {
      format: 'kappa-learn-checkpoint',
      version: 1,
      epoch,
      connector: this.connector,
      task: this.taskId,
      offsets,
      engine: this.engine.toState(),
      published: this.published,
    };
    records.push({ topic: this.stateTopic, partition: 0, key: Buffer.from(CHECKPOINT_KEY), value: Buffer.from(JSON.stringify(cp), 'utf8'), headers: epochHeader });
    await kafka.send(records);
    this.unsentChanges = [];
    this.epoch = epoch;
    this.changedSinceCheckpoint = false;
    this.lastCheckpoint = { epoch, at: Date.now(), offsets: offsets.length };
    if (this.s.metricsTopic) {
      try {
        await kafka.send([{ topic: this.s.metricsTopic, key: Buffer.from(this.connector), value: Buffer.from(JSON.stringify(this.metricsRecord())) }]);
      } catch (e) {
        this.log?.warn(`could not write learner metrics to ${this.s.metricsTopic}: ${(e as Error).message}`);
      }
    }
  }

  /** The value written to the metrics topic (and part of the REST status). */
  metricsRecord(): Record<string, unknown> {
    const m = this.engine.metricsSnapshot();
    return {
      connector: this.connector,
      task: this.taskId,
      model: this.modelId,
      algorithm: this.engine.config.algorithm,
      taskType: m.task,
      timestamp: Date.now(),
      streamTime: this.engine.currentStreamTime,
      learned: this.engine.counters.learned,
      window: m.window,
      cumulative: finite(m.cumulative),
      windowed: m.windowed ? finite(m.windowed) : null,
      pending: this.engine.pendingByKind(),
      counters: { ...this.engine.counters },
    };
  }

  status(): Record<string, unknown> {
    const c = this.engine.config;
    return {
      ...this.metricsRecord(),
      class: LEARN_CLASS,
      learner: { algorithm: c.algorithm, task: c.task, nFeatures: c.nFeatures, classes: c.classes, C: c.C, eta: c.eta, r: c.r, a: c.a, bias: c.bias, covariance: c.covariance, multiclass: c.multiclass, standardize: c.standardize },
      features: this.featureNames(),
      runtime: { skippedReplayed: this.skippedReplayed, invalidRecords: this.invalidRecords },
      state: this.s.stateEnabled
        ? { topic: this.stateTopic, epoch: this.epoch, lastCheckpoint: this.lastCheckpoint, restoredFrom: this.restoredFrom, offsets: [...this.positions.values()] }
        : null,
      publication: { topic: this.s.modelTopic || null, modelId: this.modelId, everyUpdates: this.s.publishEvery, last: this.published, lastAt: this.lastPublishedAt, count: this.publishedCount },
      drift: this.driftStatus(),
    };
  }

  /** The `drift` field of the status: detector, action, counts and the last 50 events. */
  driftStatus(): DriftStatus {
    return this.engine.driftStatus() ?? { detector: 'none', action: 'none', warnings: 0, drifts: 0, events: [] };
  }

  /** For metrics: warnings and drifts detected by this task's learner (they survive restarts). */
  get driftCounts(): { warnings: number; drifts: number } {
    return this.engine.driftCounts;
  }


  /** Feature names in weight order, as the model-control input mapping lists them. */
  private featureNames(): string[] {
    return this.s.featuresField ? Array.from({ length: this.s.nFeatures }, (_, i) => `${this.s.featuresField}.${i}`) : [...this.s.features];
  }

  /** Builds and sends a model version now (also used by REST). */
  publishNow(): Promise<Record<string, unknown>> {
    if (!this.s.modelTopic) return Promise.reject(new Error('model publication is disabled (model.topic is empty)'));
    if (!this.kafka) return Promise.reject(new Error('the learner is not open'));
    const c = this.engine.counters;
    const cum = this.engine.metricsSnapshot().cumulative as unknown as Record<string, number>;
    const moreInfo: Record<string, string> = { source: 'online-learner', connector: this.connector, task: String(this.taskId), learned: String(c.learned), updates: String(c.updates) };
    for (const [k, v] of Object.entries(cum)) if (Number.isFinite(v)) moreInfo[`prequential.${k}`] = String(v);
    const msg: LinearModelVersion = buildModelVersionMessage({
      id: this.modelId,
      learned: c.learned,
      algorithm: this.engine.config.algorithm,
      model: this.engine.learner.toLinearModel(),
      features: this.featureNames(),
      predictionField: this.s.predictionField || null,
      moreInfo,
      now: Date.now(),
    });
    const kafka = this.kafka;
    const topic = this.s.modelTopic;
    const p = this.publishing.catch(() => undefined).then(async () => {
      await kafka.send([{ topic, key: Buffer.from(msg.id, 'utf8'), value: Buffer.from(JSON.stringify(msg), 'utf8') }]);
      this.published = { version: Number(msg.version), sha256: msg.sha256 };
      this.lastPublishedAt = msg.published_at;
      this.publishedCount++;
      this.changedSinceCheckpoint = true;
      return { topic, id: msg.id, version: msg.version, sha256: msg.sha256, algorithm: msg.algorithm, format: msg.format };
    });
    this.publishing = p;
    return p;
  }

  close(): void {
    if (this.handle) learnerRegistry.unregister(this.handle);
    this.handle = undefined;
  }

  /** For tests: the engine (learner, counters, metrics). */
  get state(): LearnEngine {
    return this.engine;
  }
}

function num(v: unknown, name: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new Error(`feature ${name} is not a finite number: ${JSON.stringify(v)}`);
  return n;
}

/** NaN (empty window) becomes null so that the JSON stays valid and explicit. */
function finite<T extends object>(o: T): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(o)) out[k] = typeof v === 'number' && Number.isFinite(v) ? v : null;
  return out;
}

export const learnTransformPlugin: TransformationDescriptor = {
  className: LEARN_CLASS,
  type: 'transformation',
  version: BUILTIN_PLUGIN_VERSION,
  aliases: ['Learn'],
  configDef: learnConfigDef,
  create: () => new LearnTransform(),
};

/** Store changes in order, the later change of an id replacing the earlier one. */
function mergeChanges(earlier: StoreChange[], later: StoreChange[]): StoreChange[] {
  if (earlier.length === 0) return later;
  const byId = new Map<string, StoreChange>();
  for (const c of [...earlier, ...later]) {
    byId.delete(c.id);
    byId.set(c.id, c);
  }
  return [...byId.values()];
}
