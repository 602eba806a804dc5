/**
 * Model artifacts: fetched from file:, http(s): or data: URIs under the worker's ArtifactPolicy
 * (artifact-policy.ts, artifact-sources.ts), checked against the sha256 of the control message,
 * and cached on disk by sha256 (`<cache dir>/<sha256>`), so after a restart a model loads from the
 * cache without touching its URI again. Concurrent requests for the same artifact share one fetch.
 */
import * as fs from 'fs';
import * as path from 'path';
import { sha256Hex } from './control';
import { ArtifactError, ArtifactPolicy } from './artifact-policy';
import { describeUri, readUri } from './artifact-sources';

export { ArtifactError, ArtifactPolicy } from './artifact-policy';
export { describeUri } from './artifact-sources';

export interface ArtifactStoreOptions {
  /** cache directory; null disables the disk cache */
  readonly cacheDir: string | null;
  /** which URIs may be read, and how much */
  readonly policy: ArtifactPolicy;
}

export class ArtifactStore {
  private readonly inflight = new Map<string, Promise<Uint8Array>>();
  /** fetches that went to the URI (not the cache); for tests and stats */
  fetches = 0;

  constructor(readonly options: ArtifactStoreOptions) {}

  private cachePath(sha256: string): string | null {
    return this.options.cacheDir ? path.join(this.options.cacheDir, sha256) : null;
  }

  /** The artifact's bytes, verified against `sha256` (from the cache when present and intact). */
  get(uri: string, sha256: string): Promise<Uint8Array> {
    const key = `${sha256} ${uri}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.load(uri, sha256).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async load(uri: string, sha256: string): Promise<Uint8Array> {
    // the policy holds for cached artifacts too: a message naming a forbidden URI is refused alike
    this.options.policy.checkUri(uri);
    const cached = this.cachePath(sha256);
    if (cached) {
      try {
        const bytes = new Uint8Array(await fs.promises.readFile(cached));
        if (sha256Hex(bytes) === sha256) return bytes;
        await fs.promises.rm(cached, { force: true }); // corrupt cache entry: fetch again
      } catch {
        /* not cached */
      }
    }
    this.fetches++;
    const bytes = await this.fetch(uri);
    const actual = sha256Hex(bytes);
    if (actual !== sha256) {
      throw new ArtifactError('SHA256_MISMATCH', `artifact ${describeUri(uri)} has sha256 ${actual}, but the model-control message says ${sha256}: refusing it`);
    }
    if (cached) {
      try {
        await fs.promises.mkdir(path.dirname(cached), { recursive: true });
        const tmp = `${cached}.${process.pid}.${Date.now()}.tmp`;
        await fs.promises.writeFile(tmp, bytes);
        await fs.promises.rename(tmp, cached);
      } catch {
        /* the cache is an optimisation */
      }
    }
    return bytes;
  }

  /** Reads the bytes behind a URI under the policy (no verification). */
  fetch(uri: string): Promise<Uint8Array> {
    return readUri(uri, this.options.policy);
  }
}
