/**
 * Config provider placeholders (`${provider:path:key}`): parsing, the file/directory/env providers
 * with their allowed.paths / allowlist.pattern parameters, what stays unresolved, and putting the
 * placeholders back into generated task configs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { placeholdersIn, replacePlaceholders } from '../../../src/config/providers/placeholders';
import { ConfigResolver } from '../../../src/config/providers/resolver';
import { validateWithPlaceholders } from '../../../src/config/providers/validation';
import { validateConnectorConfig } from '../../../src/config/connector-config';
import { PluginRegistry } from '../../../src/plugins/registry';
import { builtinPlugins } from '../../../src/plugins/builtins';

const PKG = 'org.apache.kafka.common.config.provider.';

describe('placeholder parsing', () => {
  it('splits provider, path and key at the first colons', () => {
    expect(placeholdersIn('${file:/etc/secrets.properties:db.password}')).toEqual([
      { text: '${file:/etc/secrets.properties:db.password}', provider: 'file', path: '/etc/secrets.properties', key: 'db.password' },
    ]);
  });

  it('tells no path (${env:VAR}) from an empty path (${env::VAR})', () => {
    expect(placeholdersIn('${env:HOME}')[0]).toMatchObject({ provider: 'env', path: null, key: 'HOME' });
    expect(placeholdersIn('${env::HOME}')[0]).toMatchObject({ provider: 'env', path: '', key: 'HOME' });
  });

  it('finds several placeholders in one value and leaves text without a colon alone', () => {
    expect(placeholdersIn('jdbc://${env:HOST}:${env:PORT}/db').map((p) => p.key)).toEqual(['HOST', 'PORT']);
    expect(placeholdersIn('${topic}.copy')).toEqual([]);
    expect(placeholdersIn('${topic}-${timestamp}')).toEqual([]);
  });

  it('replaces what the lookup answers and keeps the rest verbatim', () => {
    const out = replacePlaceholders('${a:x}/${b:y}', (p) => (p.provider === 'a' ? 'A' : undefined));
    expect(out).toBe('A/${b:y}');
  });
});

describe('ConfigResolver', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-providers-'));
    fs.writeFileSync(path.join(dir, 'db.properties'), 'user=scott\npassword: tiger\n');
    fs.mkdirSync(path.join(dir, 'secrets'));
    fs.writeFileSync(path.join(dir, 'secrets', 'api-key'), 's3cr3t');
    fs.mkdirSync(path.join(dir, 'secrets', 'sub'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const resolver = (extra: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}) => ConfigResolver.fromWorkerProperties({
    'config.providers': 'file,dir,env',
    'config.providers.file.class': PKG + 'FileConfigProvider',
    'config.providers.dir.class': PKG + 'DirectoryConfigProvider',
    'config.providers.env.class': PKG + 'EnvVarConfigProvider',
    ...extra,
  }, env);

  it('resolves file, directory and env placeholders', () => {
    const r = resolver({}, { OUT_TOPIC: 'scored' }).resolve({
      user: `\${file:${dir}/db.properties:user}`,
      url: `db://\${file:${dir}/db.properties:user}:\${file:${dir}/db.properties:password}@host`,
      key: `\${dir:${dir}/secrets:api-key}`,
      topic: '${env:OUT_TOPIC}',
      plain: 'as is',
    });
    expect(r.config).toEqual({ user: 'scott', url: 'db://scott:tiger@host', key: 's3cr3t', topic: 'scored', plain: 'as is' });
    expect(r.unresolved).toEqual([]);
  });

  it('leaves an unknown provider and a missing key unresolved, naming why', () => {
    const r = resolver().resolve({ a: '${vault:secret/db:password}', b: `\${file:${dir}/db.properties:nope}`, c: `\${dir:${dir}/secrets:sub}` });
    expect(r.config).toEqual({ a: '${vault:secret/db:password}', b: `\${file:${dir}/db.properties:nope}`, c: `\${dir:${dir}/secrets:sub}` });
    expect(r.unresolved.map((u) => u.key)).toEqual(['a', 'b', 'c']);
    expect(r.unresolved[0]!.reason).toMatch(/no config provider named vault/);
    expect(r.unresolved[1]!.reason).toMatch(/has no key nope/);
  });

  it('fails clearly on an unreadable file and on a path outside allowed.paths', () => {
    expect(() => resolver().resolve({ a: `\${file:${dir}/missing.properties:x}` })).toThrow(/Could not read properties from file .*missing\.properties: ENOENT/);
    const limited = resolver({ 'config.providers.file.param.allowed.paths': path.join(dir, 'secrets'), 'config.providers.dir.param.allowed.paths': path.join(dir, 'secrets') });
    expect(() => limited.resolve({ a: `\${file:${dir}/db.properties:user}` })).toThrow(/not allowed/);
    expect(() => limited.resolve({ a: `\${file:${dir}/secrets/../db.properties:user}` })).toThrow(/not allowed/);
    expect(limited.resolve({ a: `\${dir:${dir}/secrets:api-key}` }).config['a']).toBe('s3cr3t');
  });

  it('never reads outside the directory through a key', () => {
    const r = resolver().resolve({ a: `\${dir:${dir}/secrets:../db.properties}` });
    expect(r.config['a']).toBe(`\${dir:${dir}/secrets:../db.properties}`);
  });

  it('shows only allow-listed environment variables and refuses a path for env', () => {
    const env = { APP_TOKEN: 't', HOME_SECRET: 'h' };
    const r = resolver({ 'config.providers.env.param.allowlist.pattern': '^APP_' }, env).resolve({ a: '${env:APP_TOKEN}', b: '${env::HOME_SECRET}' });
    expect(r.config).toEqual({ a: 't', b: '${env::HOME_SECRET}' });
    expect(() => resolver({}, env).resolve({ a: '${env:/x:APP_TOKEN}' })).toThrow("Path is not supported for EnvVarConfigProvider, invalid value '/x'");
  });

  it('accepts the simple class names and refuses unknown classes at worker start', () => {
    expect(ConfigResolver.fromWorkerProperties({ 'config.providers': 'e', 'config.providers.e.class': 'EnvVarConfigProvider' }, { X: '1' }).resolve({ x: '${e:X}' }).config['x']).toBe('1');
    expect(() => ConfigResolver.fromWorkerProperties({ 'config.providers': 'v', 'config.providers.v.class': 'com.example.VaultConfigProvider' })).toThrow(/config\.providers\.v\.class: Class com\.example\.VaultConfigProvider could not be found/);
    expect(() => ConfigResolver.fromWorkerProperties({ 'config.providers': 'v' })).toThrow(/config\.providers\.v\.class/);
  });

  it('puts the placeholders back into generated task configs', () => {
    const raw = { 'connector.class': 'X', file: '${env:OUT}', 'secret.token': '${dir:/s:token}', plain: 'p' };
    const tasks = [{ file: '/tmp/out', 'secret.token': 'hunter2', plain: 'p', 'task.class': 'XTask' }];
    expect(ConfigResolver.unresolveTaskConfigs(raw, tasks)).toEqual([{ file: '${env:OUT}', 'secret.token': '${dir:/s:token}', plain: 'p', 'task.class': 'XTask' }]);
  });
});

describe('validation of a config with placeholders', () => {
  const registry = new PluginRegistry(builtinPlugins());
  const resolver = (env: NodeJS.ProcessEnv) => ConfigResolver.fromWorkerProperties({ 'config.providers': 'env', 'config.providers.env.class': PKG + 'EnvVarConfigProvider' }, env);
  const config = { name: 'v', 'connector.class': 'FileStreamSink', topics: 't', file: '${env:OUT_FILE}', 'tasks.max': '${env:TASKS}' };
  const validate = (env: NodeJS.ProcessEnv) => validateWithPlaceholders(config, resolver(env), (c) => validateConnectorConfig(c, registry));
  const valueOf = (r: ReturnType<typeof validate>, name: string) => r.values.find((v) => v.name === name)!;

  it('checks the resolved values and shows the raw ones', () => {
    const ok = validate({ OUT_FILE: '/tmp/secret-path', TASKS: '2' });
    expect(ok.errorCount).toBe(0);
    expect(valueOf(ok, 'tasks.max').value).toBe('${env:TASKS}');
    expect(valueOf(ok, 'file').value).toBe('${env:OUT_FILE}');
  });

  it('reports an invalid resolved value without repeating it', () => {
    const bad = validate({ OUT_FILE: '/tmp/x', TASKS: 'many-secret' });
    expect(bad.errorCount).toBe(1);
    expect(valueOf(bad, 'tasks.max').errors).toEqual(['Invalid value ${env:TASKS} for configuration tasks.max: Not a number of type INT']);
    expect(JSON.stringify(bad)).not.toContain('many-secret');
  });
});
