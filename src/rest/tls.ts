/**
 * TLS for https:// REST listeners, from Connect's keys: `listeners.https.ssl.*` when any key with
 * that prefix is set (then only those, as Connect takes them all or nothing), else `ssl.*`.
 * Keystores of type PKCS12 and PEM are read (JKS is refused with the conversion to run), PEM or
 * PKCS12 truststores name the CAs trusted for client certificates (`ssl.client.auth`) and for
 * requests this worker forwards to other https workers. Everything is read and checked once at
 * start, so a wrong path or password stops the worker with one message instead of failing every
 * handshake later.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { ConfigException } from '../api';
import { withPrefix } from '../config/parse';

/** What https.createServer and the forwarding client need. */
export interface RestTls {
  /** server options: certificate, trusted CAs, client authentication, protocol bounds */
  readonly server: tls.TlsOptions;
  /** client options for forwarding to other workers: the trusted CAs (and our certificate, for client auth) */
  readonly client: tls.ConnectionOptions;
  /** where the settings came from, for messages: `listeners.https.` or `` */
  readonly prefix: string;
}

const JKS_MAGIC = 0xfeedfeed;

/** The TLS settings of this worker's https listeners, or null when no listener is https. */
export function restTlsSettings(raw: Readonly<Record<string, string>>, hasHttpsListener: boolean): RestTls | null {
  if (!hasHttpsListener) return null;
  const prefixed = withPrefix(raw, 'listeners.https.');
  const prefix = Object.keys(prefixed).length > 0 ? 'listeners.https.' : '';
  const ssl = prefix ? prefixed : raw;
  const name = (key: string) => prefix + key;
  const get = (key: string) => { const v = ssl[key]; return v === undefined || v.trim() === '' ? undefined : v; };

  const identity = keystore(get, name);
  const ca = truststore(get, name);
  const clientAuth = (get('ssl.client.auth') ?? get('ssl.client.authentication') ?? 'none').toLowerCase();
  if (!['none', 'requested', 'required'].includes(clientAuth)) {
    throw new ConfigException(`Invalid value ${clientAuth} for configuration ${name('ssl.client.auth')}: String must be one of: none, requested, required`);
  }
  const { minVersion, maxVersion } = protocolBounds(get('ssl.enabled.protocols') ?? 'TLSv1.2,TLSv1.3', name('ssl.enabled.protocols'));
  const server: tls.TlsOptions = {
    ...identity,
    ...(ca ? { ca } : {}),
    minVersion,
    maxVersion,
    // requested: a certificate is asked for but not needed; required: no valid certificate, no connection
    requestCert: clientAuth !== 'none',
    rejectUnauthorized: clientAuth === 'required',
  };
  try {
    tls.createSecureContext(server);
  } catch (e) {
    throw new ConfigException(`Cannot use the keystore ${get('ssl.keystore.location') ?? '(inline PEM)'} (${name('ssl.keystore.*')}): ${(e as Error).message}; check ${name('ssl.keystore.password')} and ${name('ssl.key.password')}`);
  }
  return { server, client: { ...(ca ? { ca } : {}), ...identity, minVersion, maxVersion }, prefix };
}

type Getter = (key: string) => string | undefined;

