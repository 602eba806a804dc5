/**
 * The model catalog: what the model-control topic says, turned into models that can score.
 *
 * The catalog is fed the control topic in order (`apply`), from the beginning and then live. For
 * every model id it keeps the versions in publish order; the newest published version is the one
 * to serve. Versions are activated (artifact fetched, sha256-checked, cached, loaded, inputs
 * checked) lazily: on first use, or at once when a new version of a model already in use arrives,
 * in the background, so the stream never waits for a swap: until the new version is ready, the
 * previous one keeps scoring, and the switch is one pointer change. A version that cannot be
 * activated (unreachable URI, sha256 mismatch, inputs that do not fit) is refused: reported to
 * the listeners (scoring tasks put it in their status) and skipped, so the previous version keeps
 * serving. A tombstone retires the model. An expired version is not used: `fallback` serves the
 * newest earlier version that is usable, `error` fails the record, `passthrough` leaves it unscored.
 *
 * Re-reading the topic never changes what is served: the follower's consumer starts over from the
 * beginning after a reconnect or a rebalance, and those records are history the catalog has
 * already applied (a replayed tombstone + republish would otherwise retire and reload a serving
 * model). Records are therefore applied once per (partition, offset). A model that was handed out
 * as ready but cannot score (its inference sessions are gone) is reported and loaded again
 * (`recover`), instead of failing every record silently.
 */
import type { Logger } from '../../api';
import { ArtifactStore } from './artifacts';
import { ModelNotReachableError, type ModelBackend, type ServingModel } from './backends';
import { challengerModelId, decodeChallenger, type ChallengerControl, type ChallengerMode } from './challenger';
import { decodeControl, expiresAt, isExpired, type ModelControl, type ModelFormat } from './control';
import { threadMetrics } from '../../metrics/thread-metrics';

export type ExpiredPolicy = 'fallback' | 'error' | 'passthrough';
export type MissingPolicy = 'error' | 'passthrough';

/** A challenger ready to score beside the champion (see challenger.ts). */
export interface ChallengerModel {
  readonly mode: ChallengerMode;
  readonly share: number;
  readonly model: ServingModel;
}

export type Resolution =
  | { readonly kind: 'model'; readonly model: ServingModel; readonly challenger?: ChallengerModel }
  | { readonly kind: 'error'; readonly error: Error }
  | { readonly kind: 'passthrough'; readonly reason: string };

export type VersionState = 'known' | 'loading' | 'ready' | 'refused';

interface VersionEntry {
  control: ModelControl;
  /** publish order within the model (the latest publish of this version) */
  seq: number;
  state: VersionState;
  error?: string;
  model?: ServingModel;
  loading?: Promise<void>;
  unloadTimer?: NodeJS.Timeout;
  /** refused because unreachable (ModelNotReachableError): activated again from this time on */
  retryAt?: number;
  retryDelayMs?: number;
}

/** Backoff of activations of unreachable models: 2 s, doubling, at most a minute. */
const RETRY_FIRST_MS = 2000;
const RETRY_MAX_MS = 60_000;

interface ModelEntry {
  readonly id: string;
  versions: VersionEntry[];
  retired: boolean;
  /** the version the last resolution served */
  serving?: VersionEntry;
  /** resolved at least once in this process: new versions are activated eagerly */
  inUse: boolean;
}

/** The challenger of a model: its record, and the version entry that loads it. */
interface ChallengerEntry {
  readonly control: ChallengerControl;
  /** shared with the model's versions when they hold the same version and artifact (one load) */
  readonly version: VersionEntry;
}

export class ModelUnavailableError extends Error {
  override name = 'ModelUnavailableError';
}

export interface ModelCatalogOptions {
  readonly artifacts: ArtifactStore;
  readonly backends: Partial<Record<ModelFormat, ModelBackend>>;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** how long a superseded version stays loaded for batches that already picked it (default 30 s) */
  readonly unloadGraceMs?: number;
}

