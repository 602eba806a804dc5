/**
 * Large models (issue 14): a 50 MB ONNX model uploaded as bytes to one worker of a cluster is
 * stored in chunks on the artifact topic, and the other worker — which shares no directory with it
 * and may read no model files at all — loads it from Kafka and scores with it. Uploads over
 * kappa.model.artifact.max.bytes get 413 naming the limit; a file: URI published on one worker is
 * copied to the artifact topic and served on the other.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { concat, encodeBytesField, encodeFields, encodeStringField, encodeVarintField, readFields } from '../../src/ml/serving/onnx/protobuf';
import {
  closeKafka, createTopic, deleteTopics, endOffsets, expectStatus, produce, randomSuffix, stopAllWorkers, tmpDir, waitFor, type Worker,
  startWorker,
} from './helpers';
import { clusterProperties, leaderAndFollowers, waitAllRunning } from './helpers/cluster';
import { readTopic } from './pipeline-support';
import { fixture, MODELS_DIR, modelBody, onnxUri, scoringConnector } from './serving-support';

const LIMIT = 60 * 1024 * 1024;
const PADDING = 50 * 1024 * 1024;
const CHUNK = 512 * 1024;

/**
 * A valid ONNX model of about `padding` bytes more than `base`: the graph gets an initializer that
 * no node uses (a uint8 tensor of random bytes). onnxruntime drops it at load; the predictions are
 * those of the base model. Every other field is copied as it is.
 */
