/**
 * Model artifacts in Kafka (src/ml/serving/artifact-topic.ts): chunking, reassembly from a scan of
 * the topic, the sha256 check, missing/corrupt chunks and manifests, the size limit, the disk
 * cache, refusals in the catalog, and the upload spooling of the REST route.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import {
  ARTIFACT_CHUNK_BYTES, ArtifactAssembler, ArtifactTopic, chunkCount, chunkKey, chunksOf, decodeManifest, fileChunks, manifestKey,
  type ArtifactOutgoing, type ArtifactRecord, type ArtifactTopicKafka,
} from '../../../src/ml/serving/artifact-topic';
import { artifactSha, artifactUri } from '../../../src/ml/serving/artifact-uri';
import { ArtifactError, ArtifactStore } from '../../../src/ml/serving/artifacts';
import { LinearBackend } from '../../../src/ml/serving/backends';
import { ModelCatalog } from '../../../src/ml/serving/catalog';
import { encodeControl, parseControl, sha256Hex } from '../../../src/ml/serving/control';
import { servingSettings } from '../../../src/ml/serving/hub';
import { spoolToFile, UploadTooLargeError } from '../../../src/rest/uploads';
import { testPolicy } from './fixtures';

const CHUNK = ARTIFACT_CHUNK_BYTES;

/** One partition of a compacted topic, in memory; reads hand out `batch` records at a time. */
class FakeTopic implements ArtifactTopicKafka {
  log: ArtifactRecord[] = [];
  created: { topic: string; replicationFactor: number; compact: boolean }[] = [];
  /** records handed to readers (to see where a scan stopped) */
  delivered = 0;
  constructor(private readonly batch = 3) {}

  async ensureTopic(topic: string, o: { partitions: number; replicationFactor: number; compact: boolean }): Promise<void> {
    if (!this.created.some((c) => c.topic === topic)) this.created.push({ topic, replicationFactor: o.replicationFactor, compact: o.compact });
  }

  async readPartition(_topic: string, partition: number, onRecords: (r: readonly ArtifactRecord[]) => boolean | void | Promise<boolean | void>): Promise<void> {
    expect(partition).toBe(0);
    const end = this.log.length;
    for (let at = 0; at < end; at += this.batch) {
      const records = this.log.slice(at, Math.min(end, at + this.batch));
      this.delivered += records.length;
      if ((await onRecords(records)) === false) return;
    }
  }

  append(key: string, value: Buffer | null): void {
    this.log.push({ offset: this.log.length, key: Buffer.from(key), value });
  }

  /** A sink writing into this log, as a producer would. */
  sink(): { send(r: readonly ArtifactOutgoing[]): Promise<void>; flush(): Promise<void>; sent: ArtifactOutgoing[]; flushes: number[] } {
    const s = {
      sent: [] as ArtifactOutgoing[],
      flushes: [] as number[],
      send: async (records: readonly ArtifactOutgoing[]) => {
        for (const r of records) {
          s.sent.push(r);
          this.append(r.key, Buffer.from(r.value));
        }
      },
      flush: async () => { s.flushes.push(s.sent.length); },
    };
    return s;
  }
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-artifacts-'));
}

async function refusal(p: Promise<unknown>): Promise<ArtifactError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ArtifactError);
    return e as ArtifactError;
  }
  throw new Error('expected a refusal');
}