export interface VersionSnapshot {
  readonly version: string;
  readonly state: VersionState;
  readonly error?: string;
  readonly expired: boolean;
  readonly serving: boolean;
  readonly control: ModelControl;
}

export interface ChallengerSnapshot {
  readonly version: string;
  readonly mode: ChallengerMode;
  readonly share: number;
  readonly state: VersionState;
  readonly error?: string;
}

export interface ModelSnapshot {
  readonly id: string;
  readonly retired: boolean;
  readonly latest?: string;
  readonly serving?: string;
  readonly versions: VersionSnapshot[];
  readonly challenger?: ChallengerSnapshot;
}

export type CatalogListener = (modelId: string, message: string) => void;

/** Where a control record sits in its topic. */
export interface ControlPosition {
  readonly partition: number;
  readonly offset: number;
}

export class ModelCatalog {
  private readonly models = new Map<string, ModelEntry>();
  /** by model id; kept apart from the models because the records are (a compacted topic may
   * hold a challenger record before the only surviving record of its model) */
  private readonly challengers = new Map<string, ChallengerEntry>();
  private readonly listeners = new Set<CatalogListener>();
  private seq = 0;
  private closed = false;
  /** the highest offset applied per partition of the control topic */
  private readonly applied = new Map<number, number>();
  /** records skipped because they were applied before (re-reads of the topic) */
  replayedRecords = 0;
  private readonly now: () => number;

  constructor(private readonly options: ModelCatalogOptions) {
    this.now = options.now ?? Date.now;
  }

  // ------------------------------------------------------------------ feeding

  /**
   * One record of the control topic: key = model id, value = JSON message or null (tombstone).
   * With its `position`, a record at or before one already applied is a re-read and is skipped.
   */
  apply(key: Buffer | string | null, value: Buffer | null, position?: ControlPosition): void {
    if (position) {
      const last = this.applied.get(position.partition);
      if (last !== undefined && position.offset <= last) {
        if (this.replayedRecords++ === 0 || position.offset === 0) {
          this.options.logger?.info(`model-control topic re-read from partition ${position.partition} offset ${position.offset}: records up to offset ${last} were applied already and are skipped`);
        }
        return;
      }
      this.applied.set(position.partition, position.offset);
    }
    const id = key === null ? null : key.toString();
    const challengerOf = id === null ? null : challengerModelId(id);
    if (challengerOf !== null) {
      this.applyChallenger(challengerOf, value);
      return;
    }
    if (value === null || value.length === 0) {
      if (id) this.retire(id);
      return;
    }
    let control: ModelControl;
    try {
      control = decodeControl(value);
    } catch (e) {
      this.warn(id ?? '?', `ignoring an invalid model-control message for key ${JSON.stringify(id)}: ${(e as Error).message}`);
      return;
    }
    if (id !== null && id !== control.id) {
      this.warn(control.id, `ignoring a model-control message keyed ${JSON.stringify(id)} whose id is ${JSON.stringify(control.id)} (the key must be the model id)`);
      return;
    }
    this.publish(control);
  }

  private applyChallenger(id: string, value: Buffer | null): void {
    if (value === null || value.length === 0) {
      this.clearChallenger(id);
      return;
    }
    let control: ChallengerControl;
    try {
      control = decodeChallenger(value);
    } catch (e) {
      this.warn(id, `ignoring an invalid challenger record for model ${JSON.stringify(id)}: ${(e as Error).message}`);
      return;
    }
    if (control.id !== id) {
      this.warn(id, `ignoring a challenger record keyed for model ${JSON.stringify(id)} whose model is ${JSON.stringify(control.id)}`);
      return;
    }
    this.setChallenger(control);
  }

