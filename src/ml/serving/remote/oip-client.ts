/**
 * The HTTP side of the Open Inference Protocol v2 (KServe v2 / Triton / MLServer REST API) for one
 * model endpoint `http(s)://host:port/v2/models/<name>[/versions/<v>]`: readiness, model metadata,
 * server metadata (which extensions it offers) and inference.
 *
 * Inference sends one float tensor and asks for the outputs it names. When the server lists the
 * `binary_tensor_data` extension, the request carries the tensor as raw little-endian bytes after
 * its JSON header (`Inference-Header-Content-Length`) and asks for binary outputs
 * (`binary_data_output`), which saves formatting and parsing thousands of numbers as text; other
 * servers get plain JSON tensors. Responses are read in either form, whatever was asked.
 *
 * Node's fetch (undici) keeps connections alive between calls. Redirects are not followed: an
 * inference endpoint that redirects is misconfigured, and following it could lead past the
 * worker's allowed hosts.
 */

export type OipDatatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

export interface OipTensorMetadata {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

export interface OipModelMetadata {
  readonly name: string;
  readonly versions?: readonly string[];
  readonly platform?: string;
  readonly inputs: readonly OipTensorMetadata[];
  readonly outputs: readonly OipTensorMetadata[];
}

/** One output of an inference response, flattened (row-major). */
export interface OipOutput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number> | readonly (number | string | boolean)[];
}

/** A call that failed; `retriable` when trying again may help (network, timeout, 5xx, 429). */
export class OipError extends Error {
  override name = 'OipError';
  constructor(message: string, readonly retriable: boolean, readonly status?: number) {
    super(message);
  }
}

/** `http(s)://host:port/v2/models/<name>[/versions/<v>]`, or a message saying what is wrong. */
export function parseEndpoint(uri: string): { readonly base: string; readonly origin: string; readonly model: string; readonly version: string | null } | string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `'${uri.slice(0, 100)}' is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `a remote model's uri must be http: or https:, not ${url.protocol}`;
  if (url.search || url.hash || url.username || url.password) return `a remote model's uri takes no query, fragment or credentials`;
  const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?\/?$/.exec(url.pathname);
  if (!m) return `a remote model's uri must be an Open Inference Protocol v2 model endpoint http(s)://host:port/v2/models/<name>[/versions/<version>], got path ${url.pathname}`;
  const base = `${url.origin}/v2/models/${m[1]}${m[2] ? `/versions/${m[2]}` : ''}`;
  return { base, origin: url.origin, model: decodeURIComponent(m[1]!), version: m[2] ? decodeURIComponent(m[2]) : null };
}

const BYTES_PER: Record<string, number> = { BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8 };

/** Decodes the raw little-endian bytes of a binary output tensor. */
export function decodeBinary(datatype: string, bytes: Uint8Array): ArrayLike<number> | string[] {
  const copy = () => bytes.slice().buffer; // aligned, owned
  switch (datatype) {
    case 'FP32': return new Float32Array(copy());
    case 'FP64': return new Float64Array(copy());
    case 'INT32': return new Int32Array(copy());
    case 'UINT32': return new Uint32Array(copy());
    case 'INT16': return new Int16Array(copy());
    case 'UINT16': return new Uint16Array(copy());
    case 'INT8': return new Int8Array(copy());
    case 'UINT8': case 'BOOL': return new Uint8Array(copy());
    case 'INT64': return Array.from(new BigInt64Array(copy()), Number);
    case 'UINT64': return Array.from(new BigUint64Array(copy()), Number);
    case 'BYTES': {
      // each element: a 4-byte little-endian length, then that many bytes
      const out: string[] = [];
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let at = 0; at + 4 <= bytes.byteLength;) {
        const n = view.getUint32(at, true);
        out.push(Buffer.from(bytes.buffer, bytes.byteOffset + at + 4, n).toString('utf8'));
        at += 4 + n;
      }
      return out;
    }
    default: throw new OipError(`output datatype ${datatype} is not supported`, false);
  }
}

function flatten(data: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(data)) for (const d of data) flatten(d, out);
  else out.push(data);
  return out;
}

export interface OipClientOptions {
  /** one HTTP call, body included */
  readonly timeoutMs: number;
}

export class OipClient {
  readonly base: string;
  readonly origin: string;

  constructor(readonly uri: string, private readonly options: OipClientOptions) {
    const ep = parseEndpoint(uri);
    if (typeof ep === 'string') throw new OipError(ep, false);
    this.base = ep.base;
    this.origin = ep.origin;
  }

