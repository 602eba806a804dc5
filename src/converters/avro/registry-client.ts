/**
 * A small client for the Confluent Schema Registry REST API (also served by Apicurio's ccompat API
 * and Karapace): schema by id, register under a subject, look a schema up under a subject.
 * Uses Node's fetch; basic auth from `basic.auth.credentials.source` (URL or USER_INFO).
 */

export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(message: string, readonly status?: number, readonly errorCode?: number) {
    super(message);
  }
}

export interface RegistryClientOptions {
  urls: readonly string[];
  /** "user:password" for basic auth, or undefined */
  userInfo?: string;
  timeoutMs?: number;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export class SchemaRegistryClient {
  private readonly urls: string[];
  private readonly authHeader?: string;
  private readonly timeoutMs: number;

  constructor(options: RegistryClientOptions) {
    let userInfo = options.userInfo;
    this.urls = options.urls.map((raw) => {
      const u = new URL(raw);
      if (u.username && userInfo === undefined) userInfo = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
      u.username = '';
      u.password = '';
      return u.toString().replace(/\/+$/, '');
    });
    if (this.urls.length === 0) throw new RegistryError('no schema registry url');
    if (userInfo) this.authHeader = `Basic ${Buffer.from(userInfo, 'utf8').toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** GET /schemas/ids/{id} → the schema text (Avro only). */
  async getSchemaById(id: number): Promise<{ schema: string; schemaType: string }> {
    const body = (await this.request('GET', `/schemas/ids/${id}`)) as { schema?: unknown; schemaType?: unknown };
    if (typeof body?.schema !== 'string') throw new RegistryError(`Schema registry returned no schema for id ${id}`);
    return { schema: body.schema, schemaType: typeof body.schemaType === 'string' ? body.schemaType : 'AVRO' };
  }

  /** POST /subjects/{subject}/versions → the schema id (registers, or returns the existing id). */
  async register(subject: string, schema: string): Promise<number> {
    const body = (await this.request('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema })) as { id?: unknown };
    if (typeof body?.id !== 'number') throw new RegistryError(`Schema registry returned no id when registering under ${subject}`);
    return body.id;
  }

  /** POST /subjects/{subject} → the id of an already registered schema (40403 when absent). */
  async lookup(subject: string, schema: string): Promise<number> {
    const body = (await this.request('POST', `/subjects/${encodeURIComponent(subject)}`, { schema })) as { id?: unknown };
    if (typeof body?.id !== 'number') throw new RegistryError(`Schema registry returned no id for the schema under ${subject}`);
    return body.id;
  }

  private async request(method: string, path: string, json?: unknown): Promise<unknown> {
    let lastError: Error | undefined;
    for (const base of this.urls) {
      let res: Response;
      try {
        const headers: Record<string, string> = { Accept: `${CONTENT_TYPE}, application/json` };
        if (json !== undefined) headers['Content-Type'] = CONTENT_TYPE;
        if (this.authHeader) headers.Authorization = this.authHeader;
        res = await fetch(base + path, {
          method,
          headers,
          body: json === undefined ? undefined : JSON.stringify(json),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (e) {
        // network failure: try the next url
        const cause = (e as { cause?: { message?: string } }).cause?.message;
        lastError = new RegistryError(`Schema registry ${base} unreachable: ${(e as Error).message}${cause ? ` (${cause})` : ''}`);
        continue;
      }
      const text = await res.text();
      let body: unknown = undefined;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      if (res.ok) return body;
      const b = (body ?? {}) as { message?: unknown; error_code?: unknown };
      const message = typeof b.message === 'string' ? b.message : text || res.statusText;
      const code = typeof b.error_code === 'number' ? b.error_code : res.status;
      throw new RegistryError(`${message}; error code: ${code}`, res.status, code);
    }
    throw lastError ?? new RegistryError('no schema registry url');
  }
}
