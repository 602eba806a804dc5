/**
 * Test certificates made with the openssl command: one self-signed certificate for 127.0.0.1 and
 * localhost, as a PKCS12 keystore, a PEM keystore (encrypted key + certificate in one file) and a
 * PEM truststore; plus a file with the JKS magic number, which the worker must refuse.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tmpDir } from './worker';

export interface TestCerts {
  dir: string;
  /** the certificate (PEM): the CA a client trusts, and the truststore of the workers */
  certPem: string;
  /** the private key (PEM, unencrypted), for a client certificate */
  keyPem: string;
  pkcs12: string;
  pkcs12Password: string;
  /** encrypted key and certificate in one file (Kafka's PEM keystore) */
  pemKeystore: string;
  pemKeyPassword: string;
  truststorePem: string;
  /** starts with 0xFEEDFEED like a JKS store */
  jks: string;
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') throw new Error('the openssl command is needed to make test certificates (make test installs it: scripts/ensure-openssl.sh)');
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString() ?? err.message}`);
  }
}

export function makeTestCerts(): TestCerts {
  const dir = tmpDir('kappa-it-certs-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'extendedKeyUsage=serverAuth,clientAuth']);
  const pkcs12 = path.join(dir, 'keystore.p12');
  const pkcs12Password = 'p12-store-pass';
  openssl(['pkcs12', '-export', '-in', cert, '-inkey', key, '-out', pkcs12, '-passout', `pass:${pkcs12Password}`]);
  const pemKeyPassword = 'pem-key-pass';
  const encryptedKey = path.join(dir, 'key.enc.pem');
  openssl(['pkey', '-in', key, '-out', encryptedKey, '-aes256', '-passout', `pass:${pemKeyPassword}`]);
  const pemKeystore = path.join(dir, 'keystore.pem');
  fs.writeFileSync(pemKeystore, fs.readFileSync(encryptedKey, 'utf8') + fs.readFileSync(cert, 'utf8'));
  const jks = path.join(dir, 'keystore.jks');
  fs.writeFileSync(jks, Buffer.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 0]));
  return { dir, certPem: fs.readFileSync(cert, 'utf8'), keyPem: fs.readFileSync(key, 'utf8'), pkcs12, pkcs12Password, pemKeystore, pemKeyPassword, truststorePem: cert, jks };
}
