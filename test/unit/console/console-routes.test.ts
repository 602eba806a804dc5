/**
 * The console's routes on the REST listener: the pages and their files under /ui, served from the
 * worker itself with a strict Content-Security-Policy, while every answer of Connect's API (unknown
 * routes 404, wrong methods 405, the Host check) stays as it was.
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
  listeners: 'http://127.0.0.1:18083', 'bootstrap.servers': '127.0.0.1:1', 'kappa.model.cache.dir': 'none',
};

interface Answer { statusCode: number; headers: http.IncomingHttpHeaders; body: string; json(): any }

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8';

describe('console routes', () => {
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    const herder = {
      ready: true,
      connectorNames: () => [],
      taskStatus: (name: string) => { throw new Error(`no connector ${name}`); },
    } as unknown as Herder;
    app = buildServer({ herder, registry: new PluginRegistry([]), logs: new LogRegistry('ERROR', () => undefined), config: compileWorkerConfig(props), clusterId: async () => 'c', ready: Promise.resolve() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  afterAll(() => app.close());

  // (light-my-request's inject cannot load under jest: an ES module dependency)
  const request = (method: string, path: string, headers: Record<string, string> = {}) => new Promise<Answer>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ statusCode: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
  const get = (url: string, headers: Record<string, string> = {}) => request('GET', url, { accept: BROWSER_ACCEPT, ...headers });

  it.each(['/ui', '/ui/', '/ui/connectors', '/ui/models', '/ui/learners/', '/ui/learners?connector=a%20b'])('%s is the console page, with a CSP that allows only its own origin', async (url) => {
    const res = await get(url);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'; script-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('<script type="module" src="/ui/assets/app.js">');
  });

  it('serves its scripts, its style sheet and uPlot, revalidated by ETag', async () => {
    const js = await get('/ui/assets/app.js', { accept: '*/*' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get('/ui/assets/console.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    const uplot = await get('/ui/vendor/uPlot.iife.min.js', { accept: '*/*' });
    expect(uplot.statusCode).toBe(200);
    expect(uplot.body).toContain('uPlot');
    expect((await get('/ui/vendor/uPlot.min.css')).statusCode).toBe(200);
    const again = await get('/ui/assets/app.js', { accept: '*/*', 'if-none-match': js.headers['etag'] as string });
    expect(again.statusCode).toBe(304);
  });

  it.each([
    '/ui/unknown', '/ui/assets/nope.js', '/ui/assets/index.html', '/ui/assets/..%2Fpackage.json', '/ui/assets/%2e%2e%2fpackage.json',
    '/ui/vendor/uPlot.cjs.js', '/ui/vendor/..%2F..%2Fpackage.json', '/ui/a/b/c', '/uix',
  ])('%s is the JSON 404 of any unknown route', async (url) => {
    const res = await get(url);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error_code: 404, message: 'HTTP 404 Not Found' });
  });

  it('other methods on the console are 405, and Connect\'s routes answer as before', async () => {
    const post = await request('POST', '/ui');
    expect(post.statusCode).toBe(405);
    expect(post.json()).toEqual({ error_code: 405, message: 'HTTP 405 Method Not Allowed' });
    expect((await request('DELETE', '/ui/models')).statusCode).toBe(405);
    expect((await request('GET', '/connectors/x/ui')).json()).toEqual({ error_code: 404, message: 'HTTP 404 Not Found' });
    expect((await request('GET', '/connectors')).json()).toEqual([]);
  });

  it('the Host check applies to the console too (DNS rebinding)', async () => {
    const res = await get('/ui', { host: 'evil.example' });
    expect(res.statusCode).toBe(421);
  });

  it('GET /learners/:connector/history is 404 for a learner that runs nowhere, 400 for a bad query', async () => {
    const res = await get('/learners/nobody/history');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error_code: 404, message: 'No learner is running for connector nobody task 0 on any worker' });
    const bad = await get('/learners/nobody/history?since=yesterday');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe('Query parameter since must be a non-negative integer, not "yesterday"');
  });
});
