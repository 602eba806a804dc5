/**
 * Champion/challenger: a second version of a model scored beside the serving one (the champion).
 *
 * The challenger is a record of its own on the model-control topic, keyed `<model id>/challenger`
 * (a `/` is never part of a model id, so it cannot be mistaken for a version), with the whole
 * control message of the challenger version inside: compaction keeps only the last record per key,
 * so the challenger must not depend on an earlier version record surviving under the model's key.
 * A tombstone on that key removes the challenger (rollback). Promotion publishes the embedded
 * version under the model's key (it becomes the newest, hence serving) and writes the tombstone,
 * both in one send to the topic's single partition, so every worker applies them in that order.
 *
 *   shadow   both versions score every record; the champion's prediction is emitted, the
 *            challenger's goes into the headers kappa.challenger.version / kappa.challenger.prediction
 *   canary   a share of the records, chosen by a hash of the record key (sticky: one key always
 *            goes to the same version), is scored by the challenger, whose prediction is emitted
 */
import { createHash } from 'crypto';
import { ControlMessageError, encodeControl, parseControl, type ModelControl } from './control';
import type { ControlLog } from './control-log';

export type ChallengerMode = 'shadow' | 'canary';
export const CHALLENGER_MODES: readonly ChallengerMode[] = ['shadow', 'canary'];

/** Appended to the model id to form the key of the challenger record. */
export const CHALLENGER_KEY_SUFFIX = '/challenger';

export const HEADER_CHALLENGER_VERSION = 'kappa.challenger.version';
export const HEADER_CHALLENGER_PREDICTION = 'kappa.challenger.prediction';

export interface ChallengerControl {
  readonly id: string;
  readonly version: string;
  readonly mode: ChallengerMode;
  /** canary: the share of records (by key) the challenger scores, in (0, 1]; shadow: 1 (every record) */
  readonly share: number;
  /** the challenger version's model-control message */
  readonly model: ModelControl;
  /** epoch ms when set (REST API, CLI) */
  readonly set_at: number | null;
}

export function challengerKey(id: string): string {
  return `${id}${CHALLENGER_KEY_SUFFIX}`;
}

/** The model id a control-topic key names a challenger for, or null for any other key. */
export function challengerModelId(key: string): string | null {
  return key.endsWith(CHALLENGER_KEY_SUFFIX) ? key.slice(0, -CHALLENGER_KEY_SUFFIX.length) : null;
}

function parseShare(mode: ChallengerMode, raw: unknown): number {
  if (mode === 'shadow') {
    if (raw !== undefined && raw !== null && raw !== 1) throw new ControlMessageError(`'share' applies to canary mode only (shadow scores every record with both versions)`);
    return 1;
  }
  const share = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof share !== 'number' || !Number.isFinite(share) || share <= 0 || share > 1) {
    throw new ControlMessageError(`'share' must be a number in (0, 1] for canary mode (the share of records the challenger scores), got ${JSON.stringify(raw)}`);
  }
  return share;
}

/** The mode and share of a challenger request or record. Throws ControlMessageError. */
export function parseRollout(o: Record<string, unknown>): { mode: ChallengerMode; share: number } {
  const mode = typeof o['mode'] === 'string' ? o['mode'].toLowerCase() : o['mode'];
  if (!CHALLENGER_MODES.includes(mode as ChallengerMode)) throw new ControlMessageError(`'mode' must be one of ${CHALLENGER_MODES.join(', ')}, got ${JSON.stringify(o['mode'])}`);
  return { mode: mode as ChallengerMode, share: parseShare(mode as ChallengerMode, o['share']) };
}

/** Validates a challenger record's value (decoded JSON). Throws ControlMessageError. */
export function parseChallenger(value: unknown): ChallengerControl {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ControlMessageError('a challenger record must be a JSON object');
  const o = value as Record<string, unknown>;
  const model = parseControl(o['model']);
  const { mode, share } = parseRollout(o);
  if (o['id'] !== undefined && o['id'] !== model.id) throw new ControlMessageError(`'id' ${JSON.stringify(o['id'])} differs from the model's id ${JSON.stringify(model.id)}`);
  if (o['version'] !== undefined && String(o['version']) !== model.version) throw new ControlMessageError(`'version' ${JSON.stringify(o['version'])} differs from the model's version ${JSON.stringify(model.version)}`);
  const at = o['set_at'];
  return { id: model.id, version: model.version, mode, share, model, set_at: typeof at === 'number' && Number.isFinite(at) ? at : null };
}

export function decodeChallenger(value: Buffer): ChallengerControl {
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (e) {
    throw new ControlMessageError(`not JSON: ${(e as Error).message}`);
  }
  return parseChallenger(json);
}

export function encodeChallenger(c: ChallengerControl): Buffer {
  return Buffer.from(JSON.stringify(c), 'utf8');
}

