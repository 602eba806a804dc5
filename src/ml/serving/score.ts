/**
 * io.kappa.connect.ml.Score (aliases Score, OnnxScore): scores records with a model from the
 * catalog and appends the prediction to the record value.
 *
 * The model is named by `model.id` (fixed), or per record by `model.id.field` (a value field) or
 * `model.id.header`. Each batch resolves every model id once (so all records of a batch, and of a
 * partition from then on, get the same version or a newer one), maps each record's fields to the
 * model's features by name in the model's feature order (numbers, booleans as 0/1), and scores all
 * records of a model in one call through the shared InferencePool (worker threads, micro-batched
 * with the other tasks' calls). The prediction `{model_id, model_version, label, probabilities}`
 * (classifiers; `decision_scores` instead of `probabilities` for classifiers that have none, such
 * as LinearSVC) or `{model_id, model_version, value}` (regressors) goes into `prediction.field` of
 * the value: a Struct gets an extended schema, a map gets a new key. Headers `kappa.model.id` and
 * `kappa.model.version` name the version that scored the record. Keys, other headers, topic,
 * partition, timestamp and order are kept. A record that cannot be scored (missing feature, wrong
 * type, unknown or retired model) becomes an Error for the error path (errors.tolerance, DLQ).
 *
 * A model with a challenger (challenger.ts) is scored by both versions (shadow: the challenger's
 * prediction goes into headers) or by one of them per record key (canary). With
 * `evaluation.label.topics`, records of those topics are labels `{id, label}`: they are joined to
 * the predictions this task made for that event id (kept in a bounded store for a while) and
 * counted per version (accuracy, MAE); they are not passed on.
 */
import {
  ConfigException, DataException, Struct, headerText,
  type ConfigDef, type ConfigMap, type Header, type Schema, type SinkRecord, type Transformation,
  type TransformationContext, type TransformationDescriptor,
} from '../../api';
import { BUILTIN_PLUGIN_VERSION } from '../../api/version';
import { parseConfigOrThrow, validators } from '../../config/parse';
import { mapSchema, structSchema, Schemas } from '../../converters/schemas';
import type { ServingModel, Prediction } from './backends';
import type { ScoreKind } from './onnx';
import type { ExpiredPolicy, MissingPolicy, Resolution } from './catalog';
import { goesToChallenger, HEADER_CHALLENGER_PREDICTION, HEADER_CHALLENGER_VERSION, splitPoint } from './challenger';
import { fieldOf } from './control';
import { labelOutcome, PendingPredictions, type EvaluationDelta, type VersionPrediction } from './evaluation';
import { acquireCatalog, dropUses, recordOutcome, recordUse, servingSettings, type CatalogLease, type CatalogView } from './hub';
import { threadMetrics, type ScoringMetrics } from '../../metrics/thread-metrics';

export const SCORE_CLASS = 'io.kappa.connect.ml.Score';
export const HEADER_MODEL_ID = 'kappa.model.id';
export const HEADER_MODEL_VERSION = 'kappa.model.version';