function readFile(path: string, key: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (e) {
    throw new ConfigException(`Invalid value ${path} for configuration ${key}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/** The store's type: as given, else PEM for text with a PEM header, JKS by its magic number, else PKCS12. */
function storeType(given: string | undefined, bytes: Buffer | undefined): string {
  if (given) return given.toUpperCase();
  if (!bytes) return 'PEM';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === JKS_MAGIC) return 'JKS';
  return bytes.toString('latin1', 0, Math.min(bytes.length, 4096)).includes('-----BEGIN') ? 'PEM' : 'PKCS12';
}

function refuseJks(location: string, key: string, storeKind: 'keystore' | 'truststore'): never {
  throw new ConfigException(
    `The ${storeKind} ${location} (${key}) is a JKS store, which this worker cannot read; convert it to PKCS12: ` +
    `keytool -importkeystore -srckeystore ${location} -srcstoretype JKS -destkeystore ${location.replace(/\.jks$/i, '')}.p12 -deststoretype PKCS12, ` +
    `then set ${key.replace(/location$/, 'type')}=PKCS12`,
  );
}

function keystore(get: Getter, name: (k: string) => string): tls.SecureContextOptions {
  const location = get('ssl.keystore.location');
  const inlineKey = get('ssl.keystore.key');
  const inlineChain = get('ssl.keystore.certificate.chain');
  if (!location && !(inlineKey && inlineChain)) {
    throw new ConfigException(`An https listener needs a keystore: set ${name('ssl.keystore.location')} (PKCS12 or PEM), or ${name('ssl.keystore.key')} and ${name('ssl.keystore.certificate.chain')}`);
  }
  const keyPassword = get('ssl.key.password');
  const storePassword = get('ssl.keystore.password');
  if (!location) return { key: inlineKey!, cert: inlineChain!, ...(keyPassword ? { passphrase: keyPassword } : {}) };
  const bytes = readFile(location, name('ssl.keystore.location'));
  const type = storeType(get('ssl.keystore.type'), bytes);
  switch (type) {
    case 'PKCS12':
      // one password opens a PKCS12 store and its key (keytool writes them equal)
      return { pfx: bytes, ...((storePassword ?? keyPassword) ? { passphrase: storePassword ?? keyPassword } : {}) };
    case 'PEM':
      // Kafka's PEM keystore: the private key (encrypted with ssl.key.password, if any) and its certificate chain in one file
      return { key: bytes, cert: bytes, ...(keyPassword ? { passphrase: keyPassword } : {}) };
    case 'JKS':
      return refuseJks(location, name('ssl.keystore.location'), 'keystore');
    default:
      throw new ConfigException(`Invalid value ${type} for configuration ${name('ssl.keystore.type')}: String must be one of: PKCS12, PEM (JKS: convert it to PKCS12)`);
  }
}

function truststore(get: Getter, name: (k: string) => string): string[] | Buffer | undefined {
  const inline = get('ssl.truststore.certificates');
  if (inline) return inline.includes('-----BEGIN') ? Buffer.from(inline) : undefined;
  const location = get('ssl.truststore.location');
  if (!location) return undefined;
  const bytes = readFile(location, name('ssl.truststore.location'));
  const type = storeType(get('ssl.truststore.type'), bytes);
  switch (type) {
    case 'PEM':
      return bytes;
    case 'PKCS12':
      return pkcs12Certificates(location, get('ssl.truststore.password'), name('ssl.truststore.location'));
    case 'JKS':
      return refuseJks(location, name('ssl.truststore.location'), 'truststore');
    default:
      throw new ConfigException(`Invalid value ${type} for configuration ${name('ssl.truststore.type')}: String must be one of: PKCS12, PEM (JKS: convert it to PKCS12)`);
  }
}

/**
 * The certificates of a PKCS12 truststore. Node reads PKCS12 only as key + certificate, and a
 * truststore has no key, so the certificates are taken out with the openssl command (the password
 * goes through the environment, never the command line).
 */
function pkcs12Certificates(location: string, password: string | undefined, key: string): Buffer {
  try {
    return execFileSync('openssl', ['pkcs12', '-in', location, '-nokeys', '-passin', 'env:KAPPA_TRUSTSTORE_PASSWORD'], {
      env: { ...process.env, KAPPA_TRUSTSTORE_PASSWORD: password ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    const why = err.code === 'ENOENT' ? 'the openssl command is not installed (needed to read PKCS12 truststores; or use a PEM truststore)' : (err.stderr?.toString().trim().split('\n')[0] ?? err.message);
    throw new ConfigException(`Cannot read the PKCS12 truststore ${location} (${key}): ${why}`);
  }
}

const PROTOCOLS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

/** Node takes a range of TLS versions: the lowest and highest of ssl.enabled.protocols. */
function protocolBounds(list: string, key: string): { minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion } {
  const given = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = given.filter((p) => !(PROTOCOLS as readonly string[]).includes(p));
  if (given.length === 0 || unknown.length > 0) throw new ConfigException(`Invalid value ${list} for configuration ${key}: supported protocols are ${PROTOCOLS.join(', ')}`);
  const ranks = given.map((p) => PROTOCOLS.indexOf(p as (typeof PROTOCOLS)[number]));
  return { minVersion: PROTOCOLS[Math.min(...ranks)]!, maxVersion: PROTOCOLS[Math.max(...ranks)]! };
}