function paddedModel(base: Uint8Array, padding: number): Buffer {
  const tensor = concat([
    encodeVarintField(1, padding), // dims
    encodeVarintField(2, 2), // data_type UINT8
    encodeStringField(8, 'kappa_test_padding'), // name
    encodeBytesField(9, randomBytes(padding)), // raw_data
  ]);
  const fields = readFields(base).map((f) => (f.no === 7 ? encodeBytesField(7, concat([f.bytes, encodeBytesField(5, tensor)])) : f));
  return Buffer.from(encodeFields(fields));
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function upload(w: Worker, bytes: Buffer): Promise<{ status: number; body: any }> {
  const res = await fetch(`${w.url}/models/artifacts`, {
    method: 'POST', headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/json' }, body: bytes, signal: AbortSignal.timeout(90_000),
  });
  return { status: res.status, body: await res.json() };
}

describe('large models through the artifact topic, two workers without shared files', () => {
  const suffix = randomSuffix();
  const artifactTopic = `it-large-artifacts-${suffix}`;
  const modelTopic = `it-large-models-${suffix}`;
  const topics: string[] = [artifactTopic, modelTopic];
  const cache1 = tmpDir('kappa-it-large-cache1-');
  const cache2 = tmpDir('kappa-it-large-cache2-');
  let w1: Worker;
  let w2: Worker;

  beforeAll(async () => {
    const shared = {
      ...clusterProperties(suffix),
      'kappa.model.topic': modelTopic,
      'kappa.model.artifact.topic': artifactTopic,
      'kappa.model.artifact.max.bytes': String(LIMIT),
    };
    w1 = await startWorker({ props: { ...shared, 'kappa.model.cache.dir': cache1 } });
    // worker 2 reads no model files at all: an empty model directory, no other allowed directory
    w2 = await startWorker({ props: { ...shared, 'kappa.model.cache.dir': cache2, 'kappa.model.dir': tmpDir('kappa-it-large-models2-'), 'kappa.model.file.allowed.dirs': '' } });
    await leaderAndFollowers([w1, w2]);
  });

  afterAll(async () => {
    await stopAllWorkers();
    await deleteTopics(topics);
    await closeKafka();
    for (const d of [cache1, cache2]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('a 50 MB model uploaded to worker 1 is loaded from Kafka by worker 2 and scores there', async () => {
    const iris = fixture('iris-logreg-v1');
    const model = paddedModel(fs.readFileSync(path.join(MODELS_DIR, 'iris-logreg-v1.onnx')), PADDING);
    const sha = sha256(model);
    expect(model.length).toBeGreaterThan(PADDING);

    const started = Date.now();
    const up = await upload(w1, model);
    expect(up.status).toBe(201);
    expect(up.body).toEqual({ sha256: sha, size: model.length, chunks: Math.ceil(model.length / CHUNK), topic: artifactTopic, uri: `kafka-artifact:sha256:${sha}` });
    const uploadMs = Date.now() - started;
    // the uploading worker keeps it in its cache; the other has nothing yet
    expect(fs.readFileSync(path.join(cache1, sha)).equals(model)).toBe(true);
    expect(fs.existsSync(path.join(cache2, sha))).toBe(false);

    // the other worker finds it on the topic
    const stat = await w2.api.get(`/models/artifacts/${sha}`);
    expect(stat.status).toBe(200);
    expect(stat.body).toMatchObject({ sha256: sha, size: model.length, chunks: up.body.chunks, uri: up.body.uri });

    const id = `large-${suffix}`;
    const published = await w1.api.post('/models', { id, version: '1', uri: up.body.uri, input: { features: iris.features } });
    expectStatus(published, 201);
    expect(published.body).toMatchObject({ id, version: '1', uri: up.body.uri, sha256: sha });

    const input = await createTopic(`it-large-in-${suffix}`, 2);
    const output = await createTopic(`it-large-out-${suffix}`, 2);
    topics.push(input, output);
    const name = `large-score-${suffix}`;
    expectStatus(await w2.api.post('/connectors', { name, config: scoringConnector(input, output, { 'model.id': id }, { 'tasks.max': '2' }) }), 201);
    const running = await waitAllRunning(w2, [name], 2);
    expect(new Set(running[name]!.tasks.map((t) => t.worker_id))).toEqual(new Set([w1.workerId, w2.workerId]));

    const n = iris.expected.rows.length;
    await produce(input, iris.expected.rows.map((row, i) => ({ key: `r${i}`, partition: i % 2, value: { seq: i, ...Object.fromEntries(iris.features.map((f, j) => [f, row[j]!])) } })));
    const out = await readTopic<{ seq: number; prediction: { model_id: string; model_version: string; label: number; probabilities: Record<string, number> } }>(output, await waitFor(async () => {
      const ends = await endOffsets(output);
      return [...ends.values()].reduce((a, b) => a + b, 0) >= n ? ends : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500, description: `${n} scored records` }));
    expect(out.length).toBe(n);
    for (const r of out) {
      expect(r.value.prediction).toMatchObject({ model_id: id, model_version: '1', label: iris.expected.labels![r.value.seq] });
      expect(Object.keys(r.value.prediction.probabilities).sort()).toEqual(['1', '2', '3']);
    }
    // both partitions, so both workers' tasks, scored
    expect(new Set(out.map((r) => r.partition))).toEqual(new Set([0, 1]));

    // worker 2 read it from the topic (and verified and cached it); worker 1 had it in its cache
    expect(w2.logs()).toMatch(new RegExp(`artifact ${sha.slice(0, 12)}… read from topic ${artifactTopic}: ${model.length} bytes in ${up.body.chunks} chunks`));
    expect(w1.logs()).not.toMatch(new RegExp(`artifact ${sha.slice(0, 12)}… read from topic`));
    expect(sha256(fs.readFileSync(path.join(cache2, sha)))).toBe(sha);
    const state = await w2.api.get(`/models/${id}`);
    expect(state.body.versions[0]).toMatchObject({ version: '1', state: 'ready', uri: up.body.uri });
    // eslint-disable-next-line no-console
    console.log(`large model: ${model.length} bytes uploaded in ${uploadMs} ms (${up.body.chunks} chunks); ${w2.logs().match(/read from topic [^\n]*/)?.[0]}; ${n} records scored on 2 workers`);

    // a file: URI published on worker 1 is copied to the topic: worker 2, which reads no files, serves it
    const v2 = await w1.api.post('/models', { ...modelBody(id, '2', 'iris-logreg-v2'), sha256: undefined });
    expectStatus(v2, 201);
    const v2sha = sha256(fs.readFileSync(path.join(MODELS_DIR, 'iris-logreg-v2.onnx')));
    expect(v2.body).toMatchObject({ version: '2', uri: `kafka-artifact:sha256:${v2sha}`, source_uri: onnxUri('iris-logreg-v2'), sha256: v2sha });
    await waitFor(async () => {
      const m = await w2.api.get(`/models/${id}`);
      return m.body?.versions?.find((v: { version: string; state?: string }) => v.version === '2' && v.state === 'ready');
    }, { timeoutMs: 60_000, intervalMs: 500, description: 'version 2 ready on worker 2' });
  });

  it('refuses uploads over kappa.model.artifact.max.bytes with 413, and unknown artifacts with 400', async () => {
    const res = await upload(w1, Buffer.alloc(LIMIT + 1));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error_code: 413, message: `HTTP 413 Request Entity Too Large: the model artifact is larger than kappa.model.artifact.max.bytes (limit ${LIMIT} bytes)` });
    const unknown = '0'.repeat(64);
    const pub = await w2.api.post('/models', { id: `unknown-${suffix}`, version: '1', uri: `kafka-artifact:sha256:${unknown}`, input: { features: ['x1'] } });
    expect(pub.status).toBe(400);
    expect(pub.body.message).toBe(`Cannot use the model artifact: artifact kafka-artifact:sha256:${unknown} is not in topic ${artifactTopic}; upload it first with POST /models/artifacts`);
    expect((await w2.api.get(`/models/artifacts/${unknown}`)).status).toBe(404);
  });
});
