/**
 * Kafka client security as Java clients configure it (`security.protocol`, `sasl.*`, `ssl.*`),
 * read from properties into one library-neutral description that both adapters translate into
 * their own connection options. Everything is checked here, once, with an error naming the key as
 * the user wrote it (`consumer.override.sasl.jaas.config`), so a mistake shows at start-up or in a
 * task's trace instead of as a connection that never comes up.
 *
 * Secrets (passwords, the JAAS text) never appear in an error message: values of those keys are
 * shown as `[hidden]`, as Connect shows PASSWORD values.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import * as forge from 'node-forge';
import { ConfigException } from '../api';

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
export type SaslMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export interface SaslCredentials {
  mechanism: SaslMechanism;
  username: string;
  password: string;
}

export interface KafkaSecurity {
  protocol: SecurityProtocol;
  /** Node TLS options for SSL and SASL_SSL (undefined for plaintext protocols) */
  tls?: TlsConnectionOptions;
  /** for SASL_PLAINTEXT and SASL_SSL */
  sasl?: SaslCredentials;
}

/** One layer of properties (prefix removed) and the prefix its keys had, for error messages. */
export interface SecurityLayer {
  prefix: string;
  props: Readonly<Record<string, string>> | undefined;
}

const PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const MECHANISMS: readonly SaslMechanism[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];
const SCRAM_MODULE = 'org.apache.kafka.common.security.scram.ScramLoginModule';
const PLAIN_MODULE = 'org.apache.kafka.common.security.plain.PlainLoginModule';
/** keys whose values are secrets: never echoed */
const SECRET_KEYS = new Set(['sasl.jaas.config', 'ssl.truststore.password', 'ssl.keystore.password', 'ssl.key.password', 'ssl.keystore.key']);

/** Whether a client property (prefix removed) holds a secret: its value is never shown. */
export function isSecretClientKey(key: string): boolean {
  return SECRET_KEYS.has(key);
}

/** Whether a client property belongs to security (the keys this module reads or refuses). */
export function isSecurityKey(key: string): boolean {
  return key === 'security.protocol' || key.startsWith('sasl.') || key.startsWith('ssl.');
}

/** The security keys of a property map (e.g. a worker's top-level ones, inherited by every client). */
export function securityPropsOf(props: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(props).filter(([k]) => isSecurityKey(k)));
}

/**
 * Reads the security settings of one client from layers of properties, later layers winning key by
 * key (worker top-level < `consumer.*` < `consumer.override.*`). Throws ConfigException naming the
 * key (with the prefix it was written with) when a value is malformed or unsupported, or a file
 * cannot be read.
 */
export function resolveKafkaSecurity(layers: readonly SecurityLayer[]): KafkaSecurity {
  const values = new Map<string, { value: string; key: string }>();
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer.props ?? {})) if (isSecurityKey(k)) values.set(k, { value: v, key: layer.prefix + k });
  }
  const setting = (k: string) => values.get(k);
  const get = (k: string) => {
    const v = setting(k)?.value;
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  const fail = (k: string, reason: string): never => {
    const s = setting(k);
    const shown = s === undefined ? '' : SECRET_KEYS.has(k) ? '[hidden]' : s.value;
    // a missing key is named with the prefix of the layer that chose the protocol (where it belongs)
    const protocolKey = setting('security.protocol')?.key;
    const prefix = protocolKey === undefined ? '' : protocolKey.slice(0, -'security.protocol'.length);
    throw new ConfigException(`Invalid value ${shown} for configuration ${s?.key ?? prefix + k}: ${reason}`);
  };

  const protocolRaw = (get('security.protocol') ?? 'PLAINTEXT').trim().toUpperCase();
  const protocol = PROTOCOLS.find((p) => p === protocolRaw) ?? fail('security.protocol', `must be one of ${PROTOCOLS.join(', ')}`);
  const security: KafkaSecurity = { protocol };
  if (protocol === 'SSL' || protocol === 'SASL_SSL') security.tls = tlsOptions(get, fail, (k) => setting(k)?.value);
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') security.sasl = saslCredentials(get, fail);
  return security;
}

