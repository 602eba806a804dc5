/**
 * Model artifacts: fetched from file:, http(s): or data: URIs, checked against the sha256 of the
 * control message, and cached on disk by sha256 (`<cache dir>/<sha256>`), so after a restart a
 * model loads from the cache without touching its URI again. Concurrent requests for the same
 * artifact share one fetch.
 */
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { sha256Hex } from './control';

export class ArtifactError extends Error {
  override name = 'ArtifactError';
  constructor(readonly code: 'UNREACHABLE' | 'SHA256_MISMATCH' | 'BAD_URI' | 'TOO_LARGE', message: string) {
    super(message);
  }
}

export interface ArtifactStoreOptions {
  /** cache directory; null disables the disk cache */
  readonly cacheDir: string | null;
  /** fetch timeout for http(s) (default 30 s) */
  readonly timeoutMs?: number;
  /** largest artifact accepted (default 512 MiB) */
  readonly maxBytes?: number;
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

  /** Reads the bytes behind a URI (no verification). */
  async fetch(uri: string): Promise<Uint8Array> {
    const max = this.options.maxBytes ?? 512 * 1024 * 1024;
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
    if (scheme === 'data') {
      const m = /^data:([^,]*?),(.*)$/is.exec(uri);
      if (!m) throw new ArtifactError('BAD_URI', `malformed data: URI`);
      const isBase64 = /;base64$/i.test(m[1]!);
      return new Uint8Array(isBase64 ? Buffer.from(m[2]!, 'base64') : Buffer.from(decodeURIComponent(m[2]!), 'utf8'));
    }
    if (scheme === 'file') {
      let file: string;
      try {
        file = fileURLToPath(uri);
      } catch {
        // file:relative/path (not a URL in the strict sense): relative to the working directory
        file = path.resolve(uri.slice('file:'.length));
      }
      try {
        const stat = await fs.promises.stat(file);
        if (stat.size > max) throw new ArtifactError('TOO_LARGE', `artifact ${uri} is ${stat.size} bytes, more than ${max}`);
        return new Uint8Array(await fs.promises.readFile(file));
      } catch (e) {
        if (e instanceof ArtifactError) throw e;
        throw new ArtifactError('UNREACHABLE', `cannot read artifact ${uri}: ${(e as Error).message}`);
      }
    }
    if (scheme === 'http' || scheme === 'https') {
      let res: Response;
      try {
        res = await fetch(uri, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000), redirect: 'follow' });
      } catch (e) {
        const cause = (e as { cause?: { message?: string; code?: string } }).cause;
        throw new ArtifactError('UNREACHABLE', `cannot fetch artifact ${describeUri(uri)}: ${(e as Error).message}${cause?.message ? ` (${cause.message})` : ''}`);
      }
      if (!res.ok) throw new ArtifactError('UNREACHABLE', `cannot fetch artifact ${describeUri(uri)}: HTTP ${res.status} ${res.statusText}`);
      const buf = new Uint8Array(await res.arrayBuffer());
      if (buf.length > max) throw new ArtifactError('TOO_LARGE', `artifact ${describeUri(uri)} is ${buf.length} bytes, more than ${max}`);
      return buf;
    }
    throw new ArtifactError('BAD_URI', `unsupported artifact URI ${describeUri(uri)}: use file:, http:, https: or data:`);
  }
}

/** A URI for messages: data: URIs are shortened, credentials are hidden. */
export function describeUri(uri: string): string {
  if (/^data:/i.test(uri)) return `data:(${uri.length} chars)`;
  return uri.replace(/^(https?:\/\/)[^@/]*@/i, '$1***@');
}
