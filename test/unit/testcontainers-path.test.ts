/**
 * The optional testcontainers path of the integration project's globalSetup
 * (test/integration/global-setup.ts). Only the behaviour without Docker can be tested here: the
 * default path does nothing and loads nothing; the opt-in path without Docker fails fast with one
 * clear message.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

type SetupModule = typeof import('../integration/global-setup');
type TeardownModule = typeof import('../integration/global-teardown');

const ORIGINAL_ENV = { ...process.env };
let loaded: string[] = [];
let home: string;

/** Fresh copies of setup/teardown; testcontainers and kafkajs replaced by factories that record loading. */
function load(opts: { realTestcontainers?: boolean } = {}): { setup: SetupModule; teardown: TeardownModule } {
  let mods!: { setup: SetupModule; teardown: TeardownModule };
  jest.isolateModules(() => {
    if (!opts.realTestcontainers) {
      jest.doMock('testcontainers', () => {
        loaded.push('testcontainers');
        return {};
      });
    }
    jest.doMock('kafkajs', () => {
      loaded.push('kafkajs');
      return {};
    });
    mods = {
      setup: require('../integration/global-setup') as SetupModule,
      teardown: require('../integration/global-teardown') as TeardownModule,
    };
  });
  return mods;
}

beforeEach(() => {
  loaded = [];
  jest.resetModules();
  jest.dontMock('testcontainers');
  jest.dontMock('kafkajs');
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-tc-'));
  // A machine without Docker: nothing points at a container runtime.
  for (const k of ['KAPPA_TESTCONTAINERS', 'KAFKA_BOOTSTRAP_SERVERS', 'DOCKER_HOST', 'TESTCONTAINERS_HOST_OVERRIDE']) delete process.env[k];
  process.env.HOME = home;
  process.env.XDG_RUNTIME_DIR = home;
});

afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in ORIGINAL_ENV)) delete process.env[k];
  Object.assign(process.env, ORIGINAL_ENV);
  fs.rmSync(home, { recursive: true, force: true });
});

describe('default path (no KAPPA_TESTCONTAINERS=1)', () => {
  it.each([
    ['unset', {}],
    ['KAPPA_TESTCONTAINERS=0', { KAPPA_TESTCONTAINERS: '0' }],
    ['KAPPA_TESTCONTAINERS=true (only "1" opts in)', { KAPPA_TESTCONTAINERS: 'true' }],
    ['KAPPA_TESTCONTAINERS=1 but KAFKA_BOOTSTRAP_SERVERS set', { KAPPA_TESTCONTAINERS: '1', KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:19092' }],
  ])('%s: globalSetup and globalTeardown change nothing and load neither testcontainers nor kafkajs', async (_name, env) => {
    Object.assign(process.env, env);
    const before = { ...process.env };
    const { setup, teardown } = load();
    await expect(setup.default()).resolves.toBeUndefined();
    expect(process.env).toEqual(before);
    await expect(teardown.default()).resolves.toBeUndefined();
    expect(process.env).toEqual(before);
    expect(loaded).toEqual([]);
    expect(Object.keys(require.cache).filter((k) => k.includes(`${path.sep}testcontainers${path.sep}`))).toEqual([]);
  });

  it('the integration project (and only it) runs the setup/teardown', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const config = require('../../jest.config.js') as { projects: Array<Record<string, string>> };
    const byName = Object.fromEntries(config.projects.map((p) => [p.displayName, p]));
    expect(byName.integration.globalSetup).toBe('<rootDir>/test/integration/global-setup.ts');
    expect(byName.integration.globalTeardown).toBe('<rootDir>/test/integration/global-teardown.ts');
    expect(byName.unit.globalSetup).toBeUndefined();
  });
});

describe('opt-in path (KAPPA_TESTCONTAINERS=1) without Docker', () => {
  // This case is about machines without Docker: where a Docker socket exists it is reported as skipped.
  const noDockerHere = (require('../integration/global-setup') as typeof import('../integration/global-setup')).obviouslyNoDocker({ ...process.env, DOCKER_HOST: undefined });
  (noDockerHere ? it : it.skip)('fails fast with one clear message, before loading testcontainers', async () => {
    process.env.KAPPA_TESTCONTAINERS = '1';
    const { setup } = load();
    expect(setup.obviouslyNoDocker()).toBe(true);
    const err = await setup.default().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/^KAPPA_TESTCONTAINERS=1 needs a running Docker engine \(/);
    expect(err!.message).toContain('`make test` starts a Kafka broker from the Maven jars');
    expect(err!.message.split('\n')).toHaveLength(1);
    expect(process.env.KAFKA_BOOTSTRAP_SERVERS).toBeUndefined();
    expect(loaded).toEqual([]);
  }, 30_000); // "fails fast": a hang fails the test

  it("with DOCKER_HOST pointing nowhere, testcontainers' own detection fails fast too (real package)", async () => {
    process.env.KAPPA_TESTCONTAINERS = '1';
    process.env.DOCKER_HOST = 'tcp://127.0.0.1:1'; // nothing listens on port 1
    const { setup } = load({ realTestcontainers: true });
    expect(setup.obviouslyNoDocker()).toBe(false); // defers to testcontainers
    const err = await setup.default().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    // testcontainers 12 cannot even be loaded on Node < 22.19 (undici 8); that is reported just as clearly.
    expect(err!.message).toMatch(
      /^KAPPA_TESTCONTAINERS=1( needs a running Docker engine \(testcontainers: Could not find a working container runtime strategy\)|: the testcontainers package could not be loaded on Node v)/,
    );
    expect(err!.message).toContain('`make test` starts a Kafka broker from the Maven jars');
    expect(err!.message.split('\n')).toHaveLength(1);
    expect(process.env.KAFKA_BOOTSTRAP_SERVERS).toBeUndefined();
    expect(loaded).toEqual([]); // kafkajs: no broker was ever probed
  }, 30_000);
});
