/**
 * Listener settings: which scheme and port a worker advertises (rest.advertised.listener, as
 * Connect picks it), and the TLS settings refused before anything listens.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileWorkerConfig } from '../../../src/config/worker-config';
import { restTlsSettings } from '../../../src/rest/tls';

const base = {
  'bootstrap.servers': '127.0.0.1:9092', 'group.id': 'g', 'config.storage.topic': 'c', 'status.storage.topic': 's', 'offset.storage.topic': 'o',
  'key.converter': 'org.apache.kafka.connect.storage.StringConverter', 'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
};

describe('advertised listener', () => {
  it('is http when there is an http listener, else https; rest.advertised.listener picks one', () => {
    const both = compileWorkerConfig({ ...base, listeners: 'https://127.0.0.1:8443,http://127.0.0.1:8083' });
    expect(both.listeners.map((l) => l.protocol)).toEqual(['https', 'http']);
    expect(both.advertisedUrl).toBe('http://127.0.0.1:8083');
    expect(both.workerId).toBe('127.0.0.1:8083');
    expect(compileWorkerConfig({ ...base, listeners: 'https://127.0.0.1:8443' }).advertisedUrl).toBe('https://127.0.0.1:8443');
    const named = compileWorkerConfig({ ...base, listeners: 'http://127.0.0.1:8083,https://127.0.0.1:8443', 'rest.advertised.listener': 'HTTPS', 'rest.advertised.host.name': 'w1.example' });
    expect(named.advertisedUrl).toBe('https://w1.example:8443');
    expect(named.workerId).toBe('w1.example:8443');
  });

  it('refuses a named listener that does not exist and schemes other than http and https', () => {
    expect(() => compileWorkerConfig({ ...base, listeners: 'http://127.0.0.1:8083', 'rest.advertised.listener': 'https' })).toThrow(/rest\.advertised\.listener: no https listener/);
    expect(() => compileWorkerConfig({ ...base, listeners: 'http://127.0.0.1:8083', 'rest.advertised.listener': 'ftp' })).toThrow(/rest\.advertised\.listener/);
    expect(() => compileWorkerConfig({ ...base, listeners: 'ftp://127.0.0.1:21' })).toThrow(/listeners/);
  });
});

describe('https listener TLS settings', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-tls-'));
  const jks = path.join(dir, 'worker.jks');
  fs.writeFileSync(jks, Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('none without an https listener', () => {
    expect(restTlsSettings({ 'ssl.keystore.location': jks }, false)).toBeNull();
  });

  it('refuses JKS (by type or by its magic number) with the conversion command', () => {
    expect(() => restTlsSettings({ 'ssl.keystore.location': jks }, true)).toThrow(/is a JKS store.*keytool -importkeystore -srckeystore .*worker\.jks -srcstoretype JKS -destkeystore .*worker\.p12 -deststoretype PKCS12, then set ssl\.keystore\.type=PKCS12/);
    expect(() => restTlsSettings({ 'ssl.keystore.location': jks, 'ssl.keystore.type': 'jks' }, true)).toThrow(/JKS store/);
  });

  it('needs a keystore, and takes listeners.https.ssl.* over ssl.* (all or nothing)', () => {
    expect(() => restTlsSettings({}, true)).toThrow('An https listener needs a keystore: set ssl.keystore.location (PKCS12 or PEM), or ssl.keystore.key and ssl.keystore.certificate.chain');
    // a prefixed key is set: the unprefixed keystore is not looked at
    expect(() => restTlsSettings({ 'ssl.keystore.location': jks, 'listeners.https.ssl.client.auth': 'required' }, true)).toThrow(/set listeners\.https\.ssl\.keystore\.location/);
    expect(() => restTlsSettings({ 'listeners.https.ssl.keystore.location': path.join(dir, 'missing.p12') }, true)).toThrow('Invalid value ' + path.join(dir, 'missing.p12') + ' for configuration listeners.https.ssl.keystore.location: no such file');
  });
});
