/**
 * The model-control message: one version of one model, as published on the compacted
 * model-control topic (key = model id, value = this message as plain JSON; null value = tombstone,
 * the model is retired). The Avro schema is schemas/model-control.avsc; the JSON written to the
 * topic is a plain object with those field names (not Avro's JSON encoding with union wrappers),
 * so curl and kcat users can write it by hand.
 */
import { createHash } from 'crypto';
import { nestingExceeds } from '../../converters/nesting';
import { ARTIFACT_URI_PREFIX, ARTIFACT_URI_SCHEME, artifactSha } from './artifact-uri';
import { parseEndpoint } from './remote/oip-client';

export type ModelFormat = 'onnx' | 'linear' | 'remote';
export const MODEL_FORMATS: readonly ModelFormat[] = ['onnx', 'linear', 'remote'];

export interface ModelInputMapping {
  /** the model's input tensor name (checked at activation when given; ONNX) */
  readonly tensor: string | null;
  /** the model's features, in the order of the input tensor's columns */
  readonly features: readonly string[];
  /** feature → record field (dotted path for nested values) where the names differ */
  readonly fields: Readonly<Record<string, string>>;
}

export interface ModelOutputMapping {
  /** model output names, overriding detection (ONNX) */
  readonly label: string | null;
  readonly probabilities: string | null;
  readonly value: string | null;
  /** record field the prediction is written to (default: the transform's `prediction.field`) */
  readonly field: string | null;
  /**
   * class labels in probability-column order, for models that do not carry them (remote models:
   * the Open Inference Protocol has no place for them); absent: taken from the model (ONNX)
   */
  readonly classes?: readonly (number | string)[];
}

export interface ModelControl {
  readonly id: string;
  readonly version: string;
  readonly algorithm: string | null;
  readonly format: ModelFormat;
  /**
   * file:, http:, https:, data: (inline base64) or kafka-artifact:sha256:<hex> (the artifact topic);
   * for `remote`, the Open Inference Protocol v2 endpoint http(s)://host:port/v2/models/<name>[/versions/<v>]
   */
  readonly uri: string;
  /** where the REST API read the artifact it copied to the artifact topic (present only then) */
  readonly source_uri?: string;
  /** lower-case hex sha256 of the artifact bytes (remote: of the uri, unless given) */
  readonly sha256: string;
  readonly input: ModelInputMapping;
  readonly output: ModelOutputMapping;
  /** ISO-8601 date or date-time (UTC unless an offset is given); null = never expires */
  readonly exp_date: string | null;
  readonly more_info: Readonly<Record<string, string>> | null;
  /** epoch ms when published (set by the REST API and the CLI) */
  readonly published_at: number | null;
}

export class ControlMessageError extends Error {
  override name = 'ControlMessageError';
}

export const DEFAULT_MODEL_TOPIC = 'kappa-models';
/** Model ids are record keys and URL path segments. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._\-]{0,199}$/;
const SHA_RE = /^[0-9a-f]{64}$/;
/** How deep a control message may nest (its own fields need 3 levels). */
export const MAX_CONTROL_DEPTH = 32;

