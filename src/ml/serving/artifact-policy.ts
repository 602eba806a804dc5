/**
 * Which model artifact URIs this worker may read. A model-control message can be written by anyone
 * who can publish to the control topic or call `POST /models`, and the worker reads its `uri`
 * with the worker's own rights: without a policy, that is a way to hash any readable file (the
 * sha256 a publish computes) and to make the worker fetch any address (SSRF).
 *
 * - `file:` only names files under the allowed directories (the worker's model directory plus
 *   `kappa.model.file.allowed.dirs`), checked on the path as written and again on the real path
 *   (a symlink cannot lead out); devices, FIFOs, sockets and pseudo-filesystems are refused.
 * - `http(s):` only reaches hosts of `kappa.model.http.allowed.hosts`; every redirect target is
 *   checked again, and redirects are limited.
 * - `data:` is inline: it reads nothing.
 * - `kafka-artifact:sha256:<hex>` names chunks on the worker's own artifact topic (artifact-topic.ts).
 *
 * Refusals name the URI and the worker property to change, never anything read from the target.
 */
import * as path from 'path';
import { fileURLToPath } from 'url';
import { ARTIFACT_URI_PREFIX, ARTIFACT_URI_SCHEME, artifactSha } from './artifact-uri';

/** NOT_FOUND: a kafka-artifact: URI whose manifest or chunks are not on the artifact topic */
export type ArtifactErrorCode = 'UNREACHABLE' | 'SHA256_MISMATCH' | 'BAD_URI' | 'TOO_LARGE' | 'FORBIDDEN' | 'NOT_REGULAR' | 'NOT_FOUND';

export class ArtifactError extends Error {
  override name = 'ArtifactError';
  constructor(readonly code: ArtifactErrorCode, message: string) {
    super(message);
  }
}

export interface ArtifactPolicyOptions {
  /** absolute directories file: URIs may name files under; '/' allows every file */
  readonly fileDirs: readonly string[];
  /** what a relative `file:name` is relative to (default: the working directory) */
  readonly baseDir?: string;
  /** `host` (any port) or `host:port` (IPv6 in brackets) http(s) may reach; '*' allows every host */
  readonly httpHosts: readonly string[];
  /** redirects followed per fetch, each target checked against httpHosts */
  readonly maxRedirects: number;
  /** largest artifact read (bytes) */
  readonly maxBytes: number;
  /** http(s) fetch timeout (ms) */
  readonly timeoutMs: number;
}

/** Defaults of the worker properties (see servingSettings). */
export const DEFAULT_MAX_ARTIFACT_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 3;
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

/** Pseudo-filesystems whose "files" are not model artifacts (and may be endless or have side effects). */
const PSEUDO_ROOTS = ['/proc', '/sys', '/dev'];

export function isUnder(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

interface HostRule {
  readonly host: string;
  readonly port: string | null;
}

function parseHostRule(entry: string): HostRule {
  const e = entry.trim().toLowerCase();
  const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(e);
  if (!m) throw new Error(`'${entry}' is not a host or host:port`);
  return { host: m[1]!, port: m[2] ?? null };
}

export class ArtifactPolicy {
  readonly fileDirs: readonly string[];
  private readonly hostRules: readonly HostRule[];
  private readonly anyHost: boolean;

  constructor(readonly options: ArtifactPolicyOptions) {
    this.fileDirs = options.fileDirs.map((d) => path.resolve(d));
    this.anyHost = options.httpHosts.some((h) => h.trim() === '*');
    this.hostRules = options.httpHosts.filter((h) => h.trim() !== '' && h.trim() !== '*').map(parseHostRule);
  }

  /**
   * For a process reading its own user's files on their behalf (the CLI computing a sha256):
   * any file and host, still only regular files, with the size limit.
   */
  static local(): ArtifactPolicy {
    return new ArtifactPolicy({ fileDirs: ['/'], httpHosts: ['*'], maxRedirects: DEFAULT_MAX_REDIRECTS, maxBytes: DEFAULT_MAX_ARTIFACT_BYTES, timeoutMs: DEFAULT_HTTP_TIMEOUT_MS });
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** The local path a file: URI names: `file:///abs/path`, or `file:relative/path` under `baseDir`. */
  filePath(uri: string): string {
    if (/^file:\/\//i.test(uri)) return fileURLToPath(uri);
    return path.resolve(this.options.baseDir ?? '.', decodeURIComponent(uri.slice('file:'.length).split(/[?#]/)[0]!));
  }

  /** Checks a path (as written, or its real path) against the allowed directories. */
  checkFile(uri: string, file: string): void {
    const normal = path.resolve(file);
    if (PSEUDO_ROOTS.some((root) => isUnder(root, normal))) {
      throw new ArtifactError('NOT_REGULAR', `artifact ${uri} is on a device or pseudo-filesystem (${PSEUDO_ROOTS.join(', ')}), not a model file`);
    }
    if (!this.fileDirs.some((dir) => isUnder(dir, normal))) {
      throw new ArtifactError('FORBIDDEN', `artifact ${uri} is outside the directories this worker reads models from (${this.fileDirs.join(', ') || 'none'}); ` +
        'see the worker properties kappa.model.dir and kappa.model.file.allowed.dirs');
    }
  }

  /** Checks an http(s) URL (the first one and every redirect target) against the allowed hosts. */
  checkHttp(uri: string, url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ArtifactError('FORBIDDEN', `artifact ${uri} leads to a ${url.protocol} URL; only http: and https: are followed`);
    }
    if (this.anyHost) return;
    const host = url.hostname.toLowerCase();
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    if (this.hostRules.some((r) => r.host === host && (r.port === null || r.port === port))) return;
    throw new ArtifactError('FORBIDDEN', `artifact ${uri}: host ${url.host} is not allowed for model downloads (worker property kappa.model.http.allowed.hosts: ${this.options.httpHosts.join(',') || 'empty'})`);
  }

  /**
   * What can be decided from the URI alone, without touching the file system or the network:
   * the scheme, and the path or host against the allow-lists.
   */
  checkUri(uri: string): void {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
    if (scheme === 'data') return;
    // the worker's own artifact topic: nothing outside the worker is read
    if (scheme === ARTIFACT_URI_SCHEME) {
      if (artifactSha(uri) === null) throw new ArtifactError('BAD_URI', `malformed artifact URI ${uri.slice(0, 100)}: expected ${ARTIFACT_URI_PREFIX}<64 lower-case hex digits>`);
      return;
    }
    if (scheme === 'file') {
      let file: string;
      try {
        file = this.filePath(uri);
      } catch (e) {
        throw new ArtifactError('BAD_URI', `malformed artifact URI ${uri}: ${(e as Error).message}`);
      }
      return this.checkFile(uri, file);
    }
    if (scheme === 'http' || scheme === 'https') {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        throw new ArtifactError('BAD_URI', `malformed artifact URI ${uri}`);
      }
      return this.checkHttp(uri, url);
    }
    throw new ArtifactError('BAD_URI', `unsupported artifact URI scheme in ${uri.slice(0, 100)}: use file:, http:, https:, data: or ${ARTIFACT_URI_SCHEME}:`);
  }
}
