/**
 * Kafka client security settings as users write them (Java client names), read into what the
 * adapters connect with: SASL credentials out of the JAAS text, TLS trust and identity from PEM and
 * PKCS12, hostname verification. Certificates are made here with node-forge (no openssl needed).
 */
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import * as forge from 'node-forge';
import { validateConnectorConfig } from '../../../src/config/connector-config';
import { compileWorkerConfig } from '../../../src/config/worker-config';
import { builtinPlugins } from '../../../src/plugins/builtins';
import { PluginRegistry } from '../../../src/plugins/registry';
import { isRetriableKafkaError, securityFailure, withSecurityReason } from '../../../src/kafka/platformatic/errors';
import { KafkaSecurityError } from '../../../src/kafka/port';
import { parseJaasConfig, resolveKafkaSecurity } from '../../../src/kafka/security';

const SCRAM = 'org.apache.kafka.common.security.scram.ScramLoginModule';
const PLAIN = 'org.apache.kafka.common.security.plain.PlainLoginModule';
const SECRET = 'p@ss "qz9"; s3cret';
const jaas = (module = SCRAM, password = SECRET) => `${module} required username="alice" password="${password.replace(/["\\]/g, '\\$&')}";`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-security-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, data: string | Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return p;
};

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

function certificate(subject: string, keys: ReturnType<typeof keyPair>, issuer: { name: string; key: forge.pki.PrivateKey } | null, altNames: object[] = []) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = String(Math.floor(Math.random() * 1e9));
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: subject }]);
  cert.setIssuer([{ name: 'commonName', value: issuer?.name ?? subject }]);
  cert.setExtensions(issuer === null
    ? [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }]
    : [{ name: 'basicConstraints', cA: false }, { name: 'subjectAltName', altNames }]);
  cert.sign((issuer?.key ?? keys.privateKey) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return cert;
}

const caKeys = keyPair();
const ca = certificate('test-ca', caKeys, null);
const caPem = forge.pki.certificateToPem(ca);
const serverKeys = keyPair();
// valid for localhost only: connecting to 127.0.0.1 fails hostname verification
const serverCert = certificate('localhost', serverKeys, { name: 'test-ca', key: caKeys.privateKey }, [{ type: 2, value: 'localhost' }]);
const clientKeys = keyPair();
const clientCert = certificate('client', clientKeys, { name: 'test-ca', key: caKeys.privateKey });
const der = (asn1: forge.asn1.Asn1) => Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
const truststoreP12 = der(forge.pkcs12.toPkcs12Asn1(null, [ca], 'trust-pw', { algorithm: '3des' }));
const keystoreP12 = der(forge.pkcs12.toPkcs12Asn1(clientKeys.privateKey, [clientCert, ca], 'store-pw', { algorithm: '3des' }));
const encryptedClientKey = forge.pki.encryptRsaPrivateKey(clientKeys.privateKey, 'key-pw', { algorithm: 'aes256' });