  /** A challenger was set (or changed) for a model: it scores beside the serving version. */
  setChallenger(control: ChallengerControl): void {
    if (this.closed) return;
    const entry = this.models.get(control.id);
    const previous = this.challengers.get(control.id);
    const same = (v: VersionEntry | undefined) => v !== undefined && v.state !== 'refused' && v.control.version === control.version && v.control.sha256 === control.model.sha256;
    // one load per version and artifact, whichever role it plays
    let version = entry?.retired ? undefined : entry?.versions.find((v) => same(v));
    if (!version && same(previous?.version)) version = previous!.version;
    version ??= { control: control.model, seq: 0, state: 'known' };
    this.challengers.set(control.id, { control, version });
    if (previous && previous.version !== version) this.releaseChallenger(control.id, previous);
    this.options.logger?.info(`model ${control.id}: challenger version ${control.version} (${control.mode}${control.mode === 'canary' ? `, share ${control.share}` : ''})`);
    if (entry && !entry.retired && entry.inUse) void this.activate(entry, version);
  }

  /** The challenger was removed (rollback, or after a promotion): the champion scores alone. */
  clearChallenger(id: string): void {
    const ch = this.challengers.get(id);
    if (!ch) return;
    this.challengers.delete(id);
    this.options.logger?.info(`model ${id}: challenger version ${ch.control.version} removed`);
    this.releaseChallenger(id, ch);
  }

  private releaseChallenger(id: string, ch: ChallengerEntry): void {
    const entry = this.models.get(id);
    const v = ch.version;
    if (entry && !entry.retired && entry.versions.includes(v)) {
      // also a version of the model: unloaded like a superseded version, unless it is the newest
      // (just promoted: it serves from the next resolution)
      const newest = entry.versions[entry.versions.length - 1];
      if (entry.serving !== v && v !== newest && v.state === 'ready') this.scheduleUnload(entry, v);
      return;
    }
    if (v.unloadTimer) clearTimeout(v.unloadTimer);
    const model = v.model;
    v.model = undefined;
    v.state = 'known';
    // batches in flight may still use it
    if (model) setTimeout(() => void model.close(), this.options.unloadGraceMs ?? 30_000).unref();
  }

  private isChallenger(id: string, v: VersionEntry): boolean {
    return this.challengers.get(id)?.version === v;
  }

  /** A version was published: it becomes the newest version of its model. */
  publish(control: ModelControl): void {
    if (this.closed) return;
    let entry = this.models.get(control.id);
    if (!entry || entry.retired) {
      if (entry) this.dropAll(entry);
      entry = { id: control.id, versions: [], retired: false, inUse: entry?.inUse ?? false };
      this.models.set(control.id, entry);
    }
    const existing = entry.versions.find((v) => v.control.version === control.version);
    let head: VersionEntry;
    if (existing && existing.state !== 'refused' && existing.control.sha256 !== control.sha256) {
      this.warn(control.id, `model ${control.id} version ${control.version} was already published with artifact sha256 ${existing.control.sha256}; ignoring the republish with sha256 ${control.sha256} (publish a new version instead)`);
      return;
    }
    if (existing && existing.state !== 'refused') {
      // republishing a version (e.g. a rollback) makes it the newest again; metadata may change
      existing.control = control;
      existing.seq = ++this.seq;
      head = existing;
    } else {
      if (existing) entry.versions = entry.versions.filter((v) => v !== existing);
      // a promoted challenger: the version it loaded serves at once, without a second load
      const ch = this.challengers.get(control.id)?.version;
      if (ch && ch.state !== 'refused' && ch.control.version === control.version && ch.control.sha256 === control.sha256) {
        ch.control = control;
        ch.seq = ++this.seq;
        head = ch;
      } else {
        head = { control, seq: ++this.seq, state: 'known' };
      }
      entry.versions.push(head);
    }
    entry.versions.sort((a, b) => a.seq - b.seq);
    this.options.logger?.info(`model ${control.id} version ${control.version} published (${control.format}, sha256 ${control.sha256.slice(0, 12)}…)`);
    // A model already serving gets its new version activated now, in the background.
    if (entry.inUse) void this.activate(entry, head);
  }