describe('artifacts in chunks on a Kafka topic', () => {
  const dir = tmpDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bytes = randomBytes(3 * CHUNK + 12345);
  const sha = sha256Hex(bytes);

  const stored = async (fake = new FakeTopic()) => {
    const topic = new ArtifactTopic({ topic: 'artifacts', replicationFactor: 3, kafka: fake });
    await topic.write(fake.sink(), sha, bytes.length, chunksOf(bytes));
    return { fake, topic };
  };

  it('writes 512 KiB chunks keyed <sha256>/<i> to partition 0, then the manifest once they are acknowledged', async () => {
    const fake = new FakeTopic();
    const topic = new ArtifactTopic({ topic: 'artifacts', replicationFactor: 3, kafka: fake });
    const sink = fake.sink();
    const manifest = await topic.write(sink, sha, bytes.length, chunksOf(bytes));
    expect(fake.created).toEqual([{ topic: 'artifacts', replicationFactor: 3, compact: true }]);
    expect(chunkCount(bytes.length)).toBe(4);
    expect(sink.sent.map((r) => r.key)).toEqual([chunkKey(sha, 0), chunkKey(sha, 1), chunkKey(sha, 2), chunkKey(sha, 3), manifestKey(sha)]);
    expect(sink.sent.every((r) => r.partition === 0 && r.topic === 'artifacts')).toBe(true);
    expect(sink.sent.slice(0, 4).map((r) => r.value.length)).toEqual([CHUNK, CHUNK, CHUNK, 12345]);
    expect(sink.flushes).toEqual([4, 5]); // every chunk acknowledged before the manifest is sent
    expect(manifest).toMatchObject({ sha256: sha, size: bytes.length, chunks: 4, chunk_bytes: CHUNK });
    expect(decodeManifest(sha, sink.sent[4]!.value)).toEqual(manifest);
    // exactly two chunks for twice the chunk size; one for a single byte
    expect(chunkCount(2 * CHUNK)).toBe(2);
    expect(chunkCount(1)).toBe(1);
    // a chunk source that does not fit the declared size is refused before the manifest
    const bad = new FakeTopic();
    await expect(new ArtifactTopic({ topic: 'a', replicationFactor: 1, kafka: bad }).write(bad.sink(), sha, bytes.length + 1, chunksOf(bytes))).rejects.toThrow(/expected/);
    expect(bad.log.some((r) => r.key!.toString().endsWith('/manifest'))).toBe(false);
  });

  it('reassembles from a scan among other artifacts, checks the sha256 and stops at the manifest', async () => {
    const fake = new FakeTopic(2);
    const other = randomBytes(CHUNK + 1);
    const otherTopic = new ArtifactTopic({ topic: 'artifacts', replicationFactor: 1, kafka: fake });
    await otherTopic.write(fake.sink(), sha256Hex(other), other.length, chunksOf(other));
    await stored(fake);
    fake.append(chunkKey(sha256Hex(other), 0), randomBytes(10)); // after: never read
    const reader = new ArtifactTopic({ topic: 'artifacts', replicationFactor: 1, kafka: fake });
    const file = path.join(dir, 'a.bin');
    fs.writeFileSync(file, Buffer.alloc(10 * CHUNK, 7)); // a longer file is truncated
    const manifest = await reader.readToFile(sha, file, 10 * CHUNK);
    expect(manifest.size).toBe(bytes.length);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(fake.delivered).toBe(fake.log.length - 1);
    expect(await reader.stat(sha)).toEqual(manifest);
    expect(await reader.stat('0'.repeat(64))).toBeUndefined();
  });

  it('reads chunks from a file in chunk-sized pieces', async () => {
    const file = path.join(dir, 'src.bin');
    fs.writeFileSync(file, bytes);
    const pieces: Uint8Array[] = [];
    for await (const c of fileChunks(file)) pieces.push(c);
    expect(pieces.map((p) => p.length)).toEqual([CHUNK, CHUNK, CHUNK, 12345]);
    expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
  });

  it('a later record of a chunk replaces the earlier one; a tombstone removes a chunk or the manifest', async () => {
    const { fake, topic } = await stored();
    const copy = new FakeTopic();
    copy.log = fake.log.map((r) => ({ ...r }));
    // a re-upload rewrites chunk 1 (same bytes): still fine
    const file = path.join(dir, 'b.bin');
    fake.append(chunkKey(sha, 1), bytes.subarray(CHUNK, 2 * CHUNK));
    await new ArtifactTopic({ topic: 'artifacts', replicationFactor: 1, kafka: fake }).readToFile(sha, file, 10 * CHUNK);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    // chunk 2 deleted before the manifest
    copy.log.splice(4, 0, { offset: 99, key: Buffer.from(chunkKey(sha, 2)), value: null });
    const e = await refusal(new ArtifactTopic({ topic: 'artifacts', replicationFactor: 1, kafka: copy }).readToFile(sha, file, 10 * CHUNK));
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toBe(`artifact ${artifactUri(sha)} in topic artifacts is incomplete: chunk 2 of 4 missing; upload it again with POST /models/artifacts`);
    // the manifest deleted (before the scan has everything)
    const noManifest = new FakeTopic();
    noManifest.log = copy.log.filter((r) => r.value !== null).map((r) => ({ ...r }));
    noManifest.log.splice(2, 0, { offset: 98, key: Buffer.from(manifestKey(sha)), value: noManifest.log[4]!.value });
    noManifest.log.splice(3, 0, { offset: 99, key: Buffer.from(manifestKey(sha)), value: null });
    noManifest.log.pop();
    const fresh = new ArtifactTopic({ topic: 'artifacts', replicationFactor: 1, kafka: noManifest });
    expect((await refusal(fresh.readToFile(sha, file, 10 * CHUNK))).message).toMatch(/cannot be read from topic artifacts: it has no manifest/);
    void topic;
  });

  it('missing, corrupt and oversized artifacts are refused with messages naming the artifact and the topic', async () => {
    const file = path.join(dir, 'c.bin');
    const read = (fake: FakeTopic, max = 10 * CHUNK) => refusal(new ArtifactTopic({ topic: 'artifacts', replicationFactor: 1, kafka: fake }).readToFile(sha, file, max));
    // nothing at all
    expect((await read(new FakeTopic())).message).toBe(`artifact ${artifactUri(sha)} cannot be read from topic artifacts: it is not there; upload it again with POST /models/artifacts`);
    // a missing chunk
    const missing = (await stored()).fake;
    missing.log = missing.log.filter((r) => r.key!.toString() !== chunkKey(sha, 3));
    expect((await read(missing)).message).toMatch(/is incomplete: chunk 3 of 4 missing/);
    // a corrupt chunk (same length): the sha256 check finds it
    const corrupt = (await stored()).fake;
    const v = Buffer.from(corrupt.log[1]!.value!);
    v[100] ^= 0xff;
    corrupt.log[1] = { ...corrupt.log[1]!, value: v };
    const e = await read(corrupt);
    expect(e.code).toBe('SHA256_MISMATCH');
    expect(e.message).toMatch(new RegExp(`^artifact ${artifactUri(sha)} reassembled from 4 chunks of topic artifacts has sha256 [0-9a-f]{64}: a chunk is corrupt`));
    // a chunk longer than a chunk
    const long = (await stored()).fake;
    long.log[0] = { ...long.log[0]!, value: Buffer.alloc(CHUNK + 1) };
    expect((await read(long)).message).toMatch(/chunk 0 of 4 unusable \(chunk 0 \(offset 0\) has 524289 bytes, not 1 to 524288\)/);
    // an invalid manifest
    const badManifest = (await stored()).fake;
    badManifest.log[4] = { ...badManifest.log[4]!, value: Buffer.from('{"sha256":"x"}') };
    expect((await read(badManifest)).message).toMatch(/its manifest is invalid: the manifest names sha256 x/);
    // over the size limit: refused at the manifest
    const big = await read((await stored()).fake, 2 * CHUNK);
    expect(big.code).toBe('TOO_LARGE');
    expect(big.message).toBe(`artifact ${artifactUri(sha)} is ${bytes.length} bytes, more than ${2 * CHUNK} bytes (worker property kappa.model.artifact.max.bytes)`);
  });

  it('the assembler ignores other keys and chunk indexes beyond the size limit', async () => {
    const written: number[] = [];
    const a = new ArtifactAssembler(sha, { write: async (_b, pos) => { written.push(pos); } }, 2 * CHUNK, artifactUri(sha));
    await a.offer([
      { offset: 0, key: null, value: Buffer.from('x') },
      { offset: 1, key: Buffer.from(`${sha}x/0`), value: Buffer.from('x') },
      { offset: 2, key: Buffer.from(`${sha}/07`), value: Buffer.from('x') },
      { offset: 3, key: Buffer.from(`${sha}/5`), value: Buffer.from('x') },
      { offset: 4, key: Buffer.from(`${sha}/1`), value: Buffer.from('x') },
    ]);
    expect(written).toEqual([CHUNK]);
    expect(a.complete).toBe(false);
  });

  it('kafka-artifact URIs: parsed, checked against the sha256, loaded once and cached on disk', async () => {
    expect(artifactSha(artifactUri(sha))).toBe(sha);
    expect(artifactSha(`kafka-artifact:sha256:${sha.toUpperCase()}`)).toBeNull();
    const base = { id: 'm', version: '1', input: { features: ['a'] } };
    expect(parseControl({ ...base, uri: artifactUri(sha), sha256: sha }).uri).toBe(artifactUri(sha));
    expect(() => parseControl({ ...base, uri: artifactUri(sha), sha256: 'ab'.repeat(32) })).toThrow(/differs from the sha256 the uri names/);
    expect(() => parseControl({ ...base, uri: 'kafka-artifact:sha256:abc', sha256: sha })).toThrow(/must be kafka-artifact:sha256:<64 lower-case hex digits>/);

    const { fake } = await stored();
    const cacheDir = path.join(dir, 'cache');
    const policy = testPolicy({ fileDirs: ['/nonexistent'], httpHosts: [], maxBytes: 10 * CHUNK });
    const topic = new ArtifactTopic({ topic: 'artifacts', replicationFactor: 1, kafka: fake });
    const store = new ArtifactStore({ cacheDir, policy, topic });
    expect(Buffer.from(await store.get(artifactUri(sha), sha)).equals(bytes)).toBe(true);
    expect(fs.readFileSync(path.join(cacheDir, sha)).equals(bytes)).toBe(true);
    expect(fs.readdirSync(cacheDir)).toEqual([sha]); // no temporary file left
    const delivered = fake.delivered;
    const again = new ArtifactStore({ cacheDir, policy, topic });
    expect(Buffer.from(await again.get(artifactUri(sha), sha)).equals(bytes)).toBe(true);
    expect(fake.delivered).toBe(delivered); // from the cache
    // without access to the topic
    const none = new ArtifactStore({ cacheDir: null, policy });
    expect((await refusal(none.get(artifactUri(sha), sha))).message).toMatch(/stored in Kafka, but this process has no access to the model artifact topic/);
  });

  it('a version whose chunks are missing is refused in the catalog, with the reason in its state', async () => {
    const model = Buffer.from(JSON.stringify({ format: 'kappa-linear-model', version: 1, task: 'regression', classes: null, nFeatures: 1, weights: [[2]], intercepts: [0] }));
    const modelSha = sha256Hex(model);
    const fake = new FakeTopic();
    const topic = new ArtifactTopic({ topic: 'artifacts', replicationFactor: 1, kafka: fake });
    const catalog = new ModelCatalog({ artifacts: new ArtifactStore({ cacheDir: null, policy: testPolicy({ fileDirs: [], httpHosts: [] }), topic }), backends: { linear: new LinearBackend() } });
    try {
      const control = (version: string) => encodeControl(parseControl({ id: 'm', version, format: 'linear', uri: artifactUri(modelSha), sha256: modelSha, input: { features: ['x'] } }));
      catalog.apply('m', control('1'));
      const refused = await catalog.resolve('m');
      expect(refused.kind).toBe('error');
      const state = catalog.snapshot('m')[0]!.versions[0]!;
      expect(state.state).toBe('refused');
      expect(state.error).toBe(`artifact ${artifactUri(modelSha)} cannot be read from topic artifacts: it is not there; upload it again with POST /models/artifacts`);
      // stored now: version 2 with the same artifact loads and scores
      await topic.write(fake.sink(), modelSha, model.length, chunksOf(model));
      catalog.apply('m', control('2'));
      const served = await catalog.resolve('m');
      expect(served.kind).toBe('model');
      if (served.kind === 'model') expect(served.model.version).toBe('2');
    } finally {
      await catalog.close();
    }
  });
});

