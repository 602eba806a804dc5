/**
 * Model artifacts stored in Kafka, so that every worker of a cluster can load a model without a
 * shared file system and whatever its size up to `kappa.model.artifact.max.bytes` (a record is
 * limited to the broker's `message.max.bytes`, 1 MB by default).
 *
 * Layout on the compacted artifact topic (`kappa.model.artifact.topic`, one partition; everything
 * is written to partition 0):
 *
 *   key `<sha256>/<i>`         chunk i (0-based): bytes [i * 512 KiB, (i + 1) * 512 KiB) of the artifact
 *   key `<sha256>/manifest`    JSON {"sha256", "size", "chunks", "chunk_bytes", "created_at"},
 *                              written after every chunk is acknowledged
 *
 * Keys are content addresses: uploading the same bytes again writes the same keys, and compaction
 * keeps one copy. A reader scans the partition from its start until it has the manifest and every
 * chunk it names, writing chunks to a file at their position as they come (memory stays at one
 * fetch), then checks the file's sha256. A missing manifest or chunk, a chunk of the wrong size and
 * a hash that does not match are errors naming the artifact and the topic.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import type { Logger } from '../../api';
import { ArtifactError } from './artifact-policy';
import { artifactUri } from './artifact-uri';

export const DEFAULT_ARTIFACT_TOPIC = 'kappa-model-artifacts';
/** Bytes per chunk record: half the broker's default message.max.bytes, leaving room for the batch. */
export const ARTIFACT_CHUNK_BYTES = 512 * 1024;
/** The partition every artifact record goes to. */
export const ARTIFACT_PARTITION = 0;
/** The manifest key's suffix. */
const MANIFEST = 'manifest';
const SHA_RE = /^[0-9a-f]{64}$/;

export interface ArtifactManifest {
  readonly sha256: string;
  readonly size: number;
  readonly chunks: number;
  readonly chunk_bytes: number;
  /** epoch ms of the upload */
  readonly created_at: number;
}

/** A record as the artifact topic gives it back. */
export interface ArtifactRecord {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

/** A record to write to the artifact topic. */
export interface ArtifactOutgoing {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly value: Buffer;
}

/** Where chunk records go: sends may be pipelined, flush waits for every acknowledgement. */
export interface ArtifactSink {
  send(records: readonly ArtifactOutgoing[]): Promise<void>;
  flush(): Promise<void>;
}

/** What the artifact topic needs of Kafka (PluginKafka has this shape; see src/kafka/port.ts). */
export interface ArtifactTopicKafka {
  ensureTopic(topic: string, options: { partitions: number; replicationFactor: number; compact: boolean }): Promise<void>;
  readPartition?(topic: string, partition: number, onRecords: (records: readonly ArtifactRecord[]) => boolean | void | Promise<boolean | void>, options?: { from?: number }): Promise<void>;
}

export function chunkKey(sha256: string, index: number): string {
  return `${sha256}/${index}`;
}

export function manifestKey(sha256: string): string {
  return `${sha256}/${MANIFEST}`;
}

/** How many chunks an artifact of `size` bytes has. */
export function chunkCount(size: number): number {
  return Math.ceil(size / ARTIFACT_CHUNK_BYTES);
}

export function encodeManifest(m: ArtifactManifest): Buffer {
  return Buffer.from(JSON.stringify({ sha256: m.sha256, size: m.size, chunks: m.chunks, chunk_bytes: m.chunk_bytes, created_at: m.created_at }), 'utf8');
}

/** Parses a manifest record of `sha256`; throws a message saying what is wrong with it. */
export function decodeManifest(sha256: string, value: Buffer): ArtifactManifest {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new Error('the manifest is not JSON');
  }
  if (o === null || typeof o !== 'object') throw new Error('the manifest is not a JSON object');
  const int = (k: string) => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`the manifest's '${k}' is not a non-negative integer`);
    return v;
  };
  if (o['sha256'] !== sha256) throw new Error(`the manifest names sha256 ${String(o['sha256'])}`);
  const m: ArtifactManifest = { sha256, size: int('size'), chunks: int('chunks'), chunk_bytes: int('chunk_bytes'), created_at: int('created_at') };
  if (m.chunk_bytes !== ARTIFACT_CHUNK_BYTES) throw new Error(`the manifest says chunks of ${m.chunk_bytes} bytes; this worker reads chunks of ${ARTIFACT_CHUNK_BYTES}`);
  if (m.size === 0 || m.chunks !== chunkCount(m.size)) throw new Error(`the manifest's ${m.chunks} chunks do not fit its size of ${m.size} bytes`);
  return m;
}