export const scoreConfigDef: ConfigDef = [
  { name: 'model.id', type: 'STRING', default: null, importance: 'HIGH', documentation: 'The model id to score with (fixed). Exactly one of model.id, model.id.field, model.id.header.', group: 'Model', orderInGroup: 1, displayName: 'Model id' },
  { name: 'model.id.field', type: 'STRING', default: null, importance: 'HIGH', documentation: 'A value field (dotted path for nested fields) naming the model per record.', group: 'Model', orderInGroup: 2, displayName: 'Model id field' },
  { name: 'model.id.header', type: 'STRING', default: null, importance: 'HIGH', documentation: 'A header naming the model per record.', group: 'Model', orderInGroup: 3, displayName: 'Model id header' },
  { name: 'model.topic', type: 'STRING', default: null, importance: 'MEDIUM', documentation: 'The model-control topic (default: the worker property kappa.model.topic, else kappa-models).', group: 'Model', orderInGroup: 4, displayName: 'Model-control topic' },
  { name: 'model.expired.policy', type: 'STRING', default: 'fallback', importance: 'MEDIUM', documentation: "When the newest version has expired (exp_date): 'fallback' scores with the newest earlier version that has not, 'error' sends the record to the error path, 'passthrough' passes it on unscored.", group: 'Model', orderInGroup: 5, validator: validators.oneOf('fallback', 'error', 'passthrough'), recommendedValues: ['fallback', 'error', 'passthrough'] },
  { name: 'model.missing.policy', type: 'STRING', default: 'error', importance: 'MEDIUM', documentation: "When the model is unknown or retired (tombstone): 'error' sends the record to the error path, 'passthrough' passes it on unscored.", group: 'Model', orderInGroup: 6, validator: validators.oneOf('error', 'passthrough'), recommendedValues: ['error', 'passthrough'] },
  { name: 'prediction.field', type: 'STRING', default: 'prediction', importance: 'MEDIUM', documentation: 'Value field the prediction is written to (unless the model\'s output.field says otherwise).', group: 'Output', orderInGroup: 1 },
  { name: 'prediction.probabilities', type: 'BOOLEAN', default: true, importance: 'LOW', documentation: 'Include the class probabilities, or for classifiers without probabilities (e.g. LinearSVC) their decision scores (field decision_scores).', group: 'Output', orderInGroup: 2 },
  { name: 'prediction.headers', type: 'BOOLEAN', default: true, importance: 'LOW', documentation: 'Set the provenance headers kappa.model.id and kappa.model.version.', group: 'Output', orderInGroup: 3 },
  { name: 'evaluation.label.topics', type: 'LIST', default: '', importance: 'MEDIUM', documentation: 'Topics (also in the connector\'s topics) whose records are labels {id, label}: each is joined by event id to the predictions this task made, counted per model version (GET /models/<id>, evaluation), and not passed on. Empty: no evaluation.', group: 'Evaluation', orderInGroup: 1 },
  { name: 'evaluation.id.field', type: 'STRING', default: 'id', importance: 'MEDIUM', documentation: 'Field with the event id, in scored records and in label records.', group: 'Evaluation', orderInGroup: 2 },
  { name: 'evaluation.label.field', type: 'STRING', default: 'label', importance: 'MEDIUM', documentation: 'Field with the label in label records (the class, or the value for regressors).', group: 'Evaluation', orderInGroup: 3 },
  { name: 'evaluation.pending.max.events', type: 'INT', default: 100000, importance: 'LOW', documentation: 'Most scored events waiting for their label in a task; the oldest is dropped beyond.', group: 'Evaluation', orderInGroup: 4, validator: validators.atLeast(1) },
  { name: 'evaluation.pending.ttl.ms', type: 'LONG', default: 600000, importance: 'LOW', documentation: 'How long a scored event waits for its label (wall-clock ms since it was scored); 0: until dropped for room.', group: 'Evaluation', orderInGroup: 5, validator: validators.atLeast(0) },
];

type LabelKind = 'int' | 'string' | 'none';

const PREDICTION_SCHEMA_NAME = 'io.kappa.connect.ml.Prediction';

/** Field names of the score map: what the columns are decides the name (never call a decision score a probability). */
const SCORE_FIELD: Record<ScoreKind, string> = { probabilities: 'probabilities', decision_scores: 'decision_scores' };

function predictionSchema(labelKind: LabelKind, scores: ScoreKind | undefined, regressor: boolean): Schema {
  const fields: [string, Schema][] = [['model_id', Schemas.STRING], ['model_version', Schemas.STRING]];
  if (regressor) fields.push(['value', Schemas.OPTIONAL_FLOAT64]);
  else {
    fields.push(['label', labelKind === 'int' ? Schemas.OPTIONAL_INT64 : Schemas.OPTIONAL_STRING]);
    if (scores) fields.push([SCORE_FIELD[scores], mapSchema(Schemas.STRING, Schemas.FLOAT64, true)]);
  }
  return structSchema(fields, { optional: true, name: PREDICTION_SCHEMA_NAME });
}

