/** REST request limits: the Host header check, body size and nesting, with Connect's error body. */
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { FastifyInstance } from 'fastify';
import { compileWorkerConfig } from '../../../src/config/worker-config';
import type { Herder } from '../../../src/herder/herder';
import { LogRegistry } from '../../../src/logging/logger';
import { PluginRegistry } from '../../../src/plugins/registry';
import { buildServer } from '../../../src/rest/server';
import { hostOf } from '../../../src/rest/host-check';

const base = {
  'group.id': 'g', 'config.storage.topic': 'c', 'status.storage.topic': 's', 'offset.storage.topic': 'o',
  'key.converter': 'org.apache.kafka.connect.json.JsonConverter', 'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
  listeners: 'http://127.0.0.1:18083', 'rest.advertised.host.name': 'worker-1.internal',
};

interface Answer { statusCode: number; json(): any }

/** A server on a free loopback port; `inject` sends one request with raw headers (Host included). */
async function server(extra: Record<string, string> = {}): Promise<{ url: string; inject(o: { method: string; url: string; headers?: Record<string, string>; payload?: string; chunks?: string[] }): Promise<Answer>; close(): Promise<void> }> {
  const config = compileWorkerConfig({ ...base, ...extra });
  // routes that reach the herder are not exercised: the limits answer before any route runs
  const herder = { ready: true } as unknown as Herder;
  const app: FastifyInstance = buildServer({ herder, registry: new PluginRegistry([]), logs: new LogRegistry('ERROR', () => undefined), config, clusterId: async () => 'cluster', ready: Promise.resolve() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    inject: (o) => new Promise<Answer>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: o.method, path: o.url, headers: o.headers, setHost: !o.headers?.['host'] }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ statusCode: res.statusCode!, json: () => JSON.parse(text) }));
      });
      req.on('error', reject);
      for (const c of o.chunks ?? []) req.write(c); // written before end: sent chunked, no Content-Length
      req.end(o.payload);
    }),
    close: () => app.close(),
  };
}

describe('the Host header check', () => {
  let app: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => { app = await server(); });
  afterAll(() => app.close());

  it.each(['127.0.0.1:18083', 'localhost:18083', 'LOCALHOST', 'a.localhost:1', '[::1]:18083', '127.1.2.3', 'worker-1.internal:18083', 'worker-1.internal.'])('accepts %s', async (host) => {
    const res = await app.inject({ method: 'GET', url: '/health', headers: { host } });
    expect(res.statusCode).toBe(200);
  });

  it.each(['evil.example', 'evil.example:18083', '127.0.0.1.evil.example', '10.0.0.1:18083', 'localhost.evil.example'])('refuses %s with 421 in Connect\'s error shape', async (host) => {
    const res = await app.inject({ method: 'GET', url: '/connectors', headers: { host } });
    expect(res.statusCode).toBe(421);
    const body = res.json();
    expect(body.error_code).toBe(421);
    expect(body.message).toMatch(/^Host ".*" is not a name of this worker; accepted are .*kappa.rest.allowed.hosts$/);
  });

  it('accepts the names of kappa.rest.allowed.hosts, or any with *', async () => {
    const extra = await server({ 'kappa.rest.allowed.hosts': 'connect.example.com' });
    const any = await server({ 'kappa.rest.allowed.hosts': '*' });
    try {
      expect((await extra.inject({ method: 'GET', url: '/health', headers: { host: 'connect.example.com:443' } })).statusCode).toBe(200);
      expect((await extra.inject({ method: 'GET', url: '/health', headers: { host: 'evil.example' } })).statusCode).toBe(421);
      expect((await any.inject({ method: 'GET', url: '/health', headers: { host: 'evil.example' } })).statusCode).toBe(200);
    } finally {
      await extra.close();
      await any.close();
    }
  });

  it('parses host names out of Host values', () => {
    expect(hostOf('Example.COM:8083')).toBe('example.com');
    expect(hostOf('[::1]:80')).toBe('::1');
    expect(hostOf('::1')).toBe('::1');
    expect(hostOf('host.')).toBe('host');
  });
});

describe('request bodies', () => {
  let app: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => { app = await server({ 'kappa.rest.request.max.bytes': '65536' }); });
  afterAll(() => app.close());

  it('over the size limit: 413 naming the limit and the property', async () => {
    const config: Record<string, string> = { 'connector.class': 'FileStreamSink' };
    for (let i = 0; i < 2000; i++) config[`k${i}`] = 'x'.repeat(40);
    const res = await app.inject({ method: 'POST', url: '/connectors', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'big', config }) });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error_code: 413, message: 'HTTP 413 Request Entity Too Large: the request body is larger than 65536 bytes (worker property kappa.rest.request.max.bytes)' });
  });

  it('a 20 MB declared body: 413 before it is parsed, and the connection stays open for the rest of the upload', async () => {
    const body = JSON.stringify({ 'connector.class': 'x', pad: 'x'.repeat(20 * 1024 * 1024) });
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${app.url}/connectors/big/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
      expect(res.status).toBe(413);
      // closing would reset a client still writing its body (EPIPE instead of the answer)
      expect(res.headers.get('connection')).not.toBe('close');
      expect(((await res.json()) as { error_code: number }).error_code).toBe(413);
    }
  });

  it('a chunked body is cut off at the limit with the same answer', async () => {
    const res = await app.inject({ method: 'PUT', url: '/connectors/big/config', headers: { 'content-type': 'application/json' }, chunks: Array.from({ length: 20 }, () => 'x'.repeat(8192)) });
    expect(res.statusCode).toBe(413);
    expect(res.json().message).toMatch(/^HTTP 413 Request Entity Too Large: the request body is larger than 65536 bytes/);
  });

  it('nested deeper than the limit: 400, also where a handler would walk it (more_info of POST /models)', async () => {
    const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    const body = `{"id":"m","version":"1","uri":"data:,x","input":{"features":["a"]},"more_info":${deep}}`;
    const res = await app.inject({ method: 'POST', url: '/models', headers: { 'content-type': 'application/json' }, payload: body });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error_code: 400, message: 'The request body is nested deeper than 64 levels (worker property kappa.rest.request.max.depth)' });
  });
});