/** Splits bytes into chunk-sized views (no copy). */
export function* chunksOf(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += ARTIFACT_CHUNK_BYTES) yield bytes.subarray(at, Math.min(bytes.length, at + ARTIFACT_CHUNK_BYTES));
}

/** Reads a file in chunk-sized pieces. */
export async function* fileChunks(file: string): AsyncGenerator<Uint8Array> {
  const handle = await fs.promises.open(file, 'r');
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(ARTIFACT_CHUNK_BYTES);
      let filled = 0;
      while (filled < buf.length) {
        const { bytesRead } = await handle.read(buf, filled, buf.length - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled === 0) return;
      yield buf.subarray(0, filled);
      if (filled < buf.length) return;
    }
  } finally {
    await handle.close();
  }
}

/** Where reassembled chunks are written (a file handle, or memory in tests). */
export interface ChunkTarget {
  write(bytes: Uint8Array, position: number): Promise<void>;
}

/**
 * Collects one artifact's records from a scan of the topic: chunks are written to their position
 * as they come (a later record of a key replaces an earlier one; a tombstone removes it), the
 * manifest says how many chunks there must be. `offer` returns false once the artifact is complete.
 */
export class ArtifactAssembler {
  manifest?: ArtifactManifest;
  private readonly received = new Set<number>();
  /** chunk index → why it cannot be used */
  private readonly bad = new Map<number, string>();
  private manifestError?: string;
  private readonly prefix: string;
  /** records of this artifact seen */
  records = 0;

  constructor(readonly sha256: string, private readonly target: ChunkTarget, private readonly maxBytes: number, private readonly describe: string) {
    this.prefix = `${sha256}/`;
  }

  async offer(records: readonly ArtifactRecord[]): Promise<boolean> {
    for (const r of records) {
      if (r.key === null || r.key.length <= this.prefix.length) continue;
      const key = r.key.toString('utf8');
      if (!key.startsWith(this.prefix)) continue;
      this.records++;
      const what = key.slice(this.prefix.length);
      if (what === MANIFEST) {
        this.manifest = undefined;
        this.manifestError = undefined;
        if (r.value === null) continue; // removed
        try {
          this.manifest = decodeManifest(this.sha256, r.value);
        } catch (e) {
          this.manifestError = `${(e as Error).message} (offset ${r.offset})`;
          continue;
        }
        if (this.manifest.size > this.maxBytes) {
          throw new ArtifactError('TOO_LARGE', `artifact ${this.describe} is ${this.manifest.size} bytes, more than ${this.maxBytes} bytes (worker property kappa.model.artifact.max.bytes)`);
        }
        continue;
      }
      if (!/^(0|[1-9][0-9]{0,8})$/.test(what)) continue;
      const index = Number(what);
      this.received.delete(index);
      this.bad.delete(index);
      if (r.value === null) continue;
      if (index * ARTIFACT_CHUNK_BYTES >= this.maxBytes) {
        this.bad.set(index, `chunk ${index} lies beyond the size limit of ${this.maxBytes} bytes`);
        continue;
      }
      if (r.value.length === 0 || r.value.length > ARTIFACT_CHUNK_BYTES) {
        this.bad.set(index, `chunk ${index} (offset ${r.offset}) has ${r.value.length} bytes, not 1 to ${ARTIFACT_CHUNK_BYTES}`);
        continue;
      }
      await this.target.write(r.value, index * ARTIFACT_CHUNK_BYTES);
      this.received.add(index);
    }
    return !this.complete;
  }