/** The control-topic record setting (value) or removing (null) the challenger of model `id`. */
export function challengerRecord(topic: string, id: string, c: ChallengerControl | null): { topic: string; key: Buffer; value: Buffer | null } {
  return { topic, key: Buffer.from(challengerKey(id), 'utf8'), value: c ? encodeChallenger(c) : null };
}

/**
 * The records of a promotion: the challenger's version published under the model's key (newest,
 * so served from the next batch of every partition), then the challenger removed. Sent together,
 * they land in this order on the topic's single partition.
 */
export function promotionRecords(topic: string, c: ChallengerControl, now = Date.now()): { topic: string; key: Buffer; value: Buffer | null }[] {
  return [
    { topic, key: Buffer.from(c.id, 'utf8'), value: encodeControl({ ...c.model, published_at: now }) },
    challengerRecord(topic, c.id, null),
  ];
}

/** A challenger request that names what is not there (404) or conflicts with what is (409). */
export class ChallengerRequestError extends Error {
  override name = 'ChallengerRequestError';
  constructor(readonly status: 404 | 409, message: string) {
    super(message);
  }
}

/**
 * Turns a request `{version, mode, share}` for model `id` into its challenger record. The version
 * is one published for the model already, or, when the body also carries an artifact (`uri` or
 * `artifact_base64`, with the other fields of a publish), a new version that is published only as
 * the challenger (prepared by `prepareVersion`, as a publish is). The newest version of the model
 * (the one it serves) cannot be its own challenger. Throws ControlMessageError for an invalid
 * request, ChallengerRequestError for an unknown model or version (404) or a version published
 * with another artifact (409).
 */
export async function prepareChallenger(
  id: string, body: unknown, log: ControlLog, prepareVersion: (body: Record<string, unknown>) => Promise<ModelControl>, now = Date.now(),
): Promise<ChallengerControl> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ControlMessageError('the request body must be a JSON object {"version": …, "mode": "shadow"|"canary", "share": …}');
  const o = body as Record<string, unknown>;
  const { mode, share } = parseRollout(o);
  const v = o['version'];
  if ((typeof v !== 'string' || v.trim() === '') && typeof v !== 'number') throw new ControlMessageError(`'version' is required: the version to score as the challenger`);
  const version = String(v);
  if (o['id'] !== undefined && o['id'] !== id) throw new ControlMessageError(`the body's id ${JSON.stringify(o['id'])} does not match the path's ${JSON.stringify(id)}`);
  const versions = log.versions(id);
  if (!versions) throw new ChallengerRequestError(404, `Model ${id} not found`);
  const published = versions.find((c) => c.version === version);
  let model: ModelControl;
  if (o['uri'] !== undefined || o['artifact_base64'] !== undefined) {
    const { mode: _m, share: _s, ...fields } = o;
    model = await prepareVersion({ ...fields, id, version });
    if (published && published.sha256 !== model.sha256) throw new ChallengerRequestError(409, `Model ${id} version ${version} already exists with sha256 ${published.sha256}; publish a new version`);
  } else {
    if (!published) throw new ChallengerRequestError(404, `Model ${id} has no version ${version}; give its 'uri' (or 'artifact_base64') and 'input' to publish it as the challenger`);
    model = published;
  }
  if (versions[versions.length - 1]!.version === version) throw new ControlMessageError(`version ${version} is the newest version of model ${id}, the one it serves; a challenger must be another version`);
  return { id, version, mode, share, model, set_at: now };
}

// ------------------------------------------------------------------ the sticky split

/**
 * The bytes a record's key is hashed from: the key as the key converter gave it (bytes as they
 * are, a string in UTF-8, numbers and booleans as their decimal text, other values as JSON), so
 * with StringConverter or ByteArrayConverter these are the key's bytes on the topic.
 */
export function keyBytes(key: unknown): Buffer | null {
  if (key === null || key === undefined) return null;
  if (Buffer.isBuffer(key)) return key;
  if (key instanceof Uint8Array) return Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  if (typeof key === 'string') return Buffer.from(key, 'utf8');
  if (typeof key === 'number' || typeof key === 'bigint' || typeof key === 'boolean') return Buffer.from(String(key), 'utf8');
  return Buffer.from(JSON.stringify(key, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? '', 'utf8');
}

/**
 * Where a record falls in [0, 1): the first 48 bits of the SHA-256 of its key bytes, or, for a
 * record without a key, of `<partition>/<offset>` (stable for that record, so a redelivery after a
 * restart goes to the same version, but records without keys are spread, not sticky). SHA-256 so
 * that similar keys (k1, k2, …) spread evenly whatever their pattern; a few hundred nanoseconds per
 * record next to a model call.
 */
export function splitPoint(key: unknown, partition: number, offset: number): number {
  const bytes = keyBytes(key) ?? Buffer.from(`${partition}/${offset}`, 'utf8');
  const h = createHash('sha256').update(bytes).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/** Whether a canary with `share` sends a record at `point` (splitPoint) to the challenger. */
export function goesToChallenger(point: number, share: number): boolean {
  return point < share;
}
