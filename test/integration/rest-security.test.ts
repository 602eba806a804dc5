/**
 * REST security: basic auth configured as Connect's BasicAuthSecurityRestExtension is (JAAS file
 * named in KAFKA_OPTS or by kappa.rest.basic.auth.jaas.config, PropertyFileLoginModule credentials),
 * https listeners with PKCS12 and PEM keystores (certificates made here with openssl), an http and
 * an https listener on one worker, keystores the worker refuses at start, and a 2-worker cluster
 * with https, client certificates and basic auth whose follower forwards a create to the leader.
 */
import * as fs from 'fs';
import * as path from 'path';
import { makeTestCerts, type TestCerts } from './helpers/certs';
import { startCluster, leaderAndFollowers } from './helpers/cluster';
import {
  Api, closeKafka, createTopic, expectError, expectStatus, freePort, outputFile, produceJson, recordingSinkConfig, request,
  runWorkerToExit, startWorker, stopAllWorkers, tmpDir, uniqueName, waitForRecorded, waitForState, writeProperties, defaultProperties, type Worker,
} from './helpers';

const EXTENSION = 'org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const ALICE = { Authorization: basic('alice', 'alice-secret') };

let certs: TestCerts;
let jaasFile: string;

beforeAll(() => {
  certs = makeTestCerts();
  const dir = tmpDir('kappa-it-auth-');
  const credentials = path.join(dir, 'credentials.properties');
  // Connect's PropertyFileLoginModule reads a Java properties file: `user: password` or `user=password`
  fs.writeFileSync(credentials, 'alice: alice-secret\nbob=bob-secret\n');
  jaasFile = path.join(dir, 'jaas.conf');
  fs.writeFileSync(jaasFile, `KafkaConnect {\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file="${credentials}";\n};\n`);
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

describe('basic auth and two listeners (http + https with a PKCS12 keystore) on one worker', () => {
  let worker: Worker;
  let httpsApi: Api;
  let httpsPort: number;

  beforeAll(async () => {
    httpsPort = await freePort();
    worker = await startWorker({
      props: {
        'rest.extension.classes': EXTENSION,
        'listeners.https.ssl.keystore.type': 'PKCS12',
        'listeners.https.ssl.keystore.location': certs.pkcs12,
        'listeners.https.ssl.keystore.password': certs.pkcs12Password,
        // the unprefixed ssl.* keys are not used once a listeners.https.* key is set (Connect's precedence)
        'ssl.keystore.location': path.join(certs.dir, 'no-such-keystore.p12'),
      },
      // the http listener first; https beside it, with its own listeners.https.ssl.* settings
      extraListeners: [`https://127.0.0.1:${httpsPort}`],
      env: { KAFKA_OPTS: `-Xmx256m -Djava.security.auth.login.config=${jaasFile}` },
      client: { headers: ALICE },
    });
    httpsApi = new Api(`https://127.0.0.1:${httpsPort}`, { headers: ALICE, tls: { ca: certs.certPem } });
  });

  it.each([
    ['no credentials', {}],
    ['a wrong password', { Authorization: basic('alice', 'wrong') }],
    ['an unknown user', { Authorization: basic('mallory', 'alice-secret') }],
    ['another scheme', { Authorization: 'Bearer alice-secret' }],
    ['a malformed header', { Authorization: 'Basic !!!' }],
  ])('%s: 401 with Connect\'s message and no WWW-Authenticate', async (_what, headers) => {
    for (const p of ['/', '/connectors', '/health', '/connector-plugins']) {
      const res = await request('GET', `${worker.url}${p}`, { headers });
      expectError(res, 401, 'User cannot access the resource.');
      expect(res.headers.get('www-authenticate')).toBeNull();
    }
    const create = await request('POST', `${worker.url}/connectors`, { headers, body: { name: uniqueName('denied'), config: recordingSinkConfig('t', outputFile()) } });
    expectError(create, 401, 'User cannot access the resource.');
  });

  it('right credentials (both users of the file) get the normal answers', async () => {
    expectStatus(await worker.api.get('/'), 200);
    const bob = await request('GET', `${worker.url}/connectors`, { headers: { Authorization: basic('bob', 'bob-secret') } });
    expectStatus(bob, 200);
    expect(bob.body).toEqual(expect.any(Array));
  });

  it('a sample of the REST suites passes with credentials: create, read, pause/resume, validate, plugins, loggers, errors', async () => {
    const topic = await createTopic(uniqueName('auth-in'));
    const file = outputFile();
    const name = uniqueName('auth-conn');
    const created = await worker.api.post('/connectors', { name, config: recordingSinkConfig(topic, file) });
    expectStatus(created, 201);
    expect(created.headers.get('location')).toMatch(new RegExp(`/connectors/${name}$`));
    expectError(await worker.api.post('/connectors', { name, config: recordingSinkConfig(topic, file) }), 409, `Connector ${name} already exists`);
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    await produceJson(topic, 3);
    expect((await waitForRecorded(file, 3)).map((r) => (r.value as { id: number }).id)).toEqual([0, 1, 2]);
    expect((await worker.api.get(`/connectors/${name}/config`)).body).toMatchObject({ topics: topic, 'output.file': file });
    expect((await worker.api.get(`/connectors/${name}/tasks`)).body).toHaveLength(1);
    expectStatus(await worker.api.put(`/connectors/${name}/pause`), 202);
    await waitForState(worker.api, name, 'PAUSED', { taskState: 'PAUSED' });
    expectStatus(await worker.api.put(`/connectors/${name}/resume`), 202);
    await waitForState(worker.api, name, 'RUNNING', { taskState: 'RUNNING' });
    const validate = await worker.api.put('/connector-plugins/RecordingSinkConnector/config/validate', recordingSinkConfig(topic, file, { name, 'secret.token': 'x' }));
    expectStatus(validate, 200);
    expect(validate.body.error_count).toBe(0);
    // a PASSWORD value is shown hidden
    expect(JSON.stringify(validate.body)).toContain('"value":"[hidden]"');
    expect((await worker.api.get('/connector-plugins')).body.length).toBeGreaterThan(0);
    expectStatus(await worker.api.get('/admin/loggers'), 200);
    expectError(await worker.api.get('/connectors/no-such-connector'), 404, 'Connector no-such-connector not found');
    expectError(await worker.api.get('/no/such/route'), 404);
    expectStatus(await worker.api.delete(`/connectors/${name}`), 204);
  });

  it('answers over https with the PKCS12 keystore of listeners.https.ssl.*, with the same auth', async () => {
    const info = await httpsApi.get('/');
    expectStatus(info, 200);
    expect(info.body.version).toMatch(/^4\.1\./);
    expectStatus(await httpsApi.get('/connectors'), 200);
    expectError(await request('GET', `https://127.0.0.1:${httpsPort}/connectors`, { tls: { ca: certs.certPem } }), 401, 'User cannot access the resource.');
    // a client that does not trust the certificate gets no connection
    await expect(request('GET', `https://127.0.0.1:${httpsPort}/`, { headers: ALICE, tls: {} })).rejects.toThrow(/self[- ]signed|unable to verify/i);
    // plain http to the https port is no answer either
    await expect(request('GET', `http://127.0.0.1:${httpsPort}/`, { headers: ALICE, timeoutMs: 5000 })).rejects.toThrow();
  });
});

describe('keystores refused at start, with one message', () => {
  const run = async (props: Record<string, string>) => {
    const port = await freePort();
    const file = path.join(tmpDir(), 'worker.properties');
    writeProperties(file, { ...defaultProperties(port), listeners: `https://127.0.0.1:${port}`, ...props });
    return runWorkerToExit([file]);
  };

  it('a JKS keystore, a wrong PKCS12 password, basic auth without a JAAS file: exit 2, each with one message saying what to do', async () => {
    // three processes at once: each exits from its constructor, before any broker traffic
    const port = await freePort();
    const noJaas = path.join(tmpDir(), 'worker.properties');
    writeProperties(noJaas, { ...defaultProperties(port), 'rest.extension.classes': EXTENSION });
    const [jks, wrongPassword, withoutJaas] = await Promise.all([
      run({ 'ssl.keystore.location': certs.jks, 'ssl.keystore.password': 'x' }),
      run({ 'ssl.keystore.location': certs.pkcs12, 'ssl.keystore.password': 'wrong' }),
      runWorkerToExit([noJaas]),
    ]);
    expect(jks.code).toBe(2);
    expect(jks.stderr).toMatch(/is a JKS store.*convert it to PKCS12: keytool -importkeystore .* -deststoretype PKCS12/);
    expect(wrongPassword.code).toBe(2);
    expect(wrongPassword.stderr).toContain(`Cannot use the keystore ${certs.pkcs12}`);
    expect(wrongPassword.stderr).toMatch(/ssl\.keystore\.password/);
    expect(withoutJaas.code).toBe(2);
    expect(withoutJaas.stderr).toMatch(/no JAAS file is given: set -Djava\.security\.auth\.login\.config=<path> in KAFKA_OPTS or the worker property kappa\.rest\.basic\.auth\.jaas\.config/);
  });
});

describe('a 2-worker cluster with https (PEM keystore, client certificates required) and basic auth', () => {
  it('a create sent to the follower is forwarded to the leader over https with the client\'s credentials', async () => {
    const tlsClient = { ca: certs.certPem, cert: certs.certPem, key: certs.keyPem };
    const workers = await startCluster(2, {
      scheme: 'https',
      props: {
        // Kafka's PEM keystore: the encrypted key and its certificate in one file, the key's password
        'listeners.https.ssl.keystore.type': 'PEM',
        'listeners.https.ssl.keystore.location': certs.pemKeystore,
        'listeners.https.ssl.key.password': certs.pemKeyPassword,
        'listeners.https.ssl.enabled.protocols': 'TLSv1.3',
        'listeners.https.ssl.truststore.type': 'PEM',
        'listeners.https.ssl.truststore.location': certs.truststorePem,
        'listeners.https.ssl.client.auth': 'required',
        'rest.extension.classes': EXTENSION,
        'kappa.rest.basic.auth.jaas.config': jaasFile,
      },
      client: { headers: ALICE, tls: tlsClient },
    });
    const { leader, followers } = await leaderAndFollowers(workers);
    const follower = followers[0]!;
    // the workers advertise https URLs to each other
    expect(leader.logs()).toMatch(/advertised as https:\/\/127\.0\.0\.1:\d+/);
    // without a client certificate there is no connection at all, nor with TLS below ssl.enabled.protocols
    await expect(request('GET', `${follower.url}/`, { headers: ALICE, tls: { ca: certs.certPem } })).rejects.toThrow();
    await expect(request('GET', `${follower.url}/`, { headers: ALICE, tls: { ...tlsClient, maxVersion: 'TLSv1.2' } })).rejects.toThrow();
    // without credentials the follower answers 401 itself (nothing is forwarded)
    const topic = await createTopic(uniqueName('cluster-auth-in'));
    const file = outputFile();
    const name = uniqueName('forwarded');
    expectError(await request('POST', `${follower.url}/connectors`, { tls: tlsClient, body: { name, config: recordingSinkConfig(topic, file) } }), 401);
    const created = await follower.api.post('/connectors', { name, config: recordingSinkConfig(topic, file) });
    expectStatus(created, 201);
    expect(created.body).toMatchObject({ name, config: { topics: topic } });
    await waitForState(leader.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1, timeoutMs: 60_000 });
    await produceJson(topic, 2);
    await waitForRecorded(file, 2);
    // a delete through the follower is forwarded too
    expectStatus(await follower.api.delete(`/connectors/${name}`), 204);
    expect((await leader.api.get('/connectors')).body).not.toContain(name);
  });
});
