/**
 * Model artifacts: fetched from file:, http(s): or data: URIs under the worker's ArtifactPolicy
 * (artifact-policy.ts, artifact-sources.ts), or reassembled from the worker's artifact topic for
 * `kafka-artifact:sha256:<hex>` URIs (artifact-topic.ts); checked against the sha256 of the
 * control message, and cached on disk by sha256 (`<cache dir>/<sha256>`), so after a restart a
 * model loads from the cache without touching its URI again. Concurrent requests for the same
 * artifact share one fetch.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Logger } from '../../api';
import { sha256Hex } from './control';
import { ArtifactError, ArtifactPolicy } from './artifact-policy';
import { describeUri, readUri } from './artifact-sources';
import type { ArtifactTopic } from './artifact-topic';
import { artifactSha } from './artifact-uri';

export { ArtifactError, ArtifactPolicy } from './artifact-policy';
export { describeUri } from './artifact-sources';

export interface ArtifactStoreOptions {
  /** cache directory; null disables the disk cache */
  readonly cacheDir: string | null;
  /** which URIs may be read, and how much */
  readonly policy: ArtifactPolicy;
  /** where kafka-artifact: URIs are read from; without it they are refused */
  readonly topic?: ArtifactTopic;
  readonly logger?: Logger;
}

let tmpFiles = 0;

/** A fresh temporary file name in `dir` (the cache directory, so that a rename moves it into the cache). */
export function tmpFileIn(dir: string | null, what: string): string {
  return path.join(dir ?? os.tmpdir(), `.${what}-${process.pid}-${Date.now()}-${++tmpFiles}.tmp`);
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
    if (artifactSha(uri) !== null) return this.loadFromTopic(uri, sha256, cached);
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

  /**
   * A kafka-artifact: URI: the chunks are written to a file at their place (in the cache directory
   * when there is one, then renamed into the cache), its sha256 checked, and the file read once.
   */
  private async loadFromTopic(uri: string, sha256: string, cached: string | null): Promise<Uint8Array> {
    const topic = this.options.topic;
    if (!topic) throw new ArtifactError('UNREACHABLE', `artifact ${uri} is stored in Kafka, but this process has no access to the model artifact topic`);
    if (artifactSha(uri) !== sha256) {
      throw new ArtifactError('SHA256_MISMATCH', `artifact ${uri} names another sha256 than the model-control message (${sha256})`);
    }
    // the cache is an optimisation: without a usable cache directory the file goes to the system's temp directory
    const cacheUsable = cached !== null && await fs.promises.mkdir(path.dirname(cached), { recursive: true }).then(() => fs.promises.access(path.dirname(cached), fs.constants.W_OK)).then(() => true, () => false);
    const tmp = tmpFileIn(cacheUsable ? path.dirname(cached) : null, `artifact-${sha256.slice(0, 12)}`);
    const started = Date.now();
    try {
      const manifest = await topic.readToFile(sha256, tmp, this.options.policy.maxBytes);
      const bytes = new Uint8Array(await fs.promises.readFile(tmp));
      this.options.logger?.info(`artifact ${sha256.slice(0, 12)}… read from topic ${topic.topic}: ${manifest.size} bytes in ${manifest.chunks} chunks, ${Date.now() - started} ms`);
      if (cacheUsable) await fs.promises.rename(tmp, cached).catch(() => undefined);
      return bytes;
    } finally {
      await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  /** Reads the bytes behind a URI under the policy (no verification; kafka-artifact: URIs are verified). */
  fetch(uri: string): Promise<Uint8Array> {
    const sha = artifactSha(uri);
    if (sha !== null) {
      this.options.policy.checkUri(uri);
      return this.loadFromTopic(uri, sha, null);
    }
    return readUri(uri, this.options.policy);
  }
}