  /** A tombstone: the model is retired; records asking for it get the missing policy. */
  retire(id: string): void {
    const entry = this.models.get(id);
    if (!entry || entry.retired) return;
    entry.retired = true;
    entry.serving = undefined;
    this.options.logger?.info(`model ${id} retired`);
    const ch = this.challengers.get(id);
    this.challengers.delete(id);
    this.dropAll(entry);
    if (ch && !entry.versions.includes(ch.version)) this.releaseChallenger(id, ch);
  }

  // ------------------------------------------------------------------ serving

  /**
   * The model version to score with now, activating it if needed. Never waits for a newer version
   * to load when an older one is ready (no pause on swap); waits only when nothing is ready yet.
   */
  async resolve(id: string, expiredPolicy: ExpiredPolicy = 'fallback', missingPolicy: MissingPolicy = 'error'): Promise<Resolution> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const entry = this.models.get(id);
      if (this.closed || !entry || entry.retired) {
        const reason = this.closed ? 'the model catalog is closed' : entry?.retired ? `model ${id} is retired` : `model ${id} is not in the model catalog`;
        return missingPolicy === 'passthrough' ? { kind: 'passthrough', reason } : { kind: 'error', error: new ModelUnavailableError(reason) };
      }
      entry.inUse = true;
      const now = this.now();
      const usable = entry.versions.filter((v) => !this.refusedAt(v, now)).reverse(); // newest first
      if (usable.length === 0) return { kind: 'error', error: new ModelUnavailableError(this.noVersionMessage(entry)) };
      // the newest usable version under the expiry policy
      let target: VersionEntry | undefined;
      for (const v of usable) {
        if (isExpired(v.control, now)) {
          if (expiredPolicy === 'error') return { kind: 'error', error: new ModelUnavailableError(`model ${id} version ${v.control.version} expired at ${new Date(expiresAt(v.control)!).toISOString()}`) };
          if (expiredPolicy === 'passthrough') return { kind: 'passthrough', reason: `model ${id} version ${v.control.version} expired` };
          continue; // fallback: try the previous version
        }
        target = v;
        break;
      }
      if (!target) return { kind: 'error', error: new ModelUnavailableError(`model ${id}: every version has expired or was refused (${this.noVersionMessage(entry)})`) };
      if (target.state === 'ready') return this.withChallenger(entry, this.serve(entry, target));
      // not ready: start it, and meanwhile serve an older ready version if there is one (unless the
      // target served already and is being reloaded: versions never go back)
      const loading = this.activate(entry, target);
      const older = entry.serving === target ? undefined : usable.slice(usable.indexOf(target) + 1).find((v) => v.state === 'ready' && !isExpired(v.control, now));
      if (older) return this.withChallenger(entry, this.serve(entry, older));
      await loading;
      // loop: the target is now ready (served) or refused (skipped)
    }
    return { kind: 'error', error: new ModelUnavailableError(`model ${id}: could not settle on a version`) };
  }

  /**
   * Adds the model's challenger to a resolution when it is ready, another version than the one
   * served, and not expired. Not ready yet: it is activated in the background, and the champion
   * scores alone until then (the stream never waits for a challenger).
   */
  private withChallenger(entry: ModelEntry, res: Resolution): Resolution {
    const ch = this.challengers.get(entry.id);
    if (!ch || res.kind !== 'model' || ch.control.version === res.model.version) return res;
    const v = ch.version;
    if (isExpired(v.control, this.now())) return res;
    if (v.state !== 'ready') {
      void this.activate(entry, v);
      return res;
    }
    if (v.unloadTimer) {
      clearTimeout(v.unloadTimer);
      v.unloadTimer = undefined;
    }
    return { ...res, challenger: { mode: ch.control.mode, share: ch.control.share, model: v.model! } };
  }

  private serve(entry: ModelEntry, v: VersionEntry): Resolution {
    if (entry.serving !== v) {
      const previous = entry.serving;
      entry.serving = v;
      this.options.logger?.info(`model ${entry.id}: now serving version ${v.control.version}${previous ? ` (was ${previous.control.version})` : ''}`);
      // older loaded versions are released after a grace period (batches in flight may use them)
      for (const o of entry.versions) if (o !== v && o.state === 'ready' && o.seq < v.seq && !this.isChallenger(entry.id, o)) this.scheduleUnload(entry, o);
    }
    if (v.unloadTimer) {
      clearTimeout(v.unloadTimer);
      v.unloadTimer = undefined;
    }
    return { kind: 'model', model: v.model! };
  }

  /** Refused at this time: for good, or unreachable with its next attempt still ahead. */
  private refusedAt(v: VersionEntry, now: number): boolean {
    return v.state === 'refused' && (v.retryAt === undefined || now < v.retryAt);
  }

  /** Fetches, verifies and loads a version; resolves when it is ready or refused (never rejects). */
  private activate(entry: ModelEntry, v: VersionEntry): Promise<void> {
    if (v.state === 'ready' || this.refusedAt(v, this.now())) return Promise.resolve();
    if (v.loading) return v.loading;
    v.state = 'loading';
    const c = v.control;
    v.loading = (async () => {
      try {
        const backend = this.options.backends[c.format];
        if (!backend) throw new Error(`format '${c.format}' is not supported by this worker`);
        // a remote model's uri is its inference endpoint, not an artifact to fetch
        const bytes = backend.readsArtifact === false ? new Uint8Array(0) : await this.options.artifacts.get(c.uri, c.sha256);
        const model = await backend.load(c, bytes);
        if (this.closed || entry.retired || (!entry.versions.includes(v) && !this.isChallenger(entry.id, v))) {
          await model.close();
          return;
        }
        v.model = model;
        v.state = 'ready';
        v.retryAt = v.retryDelayMs = undefined;
        this.options.logger?.info(`model ${c.id} version ${c.version} activated (${model.kind}, ${model.nFeatures} features)`);
      } catch (e) {
        const again = e instanceof ModelNotReachableError;
        const firstFailure = v.retryDelayMs === undefined;
        v.state = 'refused';
        v.error = (e as Error).message;
        if (again) {
          v.retryDelayMs = firstFailure ? RETRY_FIRST_MS : Math.min(RETRY_MAX_MS, v.retryDelayMs! * 2);
          v.retryAt = this.now() + v.retryDelayMs;
          v.error += ` (tried again from ${new Date(v.retryAt).toISOString()} on)`;
          // one warning per outage; the attempts after it are debug lines
          if (!firstFailure) {
            this.options.logger?.debug(`model ${c.id} version ${c.version} still unreachable: ${v.error}`);
            return;
          }
        }
        threadMetrics().activationRefusals.inc({ model: c.id });
        const alone = this.isChallenger(entry.id, v) && !entry.versions.includes(v) ? ' alone (the challenger is not used)' : '';
        const serving = entry.serving && entry.serving !== v && entry.serving.state === 'ready' ? `; version ${entry.serving.control.version} keeps serving${alone}` : '';
        this.warn(c.id, `model ${c.id} version ${c.version} refused: ${v.error}${serving}`);
      } finally {
        v.loading = undefined;
      }
    })();
    return v.loading;
  }

  /**
   * A model handed out as ready could not score because its inference sessions are gone (e.g. they
   * were released under it). Reported to the tasks using the model (their status shows it) and
   * loaded again on the next resolve; records are never failed for the catalog's inconsistency
   * without this report. A model the catalog no longer serves is left alone.
   */
  recover(model: ServingModel, reason: string): void {
    for (const entry of this.models.values()) {
      const ch = this.challengers.get(entry.id)?.version;
      for (const v of ch && !entry.versions.includes(ch) ? [...entry.versions, ch] : entry.versions) {
        if (v.model !== model) continue;
        if (v.unloadTimer) clearTimeout(v.unloadTimer);
        v.unloadTimer = undefined;
        v.model = undefined;
        v.state = 'known';
        this.warn(entry.id, `model ${entry.id} version ${v.control.version} was ready but could not score (${reason}); loading it again`);
        void model.close().catch(() => undefined);
        return;
      }
    }
  }

  private scheduleUnload(entry: ModelEntry, v: VersionEntry): void {
    if (v.unloadTimer) return;
    v.unloadTimer = setTimeout(() => {
      v.unloadTimer = undefined;
      if (entry.serving === v || v.state !== 'ready' || this.isChallenger(entry.id, v)) return;
      const model = v.model;
      v.model = undefined;
      v.state = 'known'; // can be activated again (e.g. as an expiry fallback)
      void model?.close();
    }, this.options.unloadGraceMs ?? 30_000);
    v.unloadTimer.unref();
  }

  private dropAll(entry: ModelEntry): void {
    const grace = this.options.unloadGraceMs ?? 30_000;
    for (const v of entry.versions) {
      if (v.unloadTimer) clearTimeout(v.unloadTimer);
      const model = v.model;
      v.model = undefined;
      if (model) setTimeout(() => void model.close(), grace).unref();
    }
  }

  private noVersionMessage(entry: ModelEntry): string {
    const refused = entry.versions.filter((v) => v.state === 'refused');
    if (refused.length === entry.versions.length) {
      return `model ${entry.id} has no usable version: ${refused.map((v) => `version ${v.control.version} refused (${v.error})`).join('; ')}`;
    }
    return entry.versions.map((v) => `version ${v.control.version} ${v.state}${v.error ? ` (${v.error})` : ''}${isExpired(v.control, this.now()) ? ' expired' : ''}`).join('; ');
  }

  // ------------------------------------------------------------------ observing

  /** Activates the newest version now (e.g. at task start for a fixed model id); never rejects. */
  async warmUp(id: string, expiredPolicy: ExpiredPolicy = 'fallback'): Promise<Resolution> {
    return this.resolve(id, expiredPolicy, 'error');
  }

  onWarning(listener: CatalogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private warn(modelId: string, message: string): void {
    this.options.logger?.warn(message);
    for (const l of this.listeners) {
      try {
        l(modelId, message);
      } catch {
        /* a listener's problem */
      }
    }
  }

  has(id: string): boolean {
    const e = this.models.get(id);
    return !!e && !e.retired;
  }

  snapshot(id?: string): ModelSnapshot[] {
    const now = this.now();
    const out: ModelSnapshot[] = [];
    for (const e of this.models.values()) {
      if (id !== undefined && e.id !== id) continue;
      out.push({
        id: e.id,
        retired: e.retired,
        latest: e.versions[e.versions.length - 1]?.control.version,
        serving: e.serving?.control.version,
        versions: e.versions.map((v) => ({
          version: v.control.version,
          state: v.state,
          ...(v.error ? { error: v.error } : {}),
          expired: isExpired(v.control, now),
          serving: e.serving === v,
          control: v.control,
        })),
        ...this.challengerSnapshot(e.id),
      });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  private challengerSnapshot(id: string): { challenger?: ChallengerSnapshot } {
    const ch = this.challengers.get(id);
    if (!ch) return {};
    const v = ch.version;
    return { challenger: { version: ch.control.version, mode: ch.control.mode, share: ch.control.share, state: v.state, ...(v.error ? { error: v.error } : {}) } };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing: Promise<void>[] = [];
    // every loaded version once, challengers that are not versions of their model included
    const all = new Set<VersionEntry>([...this.challengers.values()].map((c) => c.version));
    for (const e of this.models.values()) for (const v of e.versions) all.add(v);
    this.challengers.clear();
    for (const v of all) {
      if (v.unloadTimer) clearTimeout(v.unloadTimer);
      if (v.loading) closing.push(v.loading);
      if (v.model) closing.push(v.model.close());
      v.model = undefined;
    }
    await Promise.allSettled(closing);
    this.listeners.clear();
  }
}