  private async call(url: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.name === 'TimeoutError' ? `no answer within ${this.options.timeoutMs} ms` : err.cause?.code ?? err.cause?.message ?? err.message;
      throw new OipError(`${init.method ?? 'GET'} ${url} failed: ${why}`, true);
    }
    if (res.status >= 300) {
      const text = await res.text().catch(() => '');
      // the server's own error text helps (e.g. MLServer names the input it could not decode), bounded
      const detail = text ? `: ${text.slice(0, 300)}` : '';
      const retriable = res.status >= 500 || res.status === 429;
      throw new OipError(`${init.method ?? 'GET'} ${url} answered HTTP ${res.status}${res.status < 400 ? ' (redirects are not followed)' : ''}${detail}`, retriable, res.status);
    }
    return res;
  }

  private async json(url: string): Promise<unknown> {
    const res = await this.call(url);
    try {
      return await res.json();
    } catch {
      throw new OipError(`GET ${url} did not answer JSON`, false);
    }
  }

  /** Resolves when the model says it is ready; throws (with the reason) otherwise. */
  async ready(): Promise<void> {
    await (await this.call(`${this.base}/ready`)).arrayBuffer();
  }

  async metadata(): Promise<OipModelMetadata> {
    const m = await this.json(this.base) as Partial<OipModelMetadata> | null;
    if (!m || typeof m !== 'object') throw new OipError(`GET ${this.base} answered no model metadata`, false);
    const tensors = (t: unknown): OipTensorMetadata[] => Array.isArray(t)
      ? t.filter((x) => x && typeof x === 'object').map((x) => ({ name: String(x.name), datatype: String(x.datatype), shape: Array.isArray(x.shape) ? x.shape.map(Number) : [] }))
      : [];
    return { name: String(m.name ?? ''), versions: m.versions, platform: m.platform, inputs: tensors(m.inputs), outputs: tensors(m.outputs) };
  }

  /** The server's extensions (GET /v2); none when it does not say. */
  async extensions(): Promise<string[]> {
    try {
      const s = await this.json(`${this.origin}/v2`) as { extensions?: unknown } | null;
      return Array.isArray(s?.extensions) ? s!.extensions.map(String) : [];
    } catch {
      return [];
    }
  }

  /**
   * One inference call: `rows` (nRows × nCols, row-major) as the tensor `input`, asking for
   * `outputs`. With `binary`, the request and the outputs use the binary tensor data extension.
   */
  async infer(input: { name: string; datatype: 'FP32' | 'FP64' }, rows: Float32Array, nRows: number, nCols: number, outputs: readonly string[], binary: boolean): Promise<Map<string, OipOutput>> {
    const shape = [nRows, nCols];
    let res: Response;
    if (binary) {
      const raw = input.datatype === 'FP32' ? new Uint8Array(rows.buffer, rows.byteOffset, nRows * nCols * 4) : new Uint8Array(Float64Array.from(rows.subarray(0, nRows * nCols)).buffer);
      const header = Buffer.from(JSON.stringify({
        inputs: [{ name: input.name, datatype: input.datatype, shape, parameters: { binary_data_size: raw.byteLength } }],
        outputs: outputs.map((name) => ({ name, parameters: { binary_data: true } })),
        parameters: { binary_data_output: true },
      }));
      res = await this.call(`${this.base}/infer`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.byteLength) },
        body: Buffer.concat([header, raw]),
      });
    } else {
      const body = JSON.stringify({
        inputs: [{ name: input.name, datatype: input.datatype, shape, data: Array.from(rows.subarray(0, nRows * nCols)) }],
        outputs: outputs.map((name) => ({ name })),
      });
      res = await this.call(`${this.base}/infer`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    }
    return this.readInferResponse(res);
  }

  private async readInferResponse(res: Response): Promise<Map<string, OipOutput>> {
    const body = new Uint8Array(await res.arrayBuffer().catch((e) => {
      throw new OipError(`reading the answer of POST ${this.base}/infer failed: ${(e as Error).message}`, true);
    }));
    const headerLength = Number(res.headers.get('inference-header-content-length') ?? body.byteLength);
    if (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > body.byteLength) {
      throw new OipError(`POST ${this.base}/infer answered an Inference-Header-Content-Length of ${res.headers.get('inference-header-content-length')} for ${body.byteLength} bytes`, false);
    }
    let json: { outputs?: unknown };
    try {
      json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, headerLength).toString('utf8'));
    } catch {
      throw new OipError(`POST ${this.base}/infer did not answer an inference response (JSON)`, false);
    }
    const out = new Map<string, OipOutput>();
    let at = headerLength;
    for (const o of Array.isArray(json.outputs) ? json.outputs as Record<string, unknown>[] : []) {
      const name = String(o['name']);
      const datatype = String(o['datatype']);
      const shape = Array.isArray(o['shape']) ? (o['shape'] as unknown[]).map(Number) : [];
      const size = Number((o['parameters'] as Record<string, unknown> | undefined)?.['binary_data_size']);
      let data: OipOutput['data'];
      if (Number.isInteger(size) && size >= 0) {
        if (at + size > body.byteLength) throw new OipError(`POST ${this.base}/infer answered output ${name} with ${size} binary bytes, but only ${body.byteLength - at} follow`, false);
        data = decodeBinary(datatype, body.subarray(at, at + size));
        at += size;
      } else {
        data = flatten(o['data']) as (number | string | boolean)[];
      }
      out.set(name, { name, datatype, shape, data });
    }
    return out;
  }
}