function str(o: Record<string, unknown>, k: string, required: boolean): string | null {
  const v = o[k];
  if (v === undefined || v === null) {
    if (required) throw new ControlMessageError(`'${k}' is required`);
    return null;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') throw new ControlMessageError(`'${k}' must be a string`);
  if (required && v.trim() === '') throw new ControlMessageError(`'${k}' must not be empty`);
  return v;
}

/** Epoch ms of an exp_date (ISO date or date-time; epoch ms numbers also accepted), or NaN. */
export function parseExpDate(s: string): number {
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  return t;
}

/** Validates a decoded control message (an object) and fills defaults. Throws ControlMessageError. */
export function parseControl(value: unknown): ModelControl {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ControlMessageError('a model-control message must be a JSON object');
  // more_info values are free-form (nested JSON is kept as text): bound them before stringifying
  if (nestingExceeds(value, MAX_CONTROL_DEPTH)) throw new ControlMessageError(`a model-control message may nest at most ${MAX_CONTROL_DEPTH} levels (see 'more_info')`);
  const o = value as Record<string, unknown>;
  const id = str(o, 'id', true)!;
  if (!ID_RE.test(id)) throw new ControlMessageError(`'id' ${JSON.stringify(id)} must match ${ID_RE.source}`);
  const version = str(o, 'version', true)!;
  if (!/^[A-Za-z0-9][A-Za-z0-9._\-+]{0,99}$/.test(version)) throw new ControlMessageError(`'version' ${JSON.stringify(version)} must be 1-100 characters of [A-Za-z0-9._-+]`);
  const format = (str(o, 'format', false) ?? 'onnx').toLowerCase();
  if (!MODEL_FORMATS.includes(format as ModelFormat)) throw new ControlMessageError(`'format' must be one of ${MODEL_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  const uri = str(o, 'uri', true)!;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (!scheme || !['file', 'http', 'https', 'data', ARTIFACT_URI_SCHEME].includes(scheme)) {
    throw new ControlMessageError(`'uri' must be a file:, http(s):, data: or ${ARTIFACT_URI_SCHEME}: URI, got ${JSON.stringify(uri.slice(0, 80))}`);
  }
  if (format === 'remote') {
    const endpoint = parseEndpoint(uri);
    if (typeof endpoint === 'string') throw new ControlMessageError(`a remote model's 'uri' must be its Open Inference Protocol endpoint: ${endpoint}`);
  }
  // A remote model has no artifact: its identity is its endpoint (republishing a version with
  // another endpoint is then a conflict, as another artifact would be).
  const sha256 = (str(o, 'sha256', format !== 'remote') ?? sha256Hex(Buffer.from(uri, 'utf8'))).toLowerCase();
  if (!SHA_RE.test(sha256)) throw new ControlMessageError(`'sha256' must be 64 hex digits`);
  if (scheme === ARTIFACT_URI_SCHEME) {
    const named = artifactSha(uri);
    if (named === null) throw new ControlMessageError(`'uri' ${JSON.stringify(uri.slice(0, 100))} must be ${ARTIFACT_URI_PREFIX}<64 lower-case hex digits>`);
    if (named !== sha256) throw new ControlMessageError(`'sha256' ${sha256} differs from the sha256 the uri names (${named})`);
  }
  const sourceUri = str(o, 'source_uri', false);

  const inRaw = o['input'];
  if (inRaw === null || typeof inRaw !== 'object' || Array.isArray(inRaw)) throw new ControlMessageError(`'input' is required: {"features": [...]} in the model's feature order`);
  const inO = inRaw as Record<string, unknown>;
  const features = inO['features'];
  if (!Array.isArray(features) || features.length === 0 || !features.every((f) => typeof f === 'string' && f.length > 0)) {
    throw new ControlMessageError(`'input.features' must be a non-empty array of feature names`);
  }
  if (new Set(features).size !== features.length) throw new ControlMessageError(`'input.features' has duplicates`);
  const fieldsRaw = inO['fields'] ?? {};
  if (fieldsRaw === null || typeof fieldsRaw !== 'object' || Array.isArray(fieldsRaw)) throw new ControlMessageError(`'input.fields' must be an object feature → record field`);
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(fieldsRaw as Record<string, unknown>)) {
    if (!features.includes(k)) throw new ControlMessageError(`'input.fields' maps '${k}', which is not in 'input.features'`);
    if (typeof v !== 'string' || v === '') throw new ControlMessageError(`'input.fields.${k}' must be a field name`);
    fields[k] = v;
  }
  const tensor = str(inO, 'tensor', false);

  const outRaw = o['output'] ?? {};
  if (outRaw === null || typeof outRaw !== 'object' || Array.isArray(outRaw)) throw new ControlMessageError(`'output' must be an object`);
  const outO = outRaw as Record<string, unknown>;
  const classes = outO['classes'];
  if (classes !== undefined && classes !== null && (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string' || (typeof c === 'number' && Number.isFinite(c))))) {
    throw new ControlMessageError(`'output.classes' must be an array of class labels (strings or numbers) in probability-column order`);
  }
  const output: ModelOutputMapping = {
    label: str(outO, 'label', false),
    probabilities: str(outO, 'probabilities', false),
    value: str(outO, 'value', false),
    field: str(outO, 'field', false),
    ...(Array.isArray(classes) && classes.length > 0 ? { classes: [...classes] as (number | string)[] } : {}),
  };

  let exp: string | null = null;
  const expRaw = o['exp_date'];
  if (expRaw !== undefined && expRaw !== null) {
    exp = typeof expRaw === 'number' ? String(expRaw) : typeof expRaw === 'string' ? expRaw : '';
    if (!Number.isFinite(parseExpDate(exp))) throw new ControlMessageError(`'exp_date' must be an ISO-8601 date or date-time (or epoch ms), got ${JSON.stringify(expRaw)}`);
  }
  let moreInfo: Record<string, string> | null = null;
  const mi = o['more_info'];
  if (mi !== undefined && mi !== null) {
    if (typeof mi !== 'object' || Array.isArray(mi)) throw new ControlMessageError(`'more_info' must be an object of strings`);
    moreInfo = {};
    for (const [k, v] of Object.entries(mi as Record<string, unknown>)) {
      if (v === null || v === undefined) continue;
      moreInfo[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
  }
  const pub = o['published_at'];
  return {
    id,
    version,
    algorithm: str(o, 'algorithm', false),
    format: format as ModelFormat,
    uri,
    ...(sourceUri !== null ? { source_uri: sourceUri } : {}),
    sha256,
    input: { tensor, features: [...features] as string[], fields },
    output,
    exp_date: exp,
    more_info: moreInfo,
    published_at: typeof pub === 'number' && Number.isFinite(pub) ? pub : null,
  };
}

/** Decodes a record value from the control topic (UTF-8 JSON). */
export function decodeControl(value: Buffer): ModelControl {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (e) {
    throw new ControlMessageError(`not JSON: ${(e as Error).message}`);
  }
  return parseControl(json);
}

export function encodeControl(m: ModelControl): Buffer {
  return Buffer.from(JSON.stringify(m), 'utf8');
}

/** The record field a feature is read from. */
export function fieldOf(m: ModelControl, feature: string): string {
  return m.input.fields[feature] ?? feature;
}

export function expiresAt(m: ModelControl): number | null {
  return m.exp_date === null ? null : parseExpDate(m.exp_date);
}

export function isExpired(m: ModelControl, now: number): boolean {
  const t = expiresAt(m);
  return t !== null && now >= t;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A `data:` URI carrying bytes inline (base64). */
export function dataUri(bytes: Uint8Array, mediaType = 'application/octet-stream'): string {
  return `data:${mediaType};base64,${Buffer.from(bytes).toString('base64')}`;
}
