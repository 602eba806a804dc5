/** Minimal HTTP client on Node's global fetch (https with own CAs: node:https); never throws on HTTP error statuses. */
import * as https from 'node:https';

export interface HttpResponse<T = any> {
  status: number;
  headers: Headers;
  /** parsed JSON, or null when the body is empty or not JSON */
  body: T;
  /** the raw body text */
  text: string;
}

export interface RequestOptions {
  /** JSON-serialised unless `rawBody` is given */
  body?: unknown;
  /** sent verbatim (for malformed-JSON tests) */
  rawBody?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** for https URLs: the CA that signed the worker's certificate, and a client certificate */
  tls?: TlsClient;
}

export interface TlsClient {
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** fetch has no per-request CA: https requests with a CA of their own go through node:https. */
function httpsRequest(method: string, url: string, headers: Record<string, string>, payload: string | undefined, tls: TlsClient, timeoutMs: number): Promise<{ status: number; headers: Headers; text(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ...tls, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: h, text: async () => body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export async function request<T = any>(method: string, url: string, opts: RequestOptions = {}): Promise<HttpResponse<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers ?? {}) };
  let payload: string | undefined;
  if (opts.rawBody !== undefined) {
    payload = opts.rawBody;
    headers['Content-Type'] ??= 'application/json';
  } else if (opts.body !== undefined) {
    payload = JSON.stringify(opts.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = opts.tls && url.startsWith('https:')
    ? await httpsRequest(method, url, headers, payload, opts.tls, opts.timeoutMs ?? 95_000)
    : await fetch(url, {
      method,
      headers,
      body: payload,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 95_000),
    });
  const text = await res.text();
  let body: any = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** A client bound to one worker's base URL: `api.get('/connectors')`. */
export class Api {
  /** `defaults`: headers (e.g. Authorization) and TLS trust sent with every request of this client */
  constructor(public readonly baseUrl: string, private readonly defaults: Pick<RequestOptions, 'headers' | 'tls'> = {}) {}

  private with(opts: RequestOptions | undefined): RequestOptions {
    return { ...this.defaults, ...opts, headers: { ...(this.defaults.headers ?? {}), ...(opts?.headers ?? {}) } };
  }
  get<T = any>(path: string, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>('GET', this.baseUrl + path, this.with(opts));
  }
  post<T = any>(path: string, body?: unknown, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>('POST', this.baseUrl + path, { ...this.with(opts), body });
  }
  put<T = any>(path: string, body?: unknown, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>('PUT', this.baseUrl + path, { ...this.with(opts), body });
  }
  patch<T = any>(path: string, body?: unknown, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>('PATCH', this.baseUrl + path, { ...this.with(opts), body });
  }
  delete<T = any>(path: string, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>('DELETE', this.baseUrl + path, this.with(opts));
  }
  send<T = any>(method: string, path: string, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>(method, this.baseUrl + path, this.with(opts));
  }
}

/** Compact description of a response for assertion messages. */
export function describeResponse(res: HttpResponse): string {
  return `HTTP ${res.status} ${res.text.slice(0, 500)}`;
}