type Getter = (key: string) => string | undefined;
type Fail = (key: string, reason: string) => never;

function saslCredentials(get: Getter, fail: Fail): SaslCredentials {
  // Kafka's default mechanism is GSSAPI (Kerberos), which this worker does not speak
  const mechanismRaw = (get('sasl.mechanism') ?? 'GSSAPI').trim().toUpperCase();
  const mechanism = MECHANISMS.find((m) => m === mechanismRaw)
    ?? fail('sasl.mechanism', `SASL mechanism ${mechanismRaw}${get('sasl.mechanism') ? '' : " (Kafka's default)"} is not supported; use one of ${MECHANISMS.join(', ')}`);
  const jaas = get('sasl.jaas.config') ?? fail('sasl.jaas.config', `is required with SASL (e.g. ${mechanism === 'PLAIN' ? PLAIN_MODULE : SCRAM_MODULE} required username="..." password="...";)`);
  let login: JaasLogin;
  try {
    login = parseJaasConfig(jaas);
  } catch (e) {
    return fail('sasl.jaas.config', (e as Error).message);
  }
  const expected = mechanism === 'PLAIN' ? PLAIN_MODULE : SCRAM_MODULE;
  if (login.module !== expected) {
    const known = login.module === SCRAM_MODULE || login.module === PLAIN_MODULE;
    fail('sasl.jaas.config', known
      ? `login module ${login.module} does not match sasl.mechanism ${mechanism} (expected ${expected})`
      : `login module ${login.module} is not supported (OAUTHBEARER, GSSAPI and custom modules are not); use ${SCRAM_MODULE} or ${PLAIN_MODULE}`);
  }
  const username = login.options.get('username');
  const password = login.options.get('password');
  if (username === undefined || password === undefined) fail('sasl.jaas.config', `${login.module} needs the options username and password`);
  return { mechanism, username: username!, password: password! };
}

export interface JaasLogin {
  module: string;
  flag: string;
  options: Map<string, string>;
}

/**
 * Parses Kafka's `sasl.jaas.config`: one login module, `<class> <flag> [name=value]... ;`, values
 * bare or quoted ("..." or '...', backslash escapes). Error messages quote nothing of the text but
 * the module class (a broken quote can turn a password into what looks like an option name).
 */
export function parseJaasConfig(text: string): JaasLogin {
  const tokens: { kind: 'word' | 'quoted' | '=' | ';'; text: string }[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '=' || c === ';') { tokens.push({ kind: c, text: c }); i++; continue; }
    if (c === '"' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('a quoted value is not closed');
        const d = text[i]!;
        if (d === '\\' && i + 1 < text.length) { value += text[i + 1]; i += 2; continue; }
        if (d === c) { i++; break; }
        value += d;
        i++;
      }
      tokens.push({ kind: 'quoted', text: value });
      continue;
    }
    let word = '';
    while (i < text.length && !/[\s=;"']/.test(text[i]!)) word += text[i++];
    tokens.push({ kind: 'word', text: word });
  }
  const [moduleToken, flagToken] = tokens;
  if (moduleToken?.kind !== 'word') throw new Error('expected a login module class, e.g. ' + `${SCRAM_MODULE} required username="..." password="...";`);
  if (flagToken?.kind !== 'word' || !['required', 'requisite', 'sufficient', 'optional'].includes(flagToken.text.toLowerCase())) {
    throw new Error(`expected a control flag (required, requisite, sufficient or optional) after ${moduleToken.text}`);
  }
  const options = new Map<string, string>();
  let t = 2;
  for (;;) {
    const tok = tokens[t];
    if (tok === undefined) throw new Error('the login module entry must end with ;');
    if (tok.kind === ';') { t++; break; }
    if (tok.kind !== 'word' || tokens[t + 1]?.kind !== '=' || !['word', 'quoted'].includes(tokens[t + 2]?.kind ?? '')) {
      // no token text here: with a broken quote it may be a piece of the password
      throw new Error(`expected name=value options after the control flag (option ${options.size + 1})`);
    }
    options.set(tok.text, tokens[t + 2]!.text);
    t += 3;
  }
  if (t < tokens.length) throw new Error('only one login module may be configured (Kafka clients take exactly one)');
  return { module: moduleToken.text, flag: flagToken.text.toLowerCase(), options };
}

