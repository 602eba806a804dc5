/** Minimal HTTP client on Node's global fetch; never throws on HTTP error statuses. */

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
  const res = await fetch(url, {
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
  constructor(public readonly baseUrl: string) {}

  get<T = any>(path: string, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>('GET', this.baseUrl + path, opts);
  }
  post<T = any>(path: string, body?: unknown, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>('POST', this.baseUrl + path, { ...opts, body });
  }
  put<T = any>(path: string, body?: unknown, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>('PUT', this.baseUrl + path, { ...opts, body });
  }
  patch<T = any>(path: string, body?: unknown, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>('PATCH', this.baseUrl + path, { ...opts, body });
  }
  delete<T = any>(path: string, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>('DELETE', this.baseUrl + path, opts);
  }
  send<T = any>(method: string, path: string, opts?: RequestOptions): Promise<HttpResponse<T>> {
    return request<T>(method, this.baseUrl + path, opts);
  }
}

/** Compact description of a response for assertion messages. */
export function describeResponse(res: HttpResponse): string {
  return `HTTP ${res.status} ${res.text.slice(0, 500)}`;
}
