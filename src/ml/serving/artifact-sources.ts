/**
 * Reading artifact bytes from file:, http(s): and data: URIs under an ArtifactPolicy, never more
 * than the policy's byte limit: a file is opened without following a final symlink and without
 * blocking (a FIFO would wait for a writer), checked to be a regular file by its open descriptor,
 * and read in chunks; an HTTP body is read as a stream, refused at once when its Content-Length is
 * over the limit, and aborted when it grows past it. Redirects are followed by hand so that every
 * target is checked against the policy.
 */
import * as fs from 'fs';
import { ArtifactError, ArtifactPolicy } from './artifact-policy';

const CHUNK = 1024 * 1024;

/** A URI for messages: data: URIs are shortened, credentials are hidden. */
export function describeUri(uri: string): string {
  if (/^data:/i.test(uri)) return `data:(${uri.length} chars)`;
  return uri.replace(/^(https?:\/\/)[^@/]*@/i, '$1***@');
}

function tooLarge(uri: string, max: number, size?: number): ArtifactError {
  return new ArtifactError('TOO_LARGE', `artifact ${describeUri(uri)} is ${size === undefined ? 'larger than' : `${size} bytes, more than`} ${max} bytes (worker property kappa.model.artifact.max.bytes)`);
}

export function readDataUri(uri: string, policy: ArtifactPolicy): Uint8Array {
  const m = /^data:([^,]*?),(.*)$/is.exec(uri);
  if (!m) throw new ArtifactError('BAD_URI', 'malformed data: URI');
  const isBase64 = /;base64$/i.test(m[1]!);
  const bytes = isBase64 ? Buffer.from(m[2]!, 'base64') : Buffer.from(decodeURIComponent(m[2]!), 'utf8');
  if (bytes.length > policy.maxBytes) throw tooLarge(uri, policy.maxBytes, bytes.length);
  return new Uint8Array(bytes);
}

async function realDir(dir: string): Promise<string> {
  try {
    return await fs.promises.realpath(dir);
  } catch {
    return dir;
  }
}

export async function readFileUri(uri: string, policy: ArtifactPolicy): Promise<Uint8Array> {
  policy.checkUri(uri); // before touching the file system: no probing outside the allowed dirs
  const file = policy.filePath(uri);
  let real: string;
  try {
    real = await fs.promises.realpath(file);
  } catch (e) {
    throw new ArtifactError('UNREACHABLE', `cannot read artifact ${uri}: ${(e as NodeJS.ErrnoException).code ?? 'error'} (no such file or not accessible)`);
  }
  // the real path must be allowed too (allowed directories may themselves be symlinks)
  const realPolicy = new ArtifactPolicy({ ...policy.options, fileDirs: await Promise.all(policy.fileDirs.map(realDir)) });
  realPolicy.checkFile(uri, real);
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (e) {
    throw new ArtifactError('UNREACHABLE', `cannot read artifact ${uri}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ArtifactError('NOT_REGULAR', `artifact ${uri} is not a regular file (a device, FIFO, socket or directory)`);
    if (stat.size > policy.maxBytes) throw tooLarge(uri, policy.maxBytes, stat.size);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, policy.maxBytes - total + 1));
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > policy.maxBytes) throw tooLarge(uri, policy.maxBytes); // it grew while read
      chunks.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    }
    return new Uint8Array(Buffer.concat(chunks, total));
  } catch (e) {
    if (e instanceof ArtifactError) throw e;
    throw new ArtifactError('UNREACHABLE', `cannot read artifact ${uri}: ${(e as NodeJS.ErrnoException).code ?? 'read error'}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function readHttpUri(uri: string, policy: ArtifactPolicy): Promise<Uint8Array> {
  const shown = describeUri(uri);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ArtifactError('BAD_URI', `malformed artifact URI ${shown}`);
  }
  const signal = AbortSignal.timeout(policy.options.timeoutMs);
  for (let hop = 0; ; hop++) {
    policy.checkHttp(shown, url);
    let res: Response;
    try {
      res = await fetch(url, { signal, redirect: 'manual' });
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause;
      throw new ArtifactError('UNREACHABLE', `cannot fetch artifact ${shown}: ${(e as Error).message}${cause?.message ? ` (${cause.message})` : ''}`);
    }
    if (REDIRECTS.has(res.status)) {
      await res.body?.cancel().catch(() => undefined);
      const location = res.headers.get('location');
      if (!location) throw new ArtifactError('UNREACHABLE', `cannot fetch artifact ${shown}: HTTP ${res.status} without a Location`);
      if (hop >= policy.options.maxRedirects) {
        throw new ArtifactError('FORBIDDEN', `artifact ${shown}: more than ${policy.options.maxRedirects} redirects (worker property kappa.model.http.max.redirects)`);
      }
      try {
        url = new URL(location, url);
      } catch {
        throw new ArtifactError('UNREACHABLE', `cannot fetch artifact ${shown}: HTTP ${res.status} to a malformed Location`);
      }
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new ArtifactError('UNREACHABLE', `cannot fetch artifact ${shown}: HTTP ${res.status} ${res.statusText}`);
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > policy.maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw tooLarge(shown, policy.maxBytes, declared);
    }
    return readBody(res, shown, policy.maxBytes);
  }
}

async function readBody(res: Response, shown: string, max: number): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > max) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(shown, max);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof ArtifactError) throw e;
    throw new ArtifactError('UNREACHABLE', `cannot fetch artifact ${shown}: ${(e as Error).message}`);
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}

/** Reads the bytes behind any supported URI under `policy` (no sha256 verification). */
export function readUri(uri: string, policy: ArtifactPolicy): Promise<Uint8Array> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 'data') return Promise.resolve().then(() => readDataUri(uri, policy));
  if (scheme === 'file') return readFileUri(uri, policy);
  if (scheme === 'http' || scheme === 'https') return readHttpUri(uri, policy);
  return Promise.reject(new ArtifactError('BAD_URI', `unsupported artifact URI ${describeUri(uri)}: use file:, http:, https: or data:`));
}