/** Kafka's store types this worker reads; JKS is Java-only. */
type StoreType = 'PEM' | 'PKCS12';

function storeType(get: Getter, fail: Fail, typeKey: string, contents?: Buffer): StoreType {
  const jks = () => fail(typeKey, 'JKS stores cannot be read by this worker; convert the store to PKCS12 with keytool -importkeystore -srcstoretype JKS -deststoretype PKCS12 (or use PEM)');
  const given = get(typeKey)?.trim().toUpperCase();
  if (given === 'JKS') return jks();
  if (given === 'PEM' || given === 'PKCS12') return given;
  if (given !== undefined) return fail(typeKey, 'must be PEM or PKCS12');
  // Kafka's default type is JKS; Java 9+ writes PKCS12 by default, so read the file to tell
  if (contents === undefined) return 'PEM';
  if (contents.length >= 4 && contents.readUInt32BE(0) === 0xfeedfeed) return jks();
  return contents.toString('latin1', 0, 200).includes('-----BEGIN') ? 'PEM' : 'PKCS12';
}

function readFile(get: Getter, fail: Fail, key: string): Buffer | undefined {
  const location = get(key);
  if (location === undefined) return undefined;
  try {
    return fs.readFileSync(location.trim());
  } catch (e) {
    return fail(key, `the file cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** The certificates of a PEM text, each checked to parse. */
function pemCertificates(text: string, fail: () => never): string[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) fail();
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch {
      fail();
    }
  }
  return blocks;
}

function pemPrivateKey(text: string): string | undefined {
  return /-----BEGIN (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:ENCRYPTED |RSA |EC )?PRIVATE KEY-----/.exec(text)?.[0];
}

/** The trusted certificates of a PKCS12 truststore (Node's TLS reads PKCS12 only with a private key inside). */
function pkcs12Certificates(der: Buffer, password: string | undefined, fail: Fail): string[] {
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der.toString('binary')), password ?? '');
  } catch (e) {
    const message = (e as Error).message;
    if (/MAC|password/i.test(message)) {
      return password === undefined
        ? fail('ssl.truststore.location', 'the PKCS12 truststore is protected; set ssl.truststore.password')
        : fail('ssl.truststore.password', 'the password does not open the PKCS12 truststore');
    }
    return fail('ssl.truststore.location', `not a readable PKCS12 truststore (${message})`);
  }
  const bags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
  const certs = bags.flatMap((b) => (b.cert ? [forge.pki.certificateToPem(b.cert)] : []));
  if (certs.length === 0) fail('ssl.truststore.location', 'the PKCS12 truststore holds no certificate');
  return certs;
}

function tlsOptions(get: Getter, fail: Fail, raw: Getter): TlsConnectionOptions {
  const tls: TlsConnectionOptions = { rejectUnauthorized: true };

  // trust: inline PEM, or a PEM/PKCS12 file; neither means the system's CAs (as Java uses its cacerts)
  const inlineTrust = get('ssl.truststore.certificates');
  const trustFile = readFile(get, fail, 'ssl.truststore.location');
  if (inlineTrust !== undefined && trustFile !== undefined) fail('ssl.truststore.certificates', 'set either ssl.truststore.certificates or ssl.truststore.location, not both');
  if (inlineTrust !== undefined) {
    if (storeType(get, fail, 'ssl.truststore.type') !== 'PEM') fail('ssl.truststore.type', 'must be PEM with ssl.truststore.certificates');
    tls.ca = pemCertificates(inlineTrust, () => fail('ssl.truststore.certificates', 'expected PEM certificates (-----BEGIN CERTIFICATE-----)'));
  } else if (trustFile !== undefined) {
    tls.ca = storeType(get, fail, 'ssl.truststore.type', trustFile) === 'PEM'
      ? pemCertificates(trustFile.toString('utf8'), () => fail('ssl.truststore.location', 'the file holds no readable PEM certificate'))
      : pkcs12Certificates(trustFile, get('ssl.truststore.password'), fail);
  }

  // identity (mutual TLS): inline PEM chain + key, or a PEM/PKCS12 keystore file
  const inlineChain = get('ssl.keystore.certificate.chain');
  const inlineKey = get('ssl.keystore.key');
  const keyFile = readFile(get, fail, 'ssl.keystore.location');
  const keyPassword = get('ssl.key.password');
  if ((inlineChain !== undefined || inlineKey !== undefined) && keyFile !== undefined) fail('ssl.keystore.location', 'set either ssl.keystore.location or ssl.keystore.certificate.chain and ssl.keystore.key, not both');
  if (inlineChain !== undefined || inlineKey !== undefined) {
    if (inlineChain === undefined) fail('ssl.keystore.certificate.chain', 'is required with ssl.keystore.key');
    if (inlineKey === undefined) fail('ssl.keystore.key', 'is required with ssl.keystore.certificate.chain');
    tls.cert = pemCertificates(inlineChain!, () => fail('ssl.keystore.certificate.chain', 'expected PEM certificates (-----BEGIN CERTIFICATE-----)')).join('\n');
    tls.key = checkedKey(pemPrivateKey(inlineKey!), keyPassword, 'ssl.keystore.key', fail);
    if (keyPassword !== undefined) tls.passphrase = keyPassword;
  } else if (keyFile !== undefined) {
    if (storeType(get, fail, 'ssl.keystore.type', keyFile) === 'PEM') {
      const text = keyFile.toString('utf8');
      tls.cert = pemCertificates(text, () => fail('ssl.keystore.location', 'the PEM keystore holds no readable certificate')).join('\n');
      tls.key = checkedKey(pemPrivateKey(text), keyPassword, 'ssl.keystore.location', fail);
      if (keyPassword !== undefined) tls.passphrase = keyPassword;
    } else {
      // Node reads a PKCS12 identity with one password; keytool's PKCS12 stores use the store password for the key too
      const password = get('ssl.keystore.password') ?? keyPassword;
      try {
        createSecureContext({ pfx: keyFile, passphrase: password });
      } catch (e) {
        fail(password === undefined ? 'ssl.keystore.location' : 'ssl.keystore.password', `the PKCS12 keystore cannot be opened (${(e as Error).message}); check ssl.keystore.password`);
      }
      tls.pfx = keyFile;
      if (password !== undefined) tls.passphrase = password;
    }
  }

  // hostname verification: Kafka's default `https`; an empty value turns it off (chain still checked)
  const endpoint = raw('ssl.endpoint.identification.algorithm')?.trim();
  if (endpoint === '') tls.checkServerIdentity = () => undefined;
  else if (endpoint !== undefined && endpoint.toLowerCase() !== 'https') fail('ssl.endpoint.identification.algorithm', 'must be https or empty (no hostname verification)');
  return tls;
}

function checkedKey(key: string | undefined, password: string | undefined, where: string, fail: Fail): string {
  if (key === undefined) return fail(where, 'expected a PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----)');
  try {
    createPrivateKey({ key, format: 'pem', passphrase: password ?? '' });
  } catch {
    return fail(password === undefined ? where : 'ssl.key.password', password === undefined ? 'the private key is encrypted; set ssl.key.password' : 'the password does not decrypt the private key');
  }
  return key;
}

/**
 * Whether TLS should send the broker's host name as SNI: for host names yes (clusters behind
 * SNI-routing proxies need it); a bootstrap list of IP addresses means brokers addressed by IP,
 * and an IP as SNI is not allowed (RFC 6066). The certificate is checked against the host either way.
 */
export function sniForBootstrap(bootstrapServers: readonly string[]): boolean {
  return bootstrapServers.some((s) => isIP(s.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')) === 0);
}