/**
 * The class each score column belongs to. One column for two classes is a binary classifier's
 * single score, which scikit-learn defines for the positive class, classes_[1] (a LinearSVC's
 * decision_function > 0 means classes_[1]); otherwise the columns follow the class labels.
 */
export function scoreColumnLabels(classLabels: readonly (number | string)[], columns: number): string[] {
  if (columns === 1 && classLabels.length === 2) return [String(classLabels[1])];
  return Array.from({ length: columns }, (_v, c) => String(classLabels[c] ?? c));
}

/** Dotted field paths split once (they come from connector configs and model metadata: few). */
const pathParts = new Map<string, readonly string[]>();
function partsOf(path: string): readonly string[] {
  let parts = pathParts.get(path);
  if (!parts) {
    parts = path.split('.');
    if (pathParts.size < 10_000) pathParts.set(path, parts);
  }
  return parts;
}

/** Reads a (dotted) field of a Struct or a map value; undefined when absent. */
function readPath(value: unknown, path: string): unknown {
  let cur: unknown = value;
  for (const part of partsOf(path)) {
    if (cur instanceof Struct) {
      if (!cur.schema.fields?.some((f) => f.name === part)) return undefined;
      cur = cur.get(part);
    } else if (cur instanceof Map) cur = cur.get(part);
    else if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && !Buffer.isBuffer(cur)) cur = (cur as Record<string, unknown>)[part];
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (Buffer.isBuffer(v)) return 'bytes';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 20 ? v.slice(0, 20) + '…' : v)})`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function recordTag(r: SinkRecord): string {
  return `${r.topic}-${r.kafkaPartition}@${r.kafkaOffset}`;
}

export class Score implements Transformation {
  private fixedId: string | null = null;
  private idField: string | null = null;
  private idHeader: string | null = null;
  private topicOverride: string | null = null;
  private expiredPolicy: ExpiredPolicy = 'fallback';
  private missingPolicy: MissingPolicy = 'error';
  private predictionField = 'prediction';
  private withProbabilities = true;
  private withHeaders = true;
  private labelTopics = new Set<string>();
  private eventIdField = 'id';
  private labelField = 'label';
  private pending?: PendingPredictions;
  private lease?: CatalogLease;
  private context?: TransformationContext;
  private unsubscribe?: () => void;
  private readonly usedIds = new Set<string>();
  private readonly schemaCache = new WeakMap<Schema, Map<string, Schema>>();
  private readonly predSchemas = new Map<string, Schema>();
  private closed = false;
  private metrics?: ScoringMetrics;

  configure(config: ConfigMap): void {
    const v = parseConfigOrThrow(scoreConfigDef, config);
    const nonEmpty = (k: string) => {
      const s = v[k] as string | null;
      return s !== null && s !== undefined && s.trim() !== '' ? s.trim() : null;
    };
    this.fixedId = nonEmpty('model.id');
    this.idField = nonEmpty('model.id.field');
    this.idHeader = nonEmpty('model.id.header');
    const given = [this.fixedId, this.idField, this.idHeader].filter((x) => x !== null).length;
    if (given !== 1) throw new ConfigException(`Exactly one of model.id, model.id.field and model.id.header must be set (got ${given})`);
    this.topicOverride = nonEmpty('model.topic');
    this.expiredPolicy = (v['model.expired.policy'] as string).toLowerCase() as ExpiredPolicy;
    this.missingPolicy = (v['model.missing.policy'] as string).toLowerCase() as MissingPolicy;
    this.predictionField = nonEmpty('prediction.field') ?? 'prediction';
    this.withProbabilities = v['prediction.probabilities'] as boolean;
    this.withHeaders = v['prediction.headers'] as boolean;
    this.labelTopics = new Set((v['evaluation.label.topics'] as string[]).map((t) => t.trim()).filter((t) => t !== ''));
    this.eventIdField = nonEmpty('evaluation.id.field') ?? 'id';
    this.labelField = nonEmpty('evaluation.label.field') ?? 'label';
    this.pending = this.labelTopics.size > 0
      ? new PendingPredictions({ maxEvents: v['evaluation.pending.max.events'] as number, ttlMs: Number(v['evaluation.pending.ttl.ms']) })
      : undefined;
  }

  async open(context: TransformationContext): Promise<void> {
    this.context = context;
    this.metrics = threadMetrics().scoring(context.connectorName, context.taskId);
    const topic = this.topicOverride ?? servingSettings(context.workerConfig).topic;
    this.lease = await acquireCatalog(topic, context);
    const catalog = this.lease.catalog;
    this.unsubscribe = catalog.onWarning((modelId, message) => {
      if (this.usedIds.has(modelId)) context.reportWarning(message);
    });
    if (this.fixedId) {
      this.use(this.fixedId);
      // activate the model now, so the first batch does not wait and problems show at once
      const res = await catalog.resolve(this.fixedId, this.expiredPolicy, 'error');
      if (res.kind === 'error') context.reportWarning(`${SCORE_CLASS}: ${res.error.message}`);
    }
  }

  private use(id: string): void {
    if (this.usedIds.has(id)) return;
    this.usedIds.add(id);
    if (this.context) recordUse(this.context.connectorName, this.context.taskId, id);
  }

  private get catalog(): CatalogView {
    if (!this.lease) throw new DataException(`${SCORE_CLASS} was not opened (it needs a worker that calls Transformation.open)`);
    return this.lease.catalog;
  }

  apply(): SinkRecord | null {
    throw new DataException(`${SCORE_CLASS} scores batches: the runtime must call applyBatch`);
  }

  private modelIdOf(r: SinkRecord): string | Error {
    if (this.fixedId) return this.fixedId;
    if (this.idHeader) {
      let found: Header | undefined;
      for (const h of r.headers) if (h.key === this.idHeader) found = h; // the last one wins
      const id = found ? headerText(found) : null;
      if (id === null) return new DataException(`record ${recordTag(r)} has no header '${this.idHeader}' naming its model`);
      return id === '' ? new DataException(`record ${recordTag(r)} has an empty header '${this.idHeader}'`) : id;
    }
    const v = readPath(r.value, this.idField!);
    if (v === undefined || v === null || v === '') return new DataException(`record ${recordTag(r)} has no field '${this.idField}' naming its model`);
    if (typeof v !== 'string' && typeof v !== 'number') return new DataException(`record ${recordTag(r)}: field '${this.idField}' must name a model, but is ${describeValue(v)}`);
    return String(v);
  }

  async applyBatch(records: readonly SinkRecord[]): Promise<(SinkRecord | null | Error)[]> {
    if (this.closed) throw new DataException(`${SCORE_CLASS} is closed`);
    const out: (SinkRecord | null | Error)[] = new Array(records.length);
    const groups = new Map<string, number[]>();
    const labels: number[] = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i]!;
      if (this.labelTopics.has(r.topic)) {
        labels.push(i);
        continue;
      }
      if (!isScorableValue(r.value)) {
        out[i] = new DataException(`record ${recordTag(r)}: ${SCORE_CLASS} needs a struct or map value, got ${describeValue(r.value)}`);
        continue;
      }
      const id = this.modelIdOf(r);
      if (id instanceof Error) {
        out[i] = id;
        continue;
      }
      let g = groups.get(id);
      if (!g) groups.set(id, (g = []));
      g.push(i);
    }
    const catalog = this.catalog;
    const outcomes = new Outcomes();
    await Promise.all([...groups].map(async ([id, idx]) => {
      this.use(id);
      // A model the catalog gave out as ready but whose sessions are gone is the worker's fault, not
      // the records': the catalog reports it and reloads it, and the group is scored once more.
      for (let attempt = 0; attempt < 2; attempt++) {
        let res: Resolution;
        try {
          res = await catalog.resolve(id, this.expiredPolicy, this.missingPolicy);
        } catch (e) {
          res = { kind: 'error', error: e as Error };
        }
        if (res.kind === 'error') {
          for (const i of idx) out[i] = res.error;
          return;
        }
        if (res.kind === 'passthrough') {
          for (const i of idx) out[i] = records[i]!;
          return;
        }
        const lost = await this.scoreGroup(res, records, idx, out, outcomes, attempt === 0);
        if (!lost) return;
        // a resolution that moved on between resolve and score is simply resolved again
        if (!isResolutionChanged(lost.error)) catalog.recover(lost.model, lost.error.message);
      }
    }));
    // after the batch's events: a label may come in the same batch as its event
    for (const i of labels) out[i] = this.joinLabel(records[i]!, outcomes);
    outcomes.report();
    return out;
  }

  /**
   * Scores the records `idx` with the resolved model into `out`, and with its challenger if it
   * has one: shadow scores every record with both (the challenger's prediction in headers), canary
   * sends each record by its key to one of them. When `mayRetry` and a model turns out not to be
   * loaded any more, leaves `out` alone and returns that model with the error.
   */
  private async scoreGroup(
    res: Extract<Resolution, { kind: 'model' }>, records: readonly SinkRecord[], idx: number[], out: (SinkRecord | null | Error)[], outcomes: Outcomes, mayRetry: boolean,
  ): Promise<{ model: ServingModel; error: Error } | undefined> {
    const champion = res.model;
    const ch = res.challenger;
    let championIdx = idx;
    let challengerIdx: number[] = [];
    if (ch?.mode === 'canary') {
      championIdx = [];
      for (const i of idx) {
        const r = records[i]!;
        (goesToChallenger(splitPoint(r.key, r.kafkaPartition, r.kafkaOffset), ch.share) ? challengerIdx : championIdx).push(i);
      }
    } else if (ch?.mode === 'shadow') challengerIdx = idx;
    const [byChampion, byChallenger] = await Promise.all([
      this.predict(champion, records, championIdx, mayRetry),
      ch && challengerIdx.length > 0 ? this.predict(ch.model, records, challengerIdx, mayRetry) : new Map<number, Error | Record<string, unknown>>(),
    ]);
    if (byChampion instanceof Error) return { model: champion, error: byChampion };
    if (byChallenger instanceof Error) return { model: ch!.model, error: byChallenger };
    const emitted = ch?.mode === 'canary' ? [[champion, byChampion], [ch.model, byChallenger]] as const : [[champion, byChampion]] as const;
    for (const [model, preds] of emitted) {
      const field = model.control.output.field ?? this.predictionField;
      for (const [i, p] of preds) out[i] = p instanceof Error ? p : this.withPrediction(records[i]!, model, field, p);
    }
    if (ch?.mode === 'shadow') {
      for (const [i, p] of byChallenger) {
        const r = out[i];
        if (p instanceof Error || !r || r instanceof Error) continue;
        const headers = r.headers.filter((h) => h.key !== HEADER_CHALLENGER_VERSION && h.key !== HEADER_CHALLENGER_PREDICTION);
        headers.push({ key: HEADER_CHALLENGER_VERSION, value: ch.model.version }, { key: HEADER_CHALLENGER_PREDICTION, value: JSON.stringify(p) });
        out[i] = { ...r, headers };
      }
    }
    const scoredBy = ch ? [[champion, byChampion], [ch.model, byChallenger]] as const : [[champion, byChampion]] as const;
    for (const [model, preds] of scoredBy) {
      let n = 0;
      for (const p of preds.values()) if (!(p instanceof Error)) n++;
      if (n > 0) outcomes.add(model.id, model.version, { scored: n, kind: model.kind });
    }
    if (this.pending) this.keepForLabels(records, idx, scoredBy);
    return undefined;
  }

  /** Each scored event's predictions (one per version that scored it), until its label comes. */
  private keepForLabels(records: readonly SinkRecord[], idx: number[], scoredBy: readonly (readonly [ServingModel, Map<number, Error | Record<string, unknown>>])[]): void {
    for (const i of idx) {
      const eventId = readPath(records[i]!.value, this.eventIdField);
      if (typeof eventId !== 'string' && typeof eventId !== 'number') continue; // not evaluated
      const predictions: VersionPrediction[] = [];
      for (const [model, preds] of scoredBy) {
        const p = preds.get(i);
        if (!p || p instanceof Error) continue;
        const predicted = (model.kind === 'regressor' ? p.value : p.label) as number | string | null;
        predictions.push({ modelId: model.id, version: model.version, kind: model.kind, predicted });
      }
      if (predictions.length > 0) this.pending!.put(String(eventId), predictions);
    }
  }

  /** A label record: joined to its event's predictions and counted; dropped from the output. */
  private joinLabel(r: SinkRecord, outcomes: Outcomes): null | Error {
    const eventId = readPath(r.value, this.eventIdField);
    if (typeof eventId !== 'string' && typeof eventId !== 'number') {
      return new DataException(`label record ${recordTag(r)} has no field '${this.eventIdField}' with the event id (evaluation.id.field), got ${describeValue(eventId ?? null)}`);
    }
    const label = readPath(r.value, this.labelField);
    if (typeof label !== 'string' && typeof label !== 'number' && typeof label !== 'boolean') {
      return new DataException(`label record ${recordTag(r)} for event ${eventId} has no field '${this.labelField}' with a label (evaluation.label.field), got ${describeValue(label ?? null)}`);
    }
    const predictions = this.pending!.take(String(eventId));
    if (!predictions) return null; // never scored here, or its wait is over: nothing to compare
    const numeric = typeof label === 'number' ? label : typeof label === 'string' && label.trim() !== '' ? Number(label) : NaN;
    if (predictions.some((p) => p.kind === 'regressor') && !Number.isFinite(numeric)) {
      this.pending!.put(String(eventId), predictions); // a corrected label may still come
      return new DataException(`label record ${recordTag(r)} for event ${eventId}: the label of a regressor must be a number, got ${describeValue(label)}`);
    }
    for (const p of predictions) outcomes.add(p.modelId, p.version, labelOutcome(p, p.kind === 'regressor' ? numeric : typeof label === 'boolean' ? Number(label) : label));
    return null;
  }

  /**
   * The predictions of `model` for the records `idx`, by record index (an Error for a record that
   * cannot be scored). When `mayRetry` and the model turns out not to be loaded any more, returns
   * that error instead.
   */
  private async predict(model: ServingModel, records: readonly SinkRecord[], idx: number[], mayRetry: boolean): Promise<Map<number, Error | Record<string, unknown>> | Error> {
    const result = new Map<number, Error | Record<string, unknown>>();
    const features = model.control.input.features;
    const d = features.length;
    const fields = features.map((f) => fieldOf(model.control, f));
    const rows = new Float32Array(idx.length * d);
    const ok: number[] = [];
    for (const i of idx) {
      const r = records[i]!;
      const base = ok.length * d;
      let error: Error | undefined;
      for (let j = 0; j < d; j++) {
        const field = fields[j]!;
        const raw = readPath(r.value, field);
        let x: number;
        if (typeof raw === 'number') x = raw;
        else if (typeof raw === 'bigint') x = Number(raw);
        else if (typeof raw === 'boolean') x = raw ? 1 : 0;
        else {
          error = raw === undefined || raw === null
            ? new DataException(`record ${recordTag(r)} is missing feature '${features[j]}'${field !== features[j] ? ` (field '${field}')` : ''} for model ${model.id} version ${model.version}`)
            : new DataException(`record ${recordTag(r)}: feature '${features[j]}' (field '${field}') of model ${model.id} version ${model.version} must be a number, but is ${describeValue(raw)}`);
          break;
        }
        // Infinity (e.g. JSON 1e400) and NaN would come out as NaN probabilities under a label;
        // float32 overflow (|x| > 3.4e38) would turn into Infinity in the tensor.
        if (!Number.isFinite(x) || Math.abs(x) > FLOAT32_MAX) {
          error = new DataException(`record ${recordTag(r)}: feature '${features[j]}' (field '${field}') of model ${model.id} version ${model.version} must be a finite float32 number, but is ${x}`);
          break;
        }
        rows[base + j] = x;
      }
      if (error) result.set(i, error);
      else ok.push(i);
    }
    if (ok.length === 0) return result;
    let p: Prediction;
    const started = performance.now();
    try {
      p = await model.score(ok.length === idx.length ? rows : rows.slice(0, ok.length * d), ok.length);
      this.metrics?.scored(model.id, model.version, ok.length, (performance.now() - started) / 1000);
    } catch (e) {
      if (mayRetry && (isModelLost(e) || isResolutionChanged(e))) return e as Error;
      const err = new DataException(`scoring with model ${model.id} version ${model.version} failed: ${(e as Error).message}`);
      for (const i of ok) result.set(i, err);
      return result;
    }
    const k = p.nClasses ?? 0;
    const columns = scoreColumnLabels(model.classLabels ?? [], k);
    const m = p.valuesPerRow ?? 1;
    for (let n = 0; n < ok.length; n++) {
      const pred: Record<string, unknown> = { model_id: model.id, model_version: model.version };
      if (model.kind === 'regressor') {
        pred.value = p.values ? (m === 1 ? p.values[n] : p.values[n * m]) : null;
      } else {
        pred.label = p.labels ? p.labels[n] : null;
        if (this.withProbabilities && model.scores && p.probabilities && k > 0) {
          const scores: Record<string, number> = {};
          for (let c = 0; c < k; c++) scores[columns[c]!] = p.probabilities[n * k + c]!;
          pred[SCORE_FIELD[model.scores]] = scores;
        }
      }
      result.set(ok[n]!, pred);
    }
    return result;
  }

  private withPrediction(r: SinkRecord, model: ServingModel, field: string, pred: Record<string, unknown>): SinkRecord {
    let value: unknown;
    let valueSchema = r.valueSchema;
    if (r.value instanceof Struct) {
      const regressor = model.kind === 'regressor';
      const labelKind: LabelKind = regressor ? 'none' : typeof model.classLabels?.[0] === 'number' ? 'int' : 'string';
      const scores = !regressor && this.withProbabilities ? model.scores : undefined;
      const shape = `${field}|${labelKind}|${scores}|${regressor}`;
      let predSchema = this.predSchemas.get(shape);
      if (!predSchema) this.predSchemas.set(shape, (predSchema = predictionSchema(labelKind, scores, regressor)));
      const inSchema = r.value.schema;
      let byShape = this.schemaCache.get(inSchema);
      if (!byShape) this.schemaCache.set(inSchema, (byShape = new Map()));
      let outSchema = byShape.get(shape);
      if (!outSchema) {
        const kept = (inSchema.fields ?? []).filter((f) => f.name !== field).map((f) => [f.name, f.schema] as const);
        outSchema = structSchema([...kept, [field, predSchema]], {
          optional: inSchema.optional, name: inSchema.name, version: inSchema.version, doc: inSchema.doc, parameters: inSchema.parameters as Record<string, string> | undefined,
        });
        byShape.set(shape, outSchema);
      }
      const values: Record<string, unknown> = {};
      for (const f of outSchema.fields!) if (f.name !== field) values[f.name] = r.value.values[f.name];
      if (!regressor && labelKind === 'string' && pred.label !== null && pred.label !== undefined) pred.label = String(pred.label);
      values[field] = new Struct(predSchema, pred);
      value = new Struct(outSchema, values);
      valueSchema = outSchema;
    } else if (r.value instanceof Map) {
      const copy = new Map(r.value);
      copy.set(field, pred);
      value = copy;
    } else {
      value = { ...(r.value as Record<string, unknown>), [field]: pred };
    }
    let headers = r.headers;
    if (this.withHeaders) {
      const provenance = provenanceHeaders(model);
      headers = r.headers.length === 0
        ? provenance
        : [...r.headers.filter((h) => h.key !== HEADER_MODEL_ID && h.key !== HEADER_MODEL_VERSION), ...provenance];
    }
    return { ...r, value, valueSchema, headers };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe?.();
    this.metrics?.close();
    if (this.context) dropUses(this.context.connectorName, this.context.taskId);
    const lease = this.lease;
    this.lease = undefined;
    await lease?.release();
  }
}

/** What a batch adds to the counts of each version, reported to the process's totals once per batch. */
class Outcomes {
  private readonly deltas = new Map<string, { modelId: string; version: string; d: { scored: number; labels: number; correct: number; absError: number; kind?: EvaluationDelta['kind'] } }>();

  add(modelId: string, version: string, d: EvaluationDelta): void {
    const key = `${modelId}\u0000${version}`;
    let e = this.deltas.get(key);
    if (!e) this.deltas.set(key, (e = { modelId, version, d: { scored: 0, labels: 0, correct: 0, absError: 0 } }));
    e.d.scored += d.scored ?? 0;
    e.d.labels += d.labels ?? 0;
    e.d.correct += d.correct ?? 0;
    e.d.absError += d.absError ?? 0;
    if (d.kind) e.d.kind = d.kind;
  }

  report(): void {
    for (const e of this.deltas.values()) recordOutcome(e.modelId, e.version, e.d);
  }
}

/**
 * The headers naming the version that scored a record, one frozen pair per model version shared by
 * all its records: no arrays or header objects per record, and the sink's header conversion
 * (headersToKafka) recognises the same objects and encodes them once.
 */
const provenanceByModel = new WeakMap<ServingModel, readonly Header[]>();
function provenanceHeaders(model: ServingModel): readonly Header[] {
  let headers = provenanceByModel.get(model);
  if (!headers) {
    headers = Object.freeze([
      Object.freeze({ key: HEADER_MODEL_ID, value: model.id }),
      Object.freeze({ key: HEADER_MODEL_VERSION, value: model.version }),
    ]);
    provenanceByModel.set(model, headers);
  }
  return headers;
}

/** The largest finite float32: features go into float32 tensors. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** The model the catalog handed out cannot score any more (its sessions or its batcher are gone): not the records' fault. */
const LOST_MODEL_CODES = new Set(['MODEL_NOT_LOADED', 'BATCHER_CLOSED']);
function isModelLost(e: unknown): boolean {
  return LOST_MODEL_CODES.has((e as { code?: unknown } | null)?.code as string);
}

function isResolutionChanged(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'RESOLUTION_CHANGED';
}

function isScorableValue(v: unknown): boolean {
  return v instanceof Struct || v instanceof Map || (v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v));
}

export const scorePlugin: TransformationDescriptor = {
  className: SCORE_CLASS,
  type: 'transformation',
  version: BUILTIN_PLUGIN_VERSION,
  aliases: ['Score', 'OnnxScore', 'io.kappa.connect.ml.OnnxScore'],
  configDef: scoreConfigDef,
  create: () => new Score(),
};

export const servingPlugins: TransformationDescriptor[] = [scorePlugin];
