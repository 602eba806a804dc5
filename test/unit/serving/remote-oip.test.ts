/**
 * The remote backend (`format: remote`, src/ml/serving/remote/) against small Open Inference
 * Protocol endpoints in this process (the integration test uses a real MLServer, which speaks
 * only JSON tensors; here a server that offers the binary tensor data extension, and endpoints
 * that fail on purpose): binary requests and responses, retries with backoff, bounded
 * concurrency, the circuit breaker, the activation checks of metadata against the mapping, and
 * the control messages of remote versions.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { OipBackend, type RemoteSettings, DEFAULT_REMOTE_SETTINGS } from '../../../src/ml/serving/remote/oip-backend';
import { CircuitBreaker, CircuitOpenError } from '../../../src/ml/serving/remote/circuit-breaker';
import { parseControl, type ModelControl } from '../../../src/ml/serving/control';
import { ModelRefusedError } from '../../../src/ml/serving/backends';
import { ArtifactPolicy } from '../../../src/ml/serving/artifact-policy';

const allowAll = { checkUri: () => undefined };

interface Fake {
  url: string;
  requests: { path: string; headers: http.IncomingHttpHeaders; body: Buffer }[];
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void | Promise<void>;

const IRIS_META = {
  name: 'iris', versions: ['1'], platform: 'test',
  inputs: [{ name: 'input-0', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'predict', datatype: 'INT64', shape: [-1, 1] }, { name: 'predict_proba', datatype: 'FP64', shape: [-1, 3] }],
};

/** An OIP server: `meta` as model metadata, `extensions` in GET /v2, `infer` answering POST .../infer. */
async function fakeServer(opts: { meta?: unknown; extensions?: string[]; infer?: Handler; ready?: number } = {}): Promise<Fake> {
  const requests: Fake['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ path: req.url!, headers: req.headers, body });
      const json = (status: number, v: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (req.url === '/v2') return json(200, { name: 'fake', version: '0', extensions: opts.extensions ?? [] });
      if (req.url === '/v2/models/iris/ready') return json(opts.ready ?? 200, {});
      if (req.url === '/v2/models/iris') return json(200, opts.meta ?? IRIS_META);
      if (req.url === '/v2/models/iris/infer' && opts.infer) return void opts.infer(req, body, res);
      json(404, { error: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

function control(uri: string, extra: Record<string, unknown> = {}): ModelControl {
  return parseControl({ id: 'iris', version: '1', format: 'remote', uri, input: { features: ['a', 'b', 'c', 'd'] }, output: { classes: [1, 2, 3] }, ...extra });
}

/** Answers like a classifier: label = 1 + index of the largest feature (of the first 3), probabilities one-hot. */
function classify(rows: Float32Array, n: number): { labels: bigint[]; probs: number[] } {
  const labels: bigint[] = [];
  const probs: number[] = [];
  for (let r = 0; r < n; r++) {
    const row = Array.from(rows.subarray(r * 4, r * 4 + 3));
    const best = row.indexOf(Math.max(...row));
    labels.push(BigInt(best + 1));
    probs.push(...[0, 1, 2].map((c) => (c === best ? 1 : 0)));
  }
  return { labels, probs };
}

const jsonInfer: Handler = (_req, body, res) => {
  const request = JSON.parse(body.toString());
  const n = request.inputs[0].shape[0];
  const { labels, probs } = classify(Float32Array.from(request.inputs[0].data), n);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ outputs: [
    { name: 'predict', datatype: 'INT64', shape: [n, 1], data: labels.map(Number) },
    { name: 'predict_proba', datatype: 'FP64', shape: [n, 3], data: probs },
  ] }));
};

const rowsOf = (n: number) => {
  const rows = new Float32Array(n * 4);
  for (let r = 0; r < n; r++) rows.set([r % 3 === 0 ? 9 : 0, r % 3 === 1 ? 9 : 0, r % 3 === 2 ? 9 : 0, 0.5], r * 4);
  return rows;
};

const fast: RemoteSettings = { ...DEFAULT_REMOTE_SETTINGS, retryBackoffMs: 1, retryBackoffMaxMs: 5, timeoutMs: 2000 };

describe('remote models (Open Inference Protocol v2)', () => {
  const servers: Fake[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const serve = async (opts: Parameters<typeof fakeServer>[0]) => {
    const s = await fakeServer(opts);
    servers.push(s);
    return s;
  };

  it('uses binary tensors where the server offers them: raw float32 rows in, INT64 labels and FP64 probabilities out', async () => {
    const s = await serve({
      extensions: ['binary_tensor_data'],
      infer: (req, body, res) => {
        const headerLength = Number(req.headers['inference-header-content-length']);
        const header = JSON.parse(body.subarray(0, headerLength).toString());
        const raw = body.subarray(headerLength);
        const n = header.inputs[0].shape[0];
        expect(header.inputs[0].parameters.binary_data_size).toBe(raw.length);
        expect(header.outputs).toEqual([{ name: 'predict', parameters: { binary_data: true } }, { name: 'predict_proba', parameters: { binary_data: true } }]);
        const { labels, probs } = classify(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)), n);
        const l = Buffer.from(new BigInt64Array(labels).buffer);
        const p = Buffer.from(new Float64Array(probs).buffer);
        const json = Buffer.from(JSON.stringify({ outputs: [
          { name: 'predict', datatype: 'INT64', shape: [n, 1], parameters: { binary_data_size: l.length } },
          { name: 'predict_proba', datatype: 'FP64', shape: [n, 3], parameters: { binary_data_size: p.length } },
        ] }));
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(json.length) });
        res.end(Buffer.concat([json, l, p]));
      },
    });
    const model = await new OipBackend(allowAll, fast).load(control(`${s.url}/v2/models/iris`));
    expect(model).toMatchObject({ kind: 'classifier', classLabels: [1, 2, 3], scores: 'probabilities', nFeatures: 4 });
    const p = await model.score(rowsOf(5), 5);
    expect(p.labels).toEqual([1, 2, 3, 1, 2]);
    expect(p.nClasses).toBe(3);
    expect(Array.from(p.probabilities!.subarray(3, 6))).toEqual([0, 1, 0]);
    const infer = s.requests.filter((r) => r.path.endsWith('/infer'));
    expect(infer).toHaveLength(1);
    expect(infer[0]!.headers['content-type']).toBe('application/octet-stream');
  });

  it('speaks JSON to a server without the extension, one request per batch of at most batchMaxRecords rows, at most maxInFlight at once; refuses to score once released', async () => {
    let inFlight = 0;
    let peak = 0;
    const s = await serve({
      infer: async (req, body, res) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        jsonInfer(req, body, res);
      },
    });
    const model = await new OipBackend(allowAll, { ...fast, batchMaxRecords: 10, maxInFlight: 2 }).load(control(`${s.url}/v2/models/iris`));
    const p = await model.score(rowsOf(95), 95);
    expect(p.labels).toHaveLength(95);
    expect(p.labels!.slice(90)).toEqual([1, 2, 3, 1, 2]);
    expect(p.probabilities).toHaveLength(95 * 3);
    expect(s.requests.filter((r) => r.path.endsWith('/infer'))).toHaveLength(10);
    expect(peak).toBe(2);
    // released by the catalog: the Score transform is told to have it loaded again, as for ONNX
    await model.close();
    await expect(model.score(rowsOf(1), 1)).rejects.toMatchObject({ code: 'MODEL_NOT_LOADED' });
  });

  it('retries a failing call with backoff, then succeeds; a 400 is not retried', async () => {
    let calls = 0;
    const s = await serve({
      infer: (req, body, res) => {
        calls++;
        if (calls <= 2) {
          res.writeHead(503);
          res.end('warming up');
          return;
        }
        if (JSON.parse(body.toString()).inputs[0].shape[0] === 7) {
          res.writeHead(400, { 'Content-Type': 'application/json' });
          res.end('{"error":"bad rows"}');
          return;
        }
        jsonInfer(req, body, res);
      },
    });
    const model = await new OipBackend(allowAll, { ...fast, retries: 3 }).load(control(`${s.url}/v2/models/iris`));
    expect((await model.score(rowsOf(3), 3)).labels).toEqual([1, 2, 3]);
    expect(calls).toBe(3);
    await expect(model.score(rowsOf(7), 7)).rejects.toThrow(/answered HTTP 400: \{"error":"bad rows"\}/);
    expect(calls).toBe(4);
  });

  it('opens the circuit after consecutive failures (no more calls), probes after openMs and closes when the endpoint answers', async () => {
    let down = true;
    let calls = 0;
    const s = await serve({
      infer: (req, body, res) => {
        calls++;
        if (down) {
          res.writeHead(500);
          res.end();
          return;
        }
        jsonInfer(req, body, res);
      },
    });
    const logs: string[] = [];
    const logger = { info: (m: string) => logs.push(`INFO ${m}`), warn: (m: string) => logs.push(`WARN ${m}`) } as never;
    const model = await new OipBackend(allowAll, { ...fast, retries: 1, circuitFailures: 2, circuitOpenMs: 150 }, logger).load(control(`${s.url}/v2/models/iris`));
    await expect(model.score(rowsOf(1), 1)).rejects.toThrow(/HTTP 500/);
    await expect(model.score(rowsOf(1), 1)).rejects.toThrow(/HTTP 500/);
    expect(calls).toBe(4); // 2 calls × (1 + 1 retry)
    await expect(model.score(rowsOf(1), 1)).rejects.toThrow(/circuit open after 2 consecutive failures/);
    expect(calls).toBe(4); // failed fast
    expect(logs.filter((l) => l.startsWith('WARN'))).toEqual([expect.stringMatching(/remote model iris@1 at .*: circuit open for 150 ms/)]);
    down = false;
    await new Promise((r) => setTimeout(r, 200));
    expect((await model.score(rowsOf(2), 2)).labels).toEqual([1, 2]);
    expect(logs[logs.length - 1]).toMatch(/INFO remote model iris@1 .*circuit closed, scoring again/);
  });

  it('a failed probe opens the circuit again; other calls fail fast while it runs', async () => {
    let t = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 100, now: () => t });
    const fail = () => Promise.reject(new Error('down'));
    await expect(breaker.run(fail)).rejects.toThrow('down');
    expect(breaker.current).toBe('open');
    t = 100;
    let release!: () => void;
    const probe = breaker.run(() => new Promise<void>((_r, reject) => { release = () => reject(new Error('still down')); }));
    expect(breaker.current).toBe('half-open');
    await expect(breaker.run(() => Promise.resolve(1))).rejects.toBeInstanceOf(CircuitOpenError);
    release();
    await expect(probe).rejects.toThrow('still down');
    expect(breaker.current).toBe('open');
    t = 150;
    await expect(breaker.run(() => Promise.resolve(1))).rejects.toThrow(/next probe in 50 ms/);
    t = 200;
    await expect(breaker.run(() => Promise.resolve(2))).resolves.toBe(2);
    expect(breaker.current).toBe('closed');
  });

  it.each([
    ['two inputs', { ...IRIS_META, inputs: [IRIS_META.inputs[0], { name: 'extra', datatype: 'FP32', shape: [-1, 1] }] }, {}, /it takes 2 input tensors \('input-0' FP32 \[-1, 4\], 'extra' FP32 \[-1, 1\]\), but the Score transform sends one tensor/],
    ['a narrower input', { ...IRIS_META, inputs: [{ name: 'input-0', datatype: 'FP32', shape: [-1, 3] }] }, {}, /its input 'input-0' FP32 \[-1, 3\] does not take \[batch, 4\] rows \(input\.features maps 4: a, b, c, d\)/],
    ['an integer input', { ...IRIS_META, inputs: [{ name: 'input-0', datatype: 'INT64', shape: [-1, 4] }] }, {}, /its input 'input-0' INT64 \[-1, 4\] is not a float tensor \(FP32 or FP64\)/],
    ['another tensor name', IRIS_META, { input: { tensor: 'float_input', features: ['a', 'b', 'c', 'd'] } }, /its input tensor is 'input-0', but input.tensor says 'float_input'/],
    ['no inputs declared', { ...IRIS_META, inputs: [] }, {}, /its metadata declares no inputs/],
    ['an output it does not have', IRIS_META, { output: { label: 'label' } }, /output.label names 'label', but its outputs are 'predict' INT64/],
  ])('refuses a model at activation whose metadata does not fit: %s', async (_what, meta, extra, reason) => {
    const s = await serve({ meta });
    const load = new OipBackend(allowAll, fast).load(control(`${s.url}/v2/models/iris`, extra));
    await expect(load).rejects.toBeInstanceOf(ModelRefusedError);
    await expect(load).rejects.toThrow(new RegExp(`^model iris@1 refused: the remote model at ${s.url}/v2/models/iris does not fit: ${reason.source}`));
  });

  it('refuses an endpoint that is not ready, or not allowed by kappa.model.http.allowed.hosts (never contacted)', async () => {
    const s = await serve({ ready: 503 });
    await expect(new OipBackend(allowAll, fast).load(control(`${s.url}/v2/models/iris`))).rejects.toThrow(/^model iris@1 refused: the remote model is not ready: GET .*\/v2\/models\/iris\/ready answered HTTP 503/);
    const policy = new ArtifactPolicy({ fileDirs: [], httpHosts: ['models.internal'], maxRedirects: 0, maxBytes: 1, timeoutMs: 1 });
    const before = s.requests.length;
    await expect(new OipBackend(policy, fast).load(control(`${s.url}/v2/models/iris`))).rejects.toThrow(/refused: .*host 127\.0\.0\.1:\d+ is not allowed .*kappa\.model\.http\.allowed\.hosts/);
    expect(s.requests.length).toBe(before);
  });

  it('control messages of remote versions: an OIP endpoint, sha256 of the endpoint unless given, output.classes', () => {
    const c = control('http://127.0.0.1:8080/v2/models/iris/versions/3');
    expect(c.sha256).toBe(require('crypto').createHash('sha256').update('http://127.0.0.1:8080/v2/models/iris/versions/3').digest('hex'));
    expect(c.output.classes).toEqual([1, 2, 3]);
    expect(() => control('file:///models/iris.onnx')).toThrow(/a remote model's 'uri' must be its Open Inference Protocol endpoint: a remote model's uri must be http: or https:, not file:/);
    expect(() => control('http://127.0.0.1:1/models/iris')).toThrow(/must be an Open Inference Protocol v2 model endpoint http\(s\):\/\/host:port\/v2\/models\/<name>\[\/versions\/<version>\], got path \/models\/iris/);
    expect(() => control('http://h/v2/models/iris', { output: { classes: 'a,b' } })).toThrow(/'output.classes' must be an array/);
    // an onnx version still needs its sha256
    expect(() => parseControl({ id: 'm', version: '1', uri: 'http://h/m.onnx', input: { features: ['a'] } })).toThrow(/'sha256' is required/);
  });
});
