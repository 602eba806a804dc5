/**
 * A read model of the model-control topic, without loading anything: every model id with the
 * versions published for it (in topic order) and its challenger, as the REST API and the CLI show
 * them. Tombstones remove the model (and its challenger).
 */
import { artifactSha } from './artifact-uri';
import { challengerModelId, decodeChallenger, type ChallengerControl } from './challenger';
import { ControlMessageError, dataUri, decodeControl, encodeControl, parseControl, sha256Hex, type ModelControl } from './control';

export class ControlLog {
  private readonly models = new Map<string, ModelControl[]>();
  private readonly challengers = new Map<string, ChallengerControl>();
  /** messages that could not be decoded (key → reason), for diagnostics */
  readonly invalid = new Map<string, string>();
  /** highest offset applied per partition: a re-read of the topic is skipped, as in the catalog */
  private readonly applied = new Map<number, number>();

  apply(key: Buffer | string | null, value: Buffer | null, position?: { partition: number; offset: number }): void {
    if (position) {
      const last = this.applied.get(position.partition);
      if (last !== undefined && position.offset <= last) return;
      this.applied.set(position.partition, position.offset);
    }
    const id = key === null ? null : key.toString();
    if (id === null) return;
    const challengerOf = challengerModelId(id);
    if (challengerOf !== null) {
      this.applyChallenger(id, challengerOf, value);
      return;
    }
    if (value === null || value.length === 0) {
      this.models.delete(id);
      this.challengers.delete(id);
      this.invalid.delete(id);
      return;
    }
    let m: ModelControl;
    try {
      m = decodeControl(value);
    } catch (e) {
      this.invalid.set(id, (e as Error).message);
      return;
    }
    if (m.id !== id) return;
    const versions = (this.models.get(id) ?? []).filter((v) => v.version !== m.version);
    versions.push(m);
    this.models.set(id, versions);
  }

  private applyChallenger(key: string, id: string, value: Buffer | null): void {
    this.invalid.delete(key);
    if (value === null || value.length === 0) {
      this.challengers.delete(id);
      return;
    }
    try {
      const c = decodeChallenger(value);
      if (c.id === id) this.challengers.set(id, c);
    } catch (e) {
      this.invalid.set(key, (e as Error).message);
    }
  }

  /** the challenger of a model, if one is set */
  challenger(id: string): ChallengerControl | undefined {
    return this.challengers.get(id);
  }

  ids(): string[] {
    return [...this.models.keys()].sort();
  }

  /** versions in publish order (the last one is the newest); undefined when unknown or retired */
  versions(id: string): readonly ModelControl[] | undefined {
    return this.models.get(id);
  }

  latest(id: string): ModelControl | undefined {
    const v = this.models.get(id);
    return v?.[v.length - 1];
  }
}

/** The record to produce on the control topic for a publish (value) or a retirement (null). */
export function controlRecord(topic: string, id: string, control: ModelControl | null): { topic: string; key: Buffer; value: Buffer | null } {
  return { topic, key: Buffer.from(id, 'utf8'), value: control ? encodeControl(control) : null };
}

/**
 * Turns a publish request into a control message: `artifact_base64` becomes a data: URI, a missing
 * sha256 is computed from the artifact (fetched once; a kafka-artifact: URI names it), `published_at`
 * is set. Throws
 * ControlMessageError / ArtifactError with a message for the user.
 */
export async function preparePublish(body: unknown, fetchArtifact: (uri: string) => Promise<Uint8Array>, now = Date.now()): Promise<ModelControl> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ControlMessageError('the request body must be a JSON model-control message');
  const o: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  if (typeof o['artifact_base64'] === 'string') {
    if (o['uri'] !== undefined && o['uri'] !== null) throw new ControlMessageError(`give either 'uri' or 'artifact_base64', not both`);
    o['uri'] = dataUri(Buffer.from(o['artifact_base64'] as string, 'base64'));
  }
  delete o['artifact_base64'];
  // a remote model has no artifact to hash (parseControl derives its sha256 from its endpoint)
  const remote = typeof o['format'] === 'string' && o['format'].toLowerCase() === 'remote';
  if ((o['sha256'] === undefined || o['sha256'] === null) && typeof o['uri'] === 'string' && !remote) {
    const named = artifactSha(o['uri']);
    if (named !== null) {
      o['sha256'] = named; // a kafka-artifact: URI names it
    } else {
      o['sha256'] = '0'.repeat(64); // placeholder so the rest validates first
      const checked = parseControl(o);
      o['sha256'] = sha256Hex(await fetchArtifact(checked.uri));
    }
  }
  delete o['source_uri']; // set by the worker only, when it copies the artifact
  o['published_at'] = now;
  return parseControl(o);
}
