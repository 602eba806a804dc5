/** Where model URIs may lead: allowed directories, regular files only, allowed hosts, redirects, byte limits. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { ArtifactPolicy, type ArtifactPolicyOptions } from '../../../src/ml/serving/artifact-policy';
import { readUri } from '../../../src/ml/serving/artifact-sources';
import { LinearBackend } from '../../../src/ml/serving/backends';
import { dataUri, parseControl, sha256Hex } from '../../../src/ml/serving/control';
import { servingSettings } from '../../../src/ml/serving/hub';

function policy(o: Partial<ArtifactPolicyOptions> = {}): ArtifactPolicy {
  return new ArtifactPolicy({ fileDirs: [], httpHosts: [], maxRedirects: 3, maxBytes: 1024 * 1024, timeoutMs: 5000, ...o });
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  throw new Error('expected a refusal');
}

describe('file: URIs', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-policy-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads only under the allowed directories, without touching anything outside', async () => {
    fs.writeFileSync(path.join(dir, 'm.bin'), 'model bytes');
    const p = policy({ fileDirs: [dir] });
    expect(Buffer.from(await readUri(`file://${dir}/m.bin`, p)).toString()).toBe('model bytes');
    const outside = path.join(os.tmpdir(), `kappa-secret-${process.pid}.txt`);
    fs.writeFileSync(outside, 'root:SECRET-HASH:19000:0:99999:7:::');
    try {
      for (const uri of [`file://${outside}`, `file://${dir}/../${path.basename(outside)}`, 'file:///etc/shadow', 'file:///no/such/file']) {
        const r = await refusal(readUri(uri, p));
        expect(r.code).toBe('FORBIDDEN');
        expect(r.message).toContain('outside the directories this worker reads models from');
        expect(r.message).toContain('kappa.model.file.allowed.dirs');
        expect(r.message).not.toContain('SECRET');
      }
    } finally {
      fs.rmSync(outside, { force: true });
    }
  });

  it('does not follow a symlink out of an allowed directory', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-outside-'));
    try {
      fs.writeFileSync(path.join(outside, 'secret'), 'SECRET');
      fs.symlinkSync(path.join(outside, 'secret'), path.join(dir, 'link.onnx'));
      const r = await refusal(readUri(`file://${dir}/link.onnx`, policy({ fileDirs: [dir] })));
      expect(r).toMatchObject({ code: 'FORBIDDEN' });
      expect(r.message).not.toContain('SECRET');
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('refuses devices, /proc and FIFOs even where every file is allowed, without reading or blocking', async () => {
    const anywhere = ArtifactPolicy.local();
    expect(await refusal(readUri('file:///dev/zero', anywhere))).toMatchObject({ code: 'NOT_REGULAR', message: expect.stringContaining('device or pseudo-filesystem') });
    expect(await refusal(readUri('file:///proc/self/status', anywhere))).toMatchObject({ code: 'NOT_REGULAR' });
    const fifo = path.join(dir, 'pipe.onnx');
    execFileSync('mkfifo', [fifo]);
    expect(await refusal(readUri(`file://${fifo}`, anywhere))).toMatchObject({ code: 'NOT_REGULAR', message: expect.stringContaining('not a regular file') });
    expect(await refusal(readUri(`file://${dir}`, anywhere))).toMatchObject({ code: 'NOT_REGULAR' });
  });

  it('refuses files over the byte limit before reading them', async () => {
    fs.writeFileSync(path.join(dir, 'big.onnx'), Buffer.alloc(2048));
    const r = await refusal(readUri(`file://${dir}/big.onnx`, policy({ fileDirs: [dir], maxBytes: 1024 })));
    expect(r).toMatchObject({ code: 'TOO_LARGE', message: expect.stringContaining('2048 bytes, more than 1024 bytes (worker property kappa.model.artifact.max.bytes)') });
  });

  it('refuses data: URIs over the byte limit', async () => {
    expect(await refusal(readUri(dataUri(new Uint8Array(2000)), policy({ maxBytes: 1000 })))).toMatchObject({ code: 'TOO_LARGE' });
  });
});

describe('http(s): URIs', () => {
  let server: http.Server;
  let port: number;
  const hits: string[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push(req.url!);
      const u = new URL(req.url!, 'http://127.0.0.1');
      if (u.pathname === '/model') return void res.end('weights');
      if (u.pathname === '/to-evil') return void res.writeHead(302, { location: 'http://evil.example/model' }).end();
      if (u.pathname === '/to-localhost') return void res.writeHead(307, { location: `http://localhost:${port}/model` }).end();
      if (u.pathname === '/to-file') return void res.writeHead(302, { location: 'file:///etc/shadow' }).end();
      if (u.pathname === '/hop') return void res.writeHead(301, { location: '/model' }).end();
      if (u.pathname === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
      if (u.pathname === '/declared-big') return void res.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000));
      if (u.pathname === '/chunked-big') {
        res.writeHead(200);
        for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000));
        return void res.end();
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => hits.splice(0));

  it('reaches no host unless it is allowed', async () => {
    const r = await refusal(readUri(`http://127.0.0.1:${port}/model`, policy()));
    expect(r).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining(`host 127.0.0.1:${port} is not allowed for model downloads (worker property kappa.model.http.allowed.hosts: empty)`) });
    expect(hits).toEqual([]);
    expect(await refusal(readUri(`http://127.0.0.1:${port}/model`, policy({ httpHosts: ['127.0.0.1:1'] })))).toMatchObject({ code: 'FORBIDDEN' });
    expect(Buffer.from(await readUri(`http://127.0.0.1:${port}/model`, policy({ httpHosts: [`127.0.0.1:${port}`] }))).toString()).toBe('weights');
    expect(Buffer.from(await readUri(`http://127.0.0.1:${port}/model`, policy({ httpHosts: ['127.0.0.1'] }))).toString()).toBe('weights');
  });

  it('checks every redirect target against the policy and limits redirects', async () => {
    const p = policy({ httpHosts: ['127.0.0.1'] });
    expect(await refusal(readUri(`http://127.0.0.1:${port}/to-evil`, p))).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('host evil.example is not allowed') });
    expect(await refusal(readUri(`http://127.0.0.1:${port}/to-localhost`, p))).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining(`host localhost:${port} is not allowed`) });
    expect(await refusal(readUri(`http://127.0.0.1:${port}/to-file`, p))).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('leads to a file: URL') });
    expect(hits).toEqual(['/to-evil', '/to-localhost', '/to-file']); // the refused targets were never requested
    expect(Buffer.from(await readUri(`http://127.0.0.1:${port}/hop`, p)).toString()).toBe('weights');
    expect(await refusal(readUri(`http://127.0.0.1:${port}/loop`, p))).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('more than 3 redirects') });
    expect(await refusal(readUri(`http://127.0.0.1:${port}/hop`, policy({ httpHosts: ['127.0.0.1'], maxRedirects: 0 })))).toMatchObject({ message: expect.stringContaining('more than 0 redirects') });
  });

  it('stops reading a body at the byte limit', async () => {
    const p = policy({ httpHosts: ['127.0.0.1'], maxBytes: 4096 });
    expect(await refusal(readUri(`http://127.0.0.1:${port}/declared-big`, p))).toMatchObject({ code: 'TOO_LARGE', message: expect.stringContaining('5000 bytes, more than 4096') });
    expect(await refusal(readUri(`http://127.0.0.1:${port}/chunked-big`, p))).toMatchObject({ code: 'TOO_LARGE', message: expect.stringContaining('larger than 4096') });
  });
});

describe('the worker properties', () => {
  it('allow only the model directory by default, and nothing over http', () => {
    const s = servingSettings({});
    expect(s.policy.fileDirs).toEqual([path.resolve('models')]);
    expect(() => s.policy.checkUri('file:///etc/shadow')).toThrow(/outside the directories/);
    expect(() => s.policy.checkUri(`file://${path.resolve('models', 'a.onnx')}`)).not.toThrow();
    expect(s.policy.filePath('file:a.onnx')).toBe(path.resolve('models', 'a.onnx')); // relative to the model directory
    expect(() => s.policy.checkUri('file:a.onnx')).not.toThrow();
    expect(() => s.policy.checkUri('file:../a.onnx')).toThrow(/outside the directories/);
    expect(() => s.policy.checkUri('http://127.0.0.1/m')).toThrow(/not allowed for model downloads/);
    const t = servingSettings({ 'kappa.model.dir': '/srv/models', 'kappa.model.file.allowed.dirs': '/a, /b', 'kappa.model.http.allowed.hosts': 'models.internal:8443,[::1]' });
    expect(t.policy.fileDirs).toEqual(['/srv/models', '/a', '/b']);
    expect(() => t.policy.checkUri('https://models.internal:8443/m')).not.toThrow();
    expect(() => t.policy.checkUri('https://models.internal/m')).toThrow(/not allowed/);
    expect(() => t.policy.checkUri('http://[::1]:9/m')).not.toThrow();
    expect(() => servingSettings({ 'kappa.model.http.allowed.hosts': 'http://x/' })).toThrow(/Invalid value http:\/\/x\/ for worker property kappa.model.http.allowed.hosts/);
    expect(() => servingSettings({ 'kappa.model.artifact.max.bytes': '-1' })).toThrow(/kappa.model.artifact.max.bytes/);
  });
});

describe('refusals never echo artifact contents', () => {
  it('a linear model that is not JSON', async () => {
    const bytes = Buffer.from('root:$6$SECRETSALT$hash:19000:0:99999:7:::\n');
    const control = parseControl({ id: 'x', version: '1', format: 'linear', uri: dataUri(bytes), sha256: sha256Hex(bytes), input: { features: ['a'] } });
    const e = await new LinearBackend().load(control, bytes).catch((err: Error) => err);
    expect((e as Error).message).toBe('model x@1 refused: not a linear model: the artifact is not JSON');
  });
});