describe('artifact topic settings', () => {
  it('defaults to kappa-model-artifacts with the broker\'s default replication (-1); -1 or >= 1 replicas, anything else names the key', () => {
    expect(servingSettings({})).toMatchObject({ artifactTopic: 'kappa-model-artifacts', artifactReplicationFactor: -1 });
    expect(servingSettings({ 'kappa.model.artifact.topic': ' a ', 'kappa.model.artifact.topic.replication.factor': '-1' })).toMatchObject({ artifactTopic: 'a', artifactReplicationFactor: -1 });
    for (const bad of ['0', '-2', '1.5', 'x']) {
      expect(() => servingSettings({ 'kappa.model.artifact.topic.replication.factor': bad }))
        .toThrow(`Invalid value ${bad} for worker property kappa.model.artifact.topic.replication.factor: must be -1 (the broker's default) or a replication factor >= 1`);
    }
  });
});

describe('upload spooling', () => {
  const dir = tmpDir();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the stream to a file with its sha256 and size', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    const stream = new PassThrough({ highWaterMark: 64 * 1024 });
    const file = path.join(dir, 'up.bin');
    const done = spoolToFile(stream, file, data.length);
    for (let at = 0; at < data.length; at += 100_000) stream.write(data.subarray(at, at + 100_000));
    stream.end();
    expect(await done).toEqual({ sha256: createHash('sha256').update(data).digest('hex'), size: data.length });
    expect(fs.readFileSync(file).equals(data)).toBe(true);
  });

  it('refuses a stream over the limit as soon as it passes it, and drains the rest', async () => {
    const stream = new PassThrough();
    const done = spoolToFile(stream, path.join(dir, 'big.bin'), 1000);
    stream.write(Buffer.alloc(600));
    stream.write(Buffer.alloc(600));
    await expect(done).rejects.toBeInstanceOf(UploadTooLargeError);
    stream.write(Buffer.alloc(100_000));
    stream.end();
    await new Promise((r) => stream.once('end', r));
  });

  it('an aborted upload is an error', async () => {
    const stream = new PassThrough();
    const done = spoolToFile(stream, path.join(dir, 'aborted.bin'), 1000);
    stream.write(Buffer.alloc(10));
    stream.destroy();
    await expect(done).rejects.toThrow(/aborted/);
  });
});
