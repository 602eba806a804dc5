/**
 * GET /, GET /health, /admin/loggers, CORS, and topic tracking disabled (403), against one worker
 * started with CORS enabled and `topic.tracking.enable=false`.
 */
import { clusterId, closeKafka, expectError, expectStatus, startWorker, stopAllWorkers, Worker } from './helpers';

let worker: Worker;

beforeAll(async () => {
  worker = await startWorker({
    props: {
      'access.control.allow.origin': 'http://ui.example.test',
      'access.control.allow.methods': 'GET,POST,PUT,DELETE,OPTIONS',
      'topic.tracking.enable': 'false',
    },
  });
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

describe('GET /', () => {
  it('returns ServerInfo with a Kafka-like version, a commit and the cluster id of the broker', async () => {
    const res = await worker.api.get('/');
    expectStatus(res, 200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.body).toEqual({ version: expect.any(String), commit: expect.any(String), kafka_cluster_id: expect.any(String) });
    // kcctl parses the first two dot-separated parts as integers and gates stop/offsets on >= 3.5
    const [major, minor] = res.body.version.split('.').map((p: string) => Number.parseInt(p, 10));
    expect(Number.isInteger(major) && Number.isInteger(minor)).toBe(true);
    expect(major * 100 + minor).toBeGreaterThanOrEqual(305);
    // the Connect REST level implemented: 4.1 (statuses carry `version`, plugin config takes ?version=)
    expect(res.body.version).toMatch(/^4\.1\.\d+$/);
    expect(res.body.kafka_cluster_id).toBe(await clusterId());
  });

  it.each(['text/plain', 'text/html', 'application/xml', 'application/json;q=0'])('Accept: %s is 406 in the error shape, as Jersey answers it', async (accept) => {
    const res = await worker.api.get('/', { headers: { Accept: accept } });
    expectError(res, 406, 'HTTP 406 Not Acceptable');
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
  });

  it.each(['*/*', 'application/*', 'application/json', 'text/plain, application/json;q=0.5', 'text/html,application/xhtml+xml,*/*;q=0.8'])('Accept: %s is served', async (accept) => {
    expectStatus(await worker.api.get('/', { headers: { Accept: accept } }), 200);
  });

  it('406 applies to every resource, but unknown routes stay 404', async () => {
    expectError(await worker.api.get('/connectors', { headers: { Accept: 'text/plain' } }), 406);
    expectError(await worker.api.put('/admin/loggers/x', { level: 'INFO' }, { headers: { Accept: 'text/plain' } }), 406);
    expectError(await worker.api.get('/no/such/route', { headers: { Accept: 'text/plain' } }), 404);
  });
});

describe('GET /health', () => {
  it('reports healthy with a message', async () => {
    const res = await worker.api.get('/health');
    expectStatus(res, 200);
    expect(res.body).toEqual(expect.objectContaining({ status: 'healthy', message: expect.any(String) }));
  });

  it('while starting, answered only 503 {"status":"starting"}', async () => {
    for (const h of worker.startupHealth) {
      expect(h.status).toBe(503);
      expect(JSON.parse(h.body)).toEqual(expect.objectContaining({ status: 'starting', message: expect.any(String) }));
    }
  });

  it('accepts a trailing slash', async () => {
    const res = await worker.api.get('/health/');
    expectStatus(res, 200);
    expect(res.body.status).toBe('healthy');
  });
});

describe('/admin/loggers', () => {
  const logger = 'io.kappa.it.loggertest';
  const child = `${logger}.child`;

  it('lists loggers as {name: {level, last_modified}}', async () => {
    const res = await worker.api.get('/admin/loggers');
    expectStatus(res, 200);
    const entries = Object.entries(res.body as Record<string, { level: string; last_modified: number | null }>);
    expect(entries.length).toBeGreaterThan(0);
    for (const [, v] of entries) {
      expect(['OFF', 'FATAL', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE']).toContain(v.level);
      expect(v).toHaveProperty('last_modified');
      expect(v.last_modified === null || typeof v.last_modified === 'number').toBe(true);
    }
  });

  it('GET of an unknown logger is 404 "Logger X not found."', async () => {
    expectError(await worker.api.get('/admin/loggers/io.kappa.it.nobody'), 404, 'Logger io.kappa.it.nobody not found.');
  });

  it('PUT with the level a logger already has changes nothing: [] and last_modified stays null', async () => {
    const fresh = 'io.kappa.it.unchanged';
    const root = (await worker.api.get('/admin/loggers/root')).body.level as string;
    const res = await worker.api.put(`/admin/loggers/${fresh}`, { level: root });
    expectStatus(res, 200);
    expect(res.body).toEqual([]);
    const one = await worker.api.get(`/admin/loggers/${fresh}`);
    expectStatus(one, 200);
    expect(one.body).toEqual({ level: root, last_modified: null });
    // a real change is listed and stamped; repeating it is again a no-op that keeps the stamp
    const other = root === 'DEBUG' ? 'INFO' : 'DEBUG';
    expect((await worker.api.put(`/admin/loggers/${fresh}`, { level: other })).body).toEqual([fresh]);
    const stamped = (await worker.api.get(`/admin/loggers/${fresh}`)).body;
    expect(stamped.level).toBe(other);
    expect(typeof stamped.last_modified).toBe('number');
    expect((await worker.api.put(`/admin/loggers/${fresh}`, { level: other })).body).toEqual([]);
    expect((await worker.api.get(`/admin/loggers/${fresh}`)).body).toEqual(stamped);
    // loggers nobody touched keep a null last_modified
    const list = (await worker.api.get('/admin/loggers')).body as Record<string, { last_modified: number | null }>;
    expect(list['root']!.last_modified).toBeNull();
  });

  it('PUT with worker scope sets the level and returns the affected loggers (200 array)', async () => {
    const before = Date.now();
    const res = await worker.api.put(`/admin/loggers/${child}`, { level: 'DEBUG' });
    expectStatus(res, 200);
    expect(Array.isArray(res.body)).toBe(true);
    expect(res.body).toContain(child);

    const one = await worker.api.get(`/admin/loggers/${child}`);
    expectStatus(one, 200);
    expect(one.body.level).toBe('DEBUG');
    expect(typeof one.body.last_modified).toBe('number');
    expect(one.body.last_modified).toBeGreaterThanOrEqual(before - 5000);
    expect(one.body.last_modified).toBeLessThanOrEqual(Date.now() + 5000);

    const list = await worker.api.get('/admin/loggers');
    expect(list.body[child]).toEqual(expect.objectContaining({ level: 'DEBUG' }));
  });

  it('PUT on a parent namespace also changes its descendants and lists them', async () => {
    const res = await worker.api.put(`/admin/loggers/${logger}?scope=worker`, { level: 'WARN' });
    expectStatus(res, 200);
    expect(res.body).toEqual(expect.arrayContaining([logger, child]));
    const one = await worker.api.get(`/admin/loggers/${child}`);
    expect(one.body.level).toBe('WARN');
  });

  it('an unknown scope falls back to worker scope (200 array)', async () => {
    const res = await worker.api.put(`/admin/loggers/${child}?scope=galaxy`, { level: 'INFO' });
    expectStatus(res, 200);
    expect(res.body).toContain(child);
    expect((await worker.api.get(`/admin/loggers/${child}`)).body.level).toBe('INFO');
  });

  it('PUT with cluster scope is 204 and the level is eventually applied on this worker', async () => {
    const res = await worker.api.put(`/admin/loggers/${child}?scope=cluster`, { level: 'TRACE' });
    expectStatus(res, 204);
    expect(res.text).toBe('');
    const deadline = Date.now() + 20_000;
    let level = '';
    while (Date.now() < deadline) {
      level = (await worker.api.get(`/admin/loggers/${child}`)).body?.level;
      if (level === 'TRACE') break;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(level).toBe('TRACE');
  });

  it('PUT without level is 400', async () => {
    expectError(await worker.api.put(`/admin/loggers/${child}`, {}), 400, "Desired 'level' parameter was not specified in request.");
  });

  it('PUT with an unknown level is 404 "invalid log level"', async () => {
    expectError(await worker.api.put(`/admin/loggers/${child}`, { level: 'LOUD' }), 404, "invalid log level 'LOUD'.");
    // the level did not change
    expect((await worker.api.get(`/admin/loggers/${child}`)).body.level).toBe('TRACE');
  });
});

describe('CORS (access.control.allow.origin / allow.methods set)', () => {
  it('adds Access-Control-Allow-Origin to a cross-origin GET', async () => {
    const res = await worker.api.get('/connectors', { headers: { Origin: 'http://ui.example.test' } });
    expectStatus(res, 200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://ui.example.test');
  });

  it('answers a preflight for PUT and DELETE with the configured methods', async () => {
    for (const method of ['PUT', 'DELETE']) {
      const res = await worker.api.send('OPTIONS', '/connectors/x/pause', {
        headers: {
          Origin: 'http://ui.example.test',
          'Access-Control-Request-Method': method,
          'Access-Control-Request-Headers': 'content-type',
        },
      });
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(300);
      expect(res.headers.get('access-control-allow-origin')).toBe('http://ui.example.test');
      const allowed = (res.headers.get('access-control-allow-methods') ?? '').split(',').map((m) => m.trim().toUpperCase());
      expect(allowed).toContain(method);
    }
  });

  it('does not allow another origin', async () => {
    const res = await worker.api.get('/connectors', { headers: { Origin: 'http://evil.example.test' } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('topic tracking disabled (topic.tracking.enable=false)', () => {
  it('GET /connectors/{c}/topics is 403 "Topic tracking is disabled."', async () => {
    expectError(await worker.api.get('/connectors/anything/topics'), 403, 'Topic tracking is disabled.');
  });

  it('PUT /connectors/{c}/topics/reset is 403 "Topic tracking is disabled."', async () => {
    expectError(await worker.api.put('/connectors/anything/topics/reset'), 403, 'Topic tracking is disabled.');
  });
});