const saslSsl = (extra: Record<string, string> = {}) => ({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.jaas.config': jaas(), 'ssl.truststore.certificates': caPem, ...extra });
const resolve = (props: Record<string, string>, prefix = '') => resolveKafkaSecurity([{ prefix, props }]);
/** the ConfigException message of resolving these settings */
const failure = (props: Record<string, string>, prefix = '') => {
  try {
    resolve(props, prefix);
  } catch (e) {
    expect((e as Error).name).toBe('ConfigException');
    return (e as Error).message;
  }
  throw new Error('expected a ConfigException');
};

describe('SASL settings', () => {
  it('PLAINTEXT is the default: no TLS, no SASL', () => {
    expect(resolve({})).toEqual({ protocol: 'PLAINTEXT' });
  });

  it('SASL_SSL with SCRAM: user and password come out of the JAAS text (quotes, escapes, semicolons inside)', () => {
    const s = resolve(saslSsl());
    expect(s.protocol).toBe('SASL_SSL');
    expect(s.sasl).toEqual({ mechanism: 'SCRAM-SHA-512', username: 'alice', password: SECRET });
    expect(s.tls?.ca).toEqual([caPem.trim()]);
    expect(s.tls?.rejectUnauthorized).toBe(true);
    expect(resolve({ 'security.protocol': 'sasl_plaintext', 'sasl.mechanism': 'SCRAM-SHA-256', 'sasl.jaas.config': jaas() })).toEqual({
      protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: SECRET },
    });
  });

  it('PLAIN with PlainLoginModule; bare (unquoted) option values', () => {
    const s = resolve({ 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': `${PLAIN} required username=bob password=hunter2;` });
    expect(s.sasl).toEqual({ mechanism: 'PLAIN', username: 'bob', password: 'hunter2' });
  });

  it('unsupported mechanisms and login modules are refused by name; the default GSSAPI too', () => {
    expect(failure({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'OAUTHBEARER', 'sasl.jaas.config': jaas() }))
      .toBe('Invalid value OAUTHBEARER for configuration sasl.mechanism: SASL mechanism OAUTHBEARER is not supported; use one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512');
    expect(failure({ 'security.protocol': 'SASL_SSL', 'sasl.jaas.config': jaas() })).toContain("SASL mechanism GSSAPI (Kafka's default) is not supported");
    expect(failure(saslSsl({ 'sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;' })))
      .toBe('Invalid value [hidden] for configuration sasl.jaas.config: login module org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule is not supported (OAUTHBEARER, GSSAPI and custom modules are not); use org.apache.kafka.common.security.scram.ScramLoginModule or org.apache.kafka.common.security.plain.PlainLoginModule');
    expect(failure(saslSsl({ 'sasl.mechanism': 'PLAIN' }))).toContain(`login module ${SCRAM} does not match sasl.mechanism PLAIN`);
    expect(failure({ 'security.protocol': 'TLS' })).toBe('Invalid value TLS for configuration security.protocol: must be one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL');
  });

  it('a missing or malformed JAAS text is named, and the password never appears in the message', () => {
    expect(failure({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN' })).toContain('for configuration sasl.jaas.config: is required with SASL');
    const malformed = [
      jaas().replace(/;$/, ''), // no closing ;
      `${SCRAM} required username="alice" password="${SECRET}";`, // quotes inside the password not escaped
      `${SCRAM} username="alice" password="x";`, // no control flag
      `${SCRAM} required username="alice" password="unclosed;`,
      `${jaas()} ${jaas()}`, // two modules
      `${SCRAM} required username="alice";`, // no password
    ];
    const messages = malformed.map((text) => failure(saslSsl({ 'sasl.jaas.config': text })));
    expect(messages).toEqual([
      expect.stringContaining('must end with ;'),
      expect.stringContaining('expected name=value options after the control flag (option 3)'),
      expect.stringContaining('expected a control flag'),
      expect.stringContaining('a quoted value is not closed'),
      expect.stringContaining('only one login module'),
      expect.stringContaining('needs the options username and password'),
    ]);
    for (const m of messages) {
      expect(m).toMatch(/^Invalid value \[hidden\] for configuration sasl\.jaas\.config: /);
      for (const piece of ['p@ss', 'qz9', 's3cret']) expect(m).not.toContain(piece);
    }
  });

  it('the key is named as written: a connector override with its prefix, layered over the worker settings', () => {
    const layers = [
      { prefix: '', props: saslSsl() },
      { prefix: 'consumer.override.', props: { 'sasl.jaas.config': `${SCRAM} required username="carol";` } },
    ];
    expect(() => resolveKafkaSecurity(layers)).toThrow('for configuration consumer.override.sasl.jaas.config:');
    // key by key: the override's credentials, the worker's protocol and trust
    const s = resolveKafkaSecurity([layers[0]!, { prefix: 'consumer.override.', props: { 'sasl.jaas.config': jaas(SCRAM, 'other') } }]);
    expect(s).toMatchObject({ protocol: 'SASL_SSL', sasl: { username: 'alice', password: 'other' } });
    expect(s.tls?.ca).toHaveLength(1);
  });

  it('parseJaasConfig keeps the control flag and every option', () => {
    const login = parseJaasConfig(`${SCRAM} Required username="a" password='b\\'c' tokenauth=true ;`);
    expect(login).toEqual({ module: SCRAM, flag: 'required', options: new Map([['username', 'a'], ['password', "b'c"], ['tokenauth', 'true']]) });
  });
});

describe('TLS settings', () => {
  it('truststore as a PEM file, as PKCS12 (type given or recognised), or inline: the same CA', () => {
    const pem = file('ca.pem', caPem);
    const p12 = file('trust.p12', truststoreP12);
    const expected = [caPem.trim()];
    expect(resolve({ 'security.protocol': 'SSL', 'ssl.truststore.location': pem, 'ssl.truststore.type': 'PEM' }).tls?.ca).toEqual(expected);
    expect(resolve({ 'security.protocol': 'SSL', 'ssl.truststore.location': pem }).tls?.ca).toEqual(expected);
    const fromP12 = resolve({ 'security.protocol': 'SSL', 'ssl.truststore.location': p12, 'ssl.truststore.type': 'PKCS12', 'ssl.truststore.password': 'trust-pw' }).tls?.ca as string[];
    expect(fromP12.map((c) => new X509Certificate(c).fingerprint256)).toEqual([new X509Certificate(caPem).fingerprint256]);
    expect(resolve({ 'security.protocol': 'SSL', 'ssl.truststore.location': p12, 'ssl.truststore.password': 'trust-pw' }).tls?.ca).toHaveLength(1);
    expect(resolve({ 'security.protocol': 'SSL', 'ssl.truststore.certificates': caPem }).tls?.ca).toEqual(expected);
    // no truststore at all: the system's CAs
    expect(resolve({ 'security.protocol': 'SSL' }).tls).toEqual({ rejectUnauthorized: true });
  });

  it('JKS is refused with how to convert it, whether named or recognised by its magic number', () => {
    const jks = file('trust.jks', Buffer.from('feedfeed0000000200000001', 'hex'));
    const cases: Record<string, string>[] = [{ 'ssl.truststore.type': 'JKS', 'ssl.truststore.location': file('ca2.pem', caPem) }, { 'ssl.truststore.location': jks }];
    for (const props of cases) {
      const m = failure({ 'security.protocol': 'SSL', ...props });
      expect(m).toContain('for configuration ssl.truststore.type: JKS stores cannot be read by this worker; convert the store to PKCS12 with keytool -importkeystore');
    }
    expect(failure({ 'security.protocol': 'SSL', 'ssl.keystore.type': 'jks', 'ssl.keystore.location': file('k.jks', 'x') })).toContain('for configuration ssl.keystore.type: JKS stores');
  });

  it('wrong or missing store passwords and unreadable files are named, passwords hidden', () => {
    const p12 = file('trust2.p12', truststoreP12);
    const wrong = failure({ 'security.protocol': 'SSL', 'ssl.truststore.location': p12, 'ssl.truststore.password': 'not-it-secret' });
    expect(wrong).toBe('Invalid value [hidden] for configuration ssl.truststore.password: the password does not open the PKCS12 truststore');
    expect(failure({ 'security.protocol': 'SSL', 'ssl.truststore.location': p12 })).toContain('set ssl.truststore.password');
    expect(failure({ 'security.protocol': 'SSL', 'ssl.truststore.location': path.join(dir, 'missing.pem') }))
      .toBe(`Invalid value ${path.join(dir, 'missing.pem')} for configuration ssl.truststore.location: the file cannot be read (ENOENT)`);
    expect(failure({ 'security.protocol': 'SSL', 'ssl.truststore.certificates': 'not a certificate' })).toContain('expected PEM certificates');
    const keystore = file('client.p12', keystoreP12);
    expect(failure({ 'security.protocol': 'SSL', 'ssl.keystore.location': keystore, 'ssl.keystore.type': 'PKCS12', 'ssl.keystore.password': 'nope-secret' }))
      .toMatch(/^Invalid value \[hidden\] for configuration ssl\.keystore\.password: the PKCS12 keystore cannot be opened/);
  });

  it('client identity: a PKCS12 keystore, a PEM keystore with an encrypted key, or inline PEM', () => {
    const keystore = file('client2.p12', keystoreP12);
    expect(resolve({ 'security.protocol': 'SSL', 'ssl.keystore.location': keystore, 'ssl.keystore.password': 'store-pw' }).tls).toMatchObject({ pfx: keystoreP12, passphrase: 'store-pw' });
    const chain = forge.pki.certificateToPem(clientCert);
    const pemStore = file('client.pem', encryptedClientKey + chain);
    const fromFile = resolve({ 'security.protocol': 'SSL', 'ssl.keystore.location': pemStore, 'ssl.keystore.type': 'PEM', 'ssl.key.password': 'key-pw' }).tls!;
    expect(fromFile.cert).toBe(chain.trim());
    expect(fromFile.passphrase).toBe('key-pw');
    expect(failure({ 'security.protocol': 'SSL', 'ssl.keystore.location': pemStore, 'ssl.key.password': 'bad-secret' }))
      .toBe('Invalid value [hidden] for configuration ssl.key.password: the password does not decrypt the private key');
    expect(failure({ 'security.protocol': 'SSL', 'ssl.keystore.location': pemStore })).toContain('the private key is encrypted; set ssl.key.password');
    const inline = resolve({ 'security.protocol': 'SSL', 'ssl.keystore.certificate.chain': chain, 'ssl.keystore.key': encryptedClientKey, 'ssl.key.password': 'key-pw' }).tls!;
    expect(inline.key).toBe(encryptedClientKey.trim());
    expect(failure({ 'security.protocol': 'SSL', 'ssl.keystore.certificate.chain': chain })).toContain('for configuration ssl.keystore.key: is required with ssl.keystore.certificate.chain');
  });

  it('hostname verification by default; an empty ssl.endpoint.identification.algorithm turns it off (the chain is still checked)', async () => {
    const server = tls.createServer({ key: forge.pki.privateKeyToPem(serverKeys.privateKey), cert: forge.pki.certificateToPem(serverCert) }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const connect = (props: Record<string, string>) => new Promise<string>((done) => {
      const socket = tls.connect({ ...resolve({ 'security.protocol': 'SSL', ...props }).tls, host: '127.0.0.1', port }, () => { socket.destroy(); done('connected'); });
      socket.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
    });
    try {
      expect(await connect({ 'ssl.truststore.certificates': caPem })).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
      expect(await connect({ 'ssl.truststore.certificates': caPem, 'ssl.endpoint.identification.algorithm': 'https' })).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
      expect(await connect({ 'ssl.truststore.certificates': caPem, 'ssl.endpoint.identification.algorithm': '' })).toBe('connected');
      // another CA: refused even without hostname verification
      const other = forge.pki.certificateToPem(certificate('other-ca', keyPair(), null));
      expect(await connect({ 'ssl.truststore.certificates': other, 'ssl.endpoint.identification.algorithm': '' })).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    } finally {
      server.close();
    }
    expect(failure({ 'security.protocol': 'SSL', 'ssl.endpoint.identification.algorithm': 'ldaps' })).toContain('must be https or empty');
  });
});

describe('the worker config checks every client role at start-up', () => {
  const base = {
    'bootstrap.servers': '127.0.0.1:9093', 'group.id': 'g', 'config.storage.topic': 'c', 'status.storage.topic': 's', 'offset.storage.topic': 'o',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter', 'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
  };

  it('top-level settings are kept for every client; a bad prefixed one stops the worker naming the key', () => {
    const config = compileWorkerConfig({ ...base, ...saslSsl(), 'consumer.max.poll.records': '10' });
    expect(Object.keys(config.securityProps).sort()).toEqual(['sasl.jaas.config', 'sasl.mechanism', 'security.protocol', 'ssl.truststore.certificates']);
    expect(() => compileWorkerConfig({ ...base, ...saslSsl(), 'producer.ssl.truststore.type': 'JKS' })).toThrow('for configuration producer.ssl.truststore.type: JKS stores cannot be read');
    expect(() => compileWorkerConfig({ ...base, 'admin.security.protocol': 'SASL_SSL', 'admin.sasl.mechanism': 'PLAIN' })).toThrow('for configuration admin.sasl.jaas.config: is required');
  });
});

describe('connector overrides refused by the override policy', () => {
  it('are reported with their secrets hidden', () => {
    const report = validateConnectorConfig({
      'connector.class': 'FileStreamSink', topics: 'in', file: '/tmp/out',
      'consumer.override.sasl.jaas.config': jaas(), 'producer.override.ssl.key.password': SECRET, 'consumer.override.sasl.mechanism': 'PLAIN',
    }, new PluginRegistry(builtinPlugins()), { overridePolicy: 'None' });
    const refused = report.values.filter((v) => v.errors.some((e) => e.includes("policy does not allow")));
    expect(refused.map((v) => [v.name, v.value])).toEqual([
      ['consumer.override.sasl.jaas.config', '[hidden]'], ['producer.override.ssl.key.password', '[hidden]'], ['consumer.override.sasl.mechanism', 'PLAIN'],
    ]);
    expect(JSON.stringify(report)).not.toContain('s3cret');
  });
});

describe('refused credentials and untrusted certificates are not retried', () => {
  // the shape @platformatic/kafka reports a refused SCRAM login in (nested errors and causes)
  const refused = Object.assign(new Error('metadata failed 6 times.'), {
    code: 'PLT_KFK_MULTIPLE',
    errors: [Object.assign(new Error('Cannot connect to any broker.'), {
      code: 'PLT_KFK_MULTIPLE',
      errors: [Object.assign(new Error('Connection to 127.0.0.1:9093 failed.'), {
        code: 'PLT_KFK_NETWORK', canRetry: true,
        cause: Object.assign(new Error('SASL authentication failed.'), {
          code: 'PLT_KFK_AUTHENTICATION', canRetry: false,
          cause: Object.assign(new Error('Received response with error while executing API SaslAuthenticate(v2)'), {
            code: 'PLT_KFK_RESPONSE', response: { errorCode: 58, errorMessage: 'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512' },
          }),
        }),
      })],
    })],
  });
  const untrusted = Object.assign(new Error('Connection to 127.0.0.1:9093 failed.'), {
    code: 'PLT_KFK_NETWORK', canRetry: true,
    cause: Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
  });
  const unreachable = Object.assign(new Error('Connection to 127.0.0.1:9093 failed.'), {
    code: 'PLT_KFK_NETWORK', canRetry: true, cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  });

  it('the broker\'s reason comes out as a KafkaSecurityError; an outage stays retriable', () => {
    expect(securityFailure(refused)).toBe('Kafka authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512');
    expect(isRetriableKafkaError(refused)).toBe(false);
    const e = withSecurityReason(refused);
    expect(e).toBeInstanceOf(KafkaSecurityError);
    expect(e.message).toContain('invalid credentials');
    expect(withSecurityReason(untrusted).message).toBe("Kafka TLS connection failed, the broker's certificate is not accepted: self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN)");
    expect(isRetriableKafkaError(untrusted)).toBe(false);
    expect(securityFailure(unreachable)).toBeUndefined();
    expect(isRetriableKafkaError(unreachable)).toBe(true);
    expect(withSecurityReason(unreachable)).toBe(unreachable);
  });
});
