/**
 * POST /models/artifacts before it reaches Kafka: its own body limit (kappa.model.artifact.max.bytes,
 * not kappa.rest.request.max.bytes) with a 413 naming it, declared or streamed; bytes only there.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { FastifyInstance } from 'fastify';
import { compileWorkerConfig } from '../../../src/config/worker-config';
import type { Herder } from '../../../src/herder/herder';
import { LogRegistry } from '../../../src/logging/logger';
import { PluginRegistry } from '../../../src/plugins/registry';
import { buildServer } from '../../../src/rest/server';

// @platformatic/kafka is an ES module jest's runtime cannot load; these requests never reach Kafka
jest.mock('../../../src/kafka/platformatic/client', () => ({ PlatformaticClient: class {} }));

const props = {
  'group.id': 'g', 'config.storage.topic': 'c', 'status.storage.topic': 's', 'offset.storage.topic': 'o',
  'key.converter': 'org.apache.kafka.connect.json.JsonConverter', 'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
  listeners: 'http://127.0.0.1:18083', 'bootstrap.servers': '127.0.0.1:1',
  'kappa.model.artifact.max.bytes': '4096', 'kappa.model.cache.dir': 'none',
};

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: { error_code: number; message: string } }

describe('POST /models/artifacts limits', () => {
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    const config = compileWorkerConfig(props);
    app = buildServer({ herder: { ready: true } as unknown as Herder, registry: new PluginRegistry([]), logs: new LogRegistry('ERROR', () => undefined), config, clusterId: async () => 'c', ready: Promise.resolve() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  afterAll(() => app.close());

  const send = (o: { method?: string; url: string; type?: string; body?: Buffer; chunks?: Buffer[] }) => new Promise<Answer>((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (o.type) headers['content-type'] = o.type;
    const req = http.request({ host: '127.0.0.1', port, method: o.method ?? 'POST', path: o.url, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    for (const c of o.chunks ?? []) req.write(c); // chunked: no Content-Length
    req.end(o.body);
  });

  const tooLarge = 'HTTP 413 Request Entity Too Large: the model artifact is larger than kappa.model.artifact.max.bytes (limit 4096 bytes)';

  it('answers 413 naming the artifact limit for a declared Content-Length over it, before reading', async () => {
    const res = await send({ url: '/models/artifacts', type: 'application/octet-stream', body: Buffer.alloc(5000) });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error_code: 413, message: tooLarge });
  });

  it('answers 413 when a chunked body grows past the limit', async () => {
    const res = await send({ url: '/models/artifacts', type: 'application/octet-stream', chunks: [Buffer.alloc(3000), Buffer.alloc(3000)] });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error_code: 413, message: tooLarge });
    expect(res.headers.connection).toBe('close');
  });

  it('takes bytes only as application/octet-stream, and bytes only there', async () => {
    const json = await send({ url: '/models/artifacts', type: 'application/json', body: Buffer.from('{}') });
    expect(json.status).toBe(415);
    expect(json.body.message).toBe("POST /models/artifacts takes the artifact's bytes with Content-Type application/octet-stream, not application/json");
    const elsewhere = await send({ url: '/models', type: 'application/octet-stream', body: Buffer.alloc(10) });
    expect(elsewhere).toMatchObject({ status: 415, body: { error_code: 415, message: 'HTTP 415 Unsupported Media Type' } });
  });

  it('other routes keep kappa.rest.request.max.bytes', async () => {
    const res = await send({ url: '/models', type: 'application/json', body: Buffer.alloc(16 * 1024 * 1024 + 1, 0x20) });
    expect(res.status).toBe(413);
    expect(res.body.message).toMatch(/kappa.rest.request.max.bytes/);
  });
});
