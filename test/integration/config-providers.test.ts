/**
 * Config providers (`config.providers=file,directory,env`): placeholders in a connector config are
 * resolved for the connector and its tasks (the sink writes to the file path a properties file
 * names; two transforms insert values from a directory and from the environment; the task gets the
 * secret), while the config topic, GET /connectors/x/config, /tasks, statuses and the worker's
 * output keep the placeholders and never show the secret. Worker properties are resolved at start.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  closeKafka, createConnector, endOffsets, sumOffsets, createTopic, expectStatus, outputFile, produceJson, readAll, readLines, recordingSinkConfig,
  startWorker, stopAllWorkers, tmpDir, uniqueName, waitFor, waitForRecorded, waitForState, type Worker,
} from './helpers';

const PKG = 'org.apache.kafka.common.config.provider.';
const SECRET = `s3cret-${Date.now()}-token`;
const ORIGIN = 'http://ui.providers.example';

let worker: Worker;
let dir: string;
let secretsFile: string;
let secretsDir: string;
let output: string;

beforeAll(async () => {
  dir = tmpDir('kappa-it-providers-');
  output = outputFile('resolved');
  secretsFile = path.join(dir, 'connector.properties');
  fs.writeFileSync(secretsFile, `output.file=${output}\ntoken=${SECRET}\n`);
  secretsDir = path.join(dir, 'secrets');
  fs.mkdirSync(secretsDir);
  fs.writeFileSync(path.join(secretsDir, 'tag'), 'from-directory');
  worker = await startWorker({
    props: {
      'config.providers': 'file,directory,env',
      'config.providers.file.class': PKG + 'FileConfigProvider',
      'config.providers.file.param.allowed.paths': dir,
      'config.providers.directory.class': PKG + 'DirectoryConfigProvider',
      'config.providers.directory.param.allowed.paths': dir,
      'config.providers.env.class': PKG + 'EnvVarConfigProvider',
      'config.providers.env.param.allowlist.pattern': '^KAPPA_IT_',
      // a worker property from a provider, resolved at start
      'access.control.allow.origin': '${env:KAPPA_IT_ORIGIN}',
    },
    env: { KAPPA_IT_ORIGIN: ORIGIN, KAPPA_IT_TAG: 'from-env', NOT_ALLOWED_TAG: 'hidden' },
  });
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('config providers', () => {
  const name = uniqueName('providers');
  const events = () => path.join(dir, 'events.jsonl');
  const config = (topic: string) => recordingSinkConfig(topic, `\${file:${secretsFile}:output.file}`, {
    'secret.token': `\${file:${secretsFile}:token}`,
    'events.file': events(),
    transforms: 'fromDir,fromEnv,notAllowed',
    'transforms.fromDir.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
    'transforms.fromDir.static.field': 'dir',
    'transforms.fromDir.static.value': `\${directory:${secretsDir}:tag}`,
    'transforms.fromEnv.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
    'transforms.fromEnv.static.field': 'env',
    'transforms.fromEnv.static.value': '${env:KAPPA_IT_TAG}',
    // outside allowlist.pattern: stays unresolved, as Connect leaves it
    'transforms.notAllowed.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
    'transforms.notAllowed.static.field': 'unresolved',
    'transforms.notAllowed.static.value': '${env:NOT_ALLOWED_TAG}',
  });

  it('worker properties are resolved at start', async () => {
    const res = await worker.api.get('/', { headers: { Origin: ORIGIN } });
    expectStatus(res, 200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
  });

  it('the connector and its tasks run on the resolved values: output file, transform fields, the secret', async () => {
    const topic = await createTopic(uniqueName('providers-in'));
    await createConnector(worker.api, name, config(topic));
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    await produceJson(topic, 2);
    const records = await waitForRecorded(output, 2);
    expect(records.map((r) => r.value)).toEqual([
      { id: 0, dir: 'from-directory', env: 'from-env', unresolved: '${env:NOT_ALLOWED_TAG}' },
      { id: 1, dir: 'from-directory', env: 'from-env', unresolved: '${env:NOT_ALLOWED_TAG}' },
    ]);
    // the task got the resolved secret (its digest, written by the test sink)
    const start = readLines(events()).map((l) => JSON.parse(l)).find((e) => e.event === 'task-start');
    expect(start.secretSha256).toBe(createHash('sha256').update(SECRET).digest('hex'));
    // the unresolved placeholder is a warning naming the key and why
    expect(worker.logs()).toMatch(/WARN .*transforms\.notAllowed\.static\.value unresolved: \$\{env:NOT_ALLOWED_TAG\} \(the provider env has no key NOT_ALLOWED_TAG\)/);
  });

  it('/config, /tasks, statuses and expand=info show the placeholders, never the secret', async () => {
    const cfg = await worker.api.get(`/connectors/${name}/config`);
    expect(cfg.body['secret.token']).toBe(`\${file:${secretsFile}:token}`);
    expect(cfg.body['output.file']).toBe(`\${file:${secretsFile}:output.file}`);
    const tasks = await worker.api.get(`/connectors/${name}/tasks`);
    expect(tasks.body[0].config['secret.token']).toBe(`\${file:${secretsFile}:token}`);
    expect(tasks.body[0].config['transforms.fromDir.static.value']).toBe(`\${directory:${secretsDir}:tag}`);
    const answers = [cfg, tasks, await worker.api.get(`/connectors/${name}`), await worker.api.get(`/connectors/${name}/status`),
      await worker.api.get('/connectors?expand=info&expand=status'), await worker.api.get(`/connectors/${name}/tasks/0/status`)];
    for (const a of answers) {
      expectStatus(a, 200);
      expect(a.text).not.toContain(SECRET);
    }
  });

  it('the config topic holds the placeholders, never the secret', async () => {
    const topic = worker.props['config.storage.topic']!;
    const records = await readAll(topic, { expected: sumOffsets(await endOffsets(topic)), timeoutMs: 10_000 });
    const mine = records.filter((r) => r.key?.includes(name));
    expect(mine.some((r) => r.value?.includes(`\${file:${secretsFile}:token}`))).toBe(true);
    expect(records.some((r) => r.value?.includes(SECRET))).toBe(false);
  });

  it('a path outside allowed.paths fails the connector with a clear trace that shows no secret', async () => {
    const failing = uniqueName('providers-denied');
    await createConnector(worker.api, failing, recordingSinkConfig('unused-topic', '${file:/etc/hostname:x}', { 'secret.token': `\${file:${secretsFile}:token}` }));
    const status = await waitForState(worker.api, failing, 'FAILED');
    expect(status.connector.trace).toMatch(/The path \/etc\/hostname is not allowed to be read by FileConfigProvider \(see its allowed\.paths\)/);
    expect(JSON.stringify(status)).not.toContain(SECRET);
  });

  it('the worker wrote no line with the secret (and did write the lines of the failure above)', async () => {
    await waitFor(() => /Failed to start connector providers-denied/.test(worker.logs()), { timeoutMs: 10_000, description: 'the failure logged' });
    expect(worker.logs()).not.toContain(SECRET);
  });
});
