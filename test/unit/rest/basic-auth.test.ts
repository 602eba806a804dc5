/**
 * How BasicAuthSecurityRestExtension's configuration is read: the JAAS file from KAFKA_OPTS, its
 * KafkaConnect section, the credentials file, and the Authorization header.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { basicAuthFrom, credentialsFileFromJaas, decodeBasic, jaasPathFromKafkaOpts } from '../../../src/rest/basic-auth';

const EXTENSION = 'org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension';
const header = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('basic auth configuration', () => {
  it('finds the JAAS path in KAFKA_OPTS, quoted or not', () => {
    expect(jaasPathFromKafkaOpts('-Xmx1g -Djava.security.auth.login.config=/etc/kafka/jaas.conf -Dx=y')).toBe('/etc/kafka/jaas.conf');
    expect(jaasPathFromKafkaOpts('-Djava.security.auth.login.config="/etc/my dir/jaas.conf"')).toBe('/etc/my dir/jaas.conf');
    expect(jaasPathFromKafkaOpts('-Xmx1g')).toBeUndefined();
  });

  it('reads the file option of PropertyFileLoginModule in the KafkaConnect section, skipping other sections and comments', () => {
    const jaas = `// broker login
KafkaServer { org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="b"; };
/* the REST API */
KafkaConnect {
  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required
  file="/etc/kafka/connect.password";
};`;
    expect(credentialsFileFromJaas(jaas, 'jaas.conf')).toBe('/etc/kafka/connect.password');
    expect(() => credentialsFileFromJaas('KafkaServer { x required; };', 'j')).toThrow(/no KafkaConnect/);
    expect(() => credentialsFileFromJaas('KafkaConnect { com.example.Other required file="/x"; };', 'j')).toThrow(/names no .*PropertyFileLoginModule/);
  });

  it('decodes Basic credentials as Connect does (the password may contain colons)', () => {
    expect(decodeBasic(header('alice', 'a:b'))).toEqual({ user: 'alice', password: 'a:b' });
    expect(decodeBasic('basic ' + Buffer.from('u:p').toString('base64'))).toEqual({ user: 'u', password: 'p' });
    expect(decodeBasic('Bearer x')).toBeNull();
    expect(decodeBasic(`Basic ${Buffer.from(':nouser').toString('base64')}`)).toBeNull();
    expect(decodeBasic(undefined)).toBeNull();
  });

  it('checks users and passwords of the credentials file; an empty file lets everyone in, as Connect', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kappa-auth-'));
    const creds = path.join(dir, 'creds.properties');
    fs.writeFileSync(creds, 'alice: s3cret\n# comment\nbob=pw\n');
    const jaas = path.join(dir, 'jaas.conf');
    fs.writeFileSync(jaas, `KafkaConnect { org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required file="${creds}"; };`);
    const auth = basicAuthFrom({ 'rest.extension.classes': EXTENSION }, { KAFKA_OPTS: `-Djava.security.auth.login.config=${jaas}` })!;
    expect(auth.allows(header('alice', 's3cret'))).toBe(true);
    expect(auth.allows(header('bob', 'pw'))).toBe(true);
    expect(auth.allows(header('alice', 'pw'))).toBe(false);
    expect(auth.allows(header('carol', 's3cret'))).toBe(false);
    expect(auth.allows(undefined)).toBe(false);
    fs.writeFileSync(creds, '');
    const open = basicAuthFrom({ 'rest.extension.classes': EXTENSION, 'kappa.rest.basic.auth.jaas.config': jaas }, {})!;
    expect(open.allows(undefined)).toBe(true);
    expect(basicAuthFrom({}, {})).toBeNull();
    expect(() => basicAuthFrom({ 'rest.extension.classes': 'com.example.Other' }, {})).toThrow(/Class com\.example\.Other could not be found/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