  get complete(): boolean {
    const m = this.manifest;
    if (!m) return false;
    for (let i = 0; i < m.chunks; i++) if (!this.received.has(i)) return false;
    return true;
  }

  /** Why the artifact cannot be put together from what was read (null when it is complete). */
  problem(topic: string): ArtifactError | null {
    if (this.complete) return null;
    const m = this.manifest;
    if (!m) {
      const why = this.manifestError ? `its manifest is invalid: ${this.manifestError}` : this.records > 0 ? 'it has no manifest (an upload that did not finish?)' : 'it is not there';
      return new ArtifactError('NOT_FOUND', `artifact ${this.describe} cannot be read from topic ${topic}: ${why}; upload it again with POST /models/artifacts`);
    }
    const missing: string[] = [];
    const reasons: string[] = [];
    for (let i = 0; i < m.chunks; i++) {
      if (this.received.has(i)) continue;
      missing.push(String(i));
      const why = this.bad.get(i);
      if (why) reasons.push(why);
    }
    const shown = missing.length > 10 ? `${missing.slice(0, 10).join(', ')} and ${missing.length - 10} more` : missing.join(', ');
    return new ArtifactError('NOT_FOUND', `artifact ${this.describe} in topic ${topic} is incomplete: chunk${missing.length === 1 ? '' : 's'} ${shown} of ${m.chunks} ` +
      `${reasons.length > 0 ? `unusable (${reasons.slice(0, 3).join('; ')})` : 'missing'}; upload it again with POST /models/artifacts`);
  }
}

export interface ArtifactTopicOptions {
  readonly topic: string;
  /** of the topic when this worker creates it (-1: the broker's default) */
  readonly replicationFactor: number;
  readonly kafka: ArtifactTopicKafka;
  readonly logger?: Logger;
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The artifact topic of one worker: writing artifacts in chunks, finding and reassembling them. */
export class ArtifactTopic {
  private ready?: Promise<void>;
  /** manifests this process wrote or saw on the topic */
  private readonly known = new Map<string, ArtifactManifest>();

  constructor(readonly options: ArtifactTopicOptions) {}

  get topic(): string {
    return this.options.topic;
  }

  /** Creates the compacted topic when it does not exist (once per process; retried after a failure). */
  ensureTopic(): Promise<void> {
    this.ready ??= this.options.kafka.ensureTopic(this.topic, { partitions: 1, replicationFactor: this.options.replicationFactor, compact: true }).catch((e: Error) => {
      this.ready = undefined;
      throw new ArtifactError('UNREACHABLE', `cannot create the model artifact topic ${this.topic}: ${e.message}; ` +
        'its replication factor is the worker property kappa.model.artifact.topic.replication.factor (default -1: the broker\'s default)');
    });
    return this.ready;
  }

  /**
   * Writes an artifact whose sha256 and size are known (computed by the caller while receiving it):
   * every chunk, then — once they are all acknowledged — the manifest. Returns the manifest.
   */
  async write(sink: ArtifactSink, sha256: string, size: number, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<ArtifactManifest> {
    if (!SHA_RE.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    if (size <= 0) throw new ArtifactError('BAD_URI', 'an artifact must not be empty');
    await this.ensureTopic();
    const expected = chunkCount(size);
    let index = 0;
    let total = 0;
    for await (const chunk of chunks) {
      if (chunk.length === 0) continue;
      if (index >= expected || (index < expected - 1 && chunk.length !== ARTIFACT_CHUNK_BYTES) || chunk.length > ARTIFACT_CHUNK_BYTES) {
        throw new Error(`artifact ${sha256}: chunk ${index} has ${chunk.length} bytes, which does not fit ${expected} chunks of ${ARTIFACT_CHUNK_BYTES} bytes for ${size} bytes`);
      }
      await sink.send([{ topic: this.topic, partition: ARTIFACT_PARTITION, key: chunkKey(sha256, index), value: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) }]);
      index++;
      total += chunk.length;
    }
    if (index !== expected || total !== size) throw new Error(`artifact ${sha256}: got ${total} bytes in ${index} chunks, expected ${size} bytes in ${expected}`);
    await sink.flush();
    const manifest: ArtifactManifest = { sha256, size, chunks: expected, chunk_bytes: ARTIFACT_CHUNK_BYTES, created_at: Date.now() };
    await sink.send([{ topic: this.topic, partition: ARTIFACT_PARTITION, key: manifestKey(sha256), value: encodeManifest(manifest) }]);
    await sink.flush();
    this.known.set(sha256, manifest);
    this.options.logger?.info(`artifact ${sha256.slice(0, 12)}… stored in topic ${this.topic}: ${size} bytes in ${expected} chunks`);
    return manifest;
  }

  private reader(): NonNullable<ArtifactTopicKafka['readPartition']> {
    const read = this.options.kafka.readPartition;
    if (!read) throw new ArtifactError('UNREACHABLE', `this process cannot read the model artifact topic ${this.topic} (no partition reads on its Kafka access)`);
    return read.bind(this.options.kafka);
  }

  /** The manifest of a stored artifact, or undefined when the topic has none (a scan up to the manifest). */
  async stat(sha256: string): Promise<ArtifactManifest | undefined> {
    const known = this.known.get(sha256);
    if (known) return known;
    const read = this.reader();
    await this.ensureTopic();
    const key = manifestKey(sha256);
    let found: ArtifactManifest | undefined;
    await read(this.topic, ARTIFACT_PARTITION, (records) => {
      for (const r of records) {
        if (r.key === null || r.key.length !== key.length || r.key.toString('utf8') !== key) continue;
        try {
          found = r.value === null ? undefined : decodeManifest(sha256, r.value);
        } catch {
          found = undefined;
        }
      }
      return found === undefined;
    });
    if (found) this.known.set(sha256, found);
    return found;
  }

  /**
   * Reassembles an artifact into `file` (created or truncated) and checks its sha256. Throws an
   * ArtifactError: NOT_FOUND (no manifest, missing or unusable chunks), TOO_LARGE (the manifest's
   * size is over `maxBytes`), SHA256_MISMATCH (a corrupt chunk).
   */
  async readToFile(sha256: string, file: string, maxBytes: number): Promise<ArtifactManifest> {
    const read = this.reader();
    await this.ensureTopic();
    const describe = artifactUri(sha256);
    const handle = await fs.promises.open(file, 'w');
    let assembler: ArtifactAssembler;
    try {
      assembler = new ArtifactAssembler(sha256, {
        write: async (bytes, position) => {
          let done = 0;
          while (done < bytes.length) done += (await handle.write(bytes, done, bytes.length - done, position + done)).bytesWritten;
        },
      }, maxBytes, describe);
      await read(this.topic, ARTIFACT_PARTITION, (records) => assembler.offer(records));
      const problem = assembler.problem(this.topic);
      if (problem) throw problem;
      await handle.truncate(assembler.manifest!.size);
    } finally {
      await handle.close();
    }
    const manifest = assembler.manifest!;
    const actual = await sha256OfFile(file);
    if (actual !== sha256) {
      throw new ArtifactError('SHA256_MISMATCH', `artifact ${describe} reassembled from ${manifest.chunks} chunks of topic ${this.topic} has sha256 ${actual}: a chunk is corrupt; upload the artifact again with POST /models/artifacts`);
    }
    this.known.set(sha256, manifest);
    return manifest;
  }
}
