/**
 * HTTP basic authentication configured as Connect's BasicAuthSecurityRestExtension is:
 * `rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension`
 * and a JAAS file whose `KafkaConnect` section names PropertyFileLoginModule with
 * `file="<credentials>"`, a Java properties file of `user=password` (or `user: password`) lines.
 * The JAAS file is the worker property kappa.rest.basic.auth.jaas.config, else
 * `-Djava.security.auth.login.config=<path>` in KAFKA_OPTS (where Connect's scripts put it).
 *
 * As Connect's filter: every request needs credentials that match the file (an empty file lets
 * every request through), a failure answers 401 "User cannot access the resource." without a
 * WWW-Authenticate header. Connect exempts only its internal POST /connectors/<name>/tasks (task
 * configs sent to the leader); this worker has no such request (the leader writes task configs
 * itself) and forwards the client's Authorization header with every forwarded request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import { ConfigException } from '../api';
import { parseProperties } from '../config/properties';

const EXTENSION = 'org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension';
const LOGIN_MODULE = 'org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule';

/** Connect's answer to a request that fails authentication. */
export const UNAUTHORIZED_MESSAGE = 'User cannot access the resource.';

export interface BasicAuth {
  /** the credentials file, for messages */
  readonly file: string;
  /** true when the Authorization header names a user of the file with its password */
  allows(authorization: string | undefined): boolean;
}

/**
 * The basic auth this worker enforces, or null when rest.extension.classes does not name the
 * extension. Any other extension class, a missing JAAS file, section or credentials file stops the
 * worker at start with one message.
 */
export function basicAuthFrom(raw: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv = process.env): BasicAuth | null {
  const classes = (raw['rest.extension.classes'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const c of classes) {
    if (c !== EXTENSION && c !== 'BasicAuthSecurityRestExtension') {
      throw new ConfigException(`Invalid value ${c} for configuration rest.extension.classes: Class ${c} could not be found. The REST extension this worker has is ${EXTENSION}`);
    }
  }
  if (classes.length === 0) return null;
  const jaasPath = raw['kappa.rest.basic.auth.jaas.config']?.trim() || jaasPathFromKafkaOpts(env['KAFKA_OPTS'] ?? '');
  if (!jaasPath) {
    throw new ConfigException(`rest.extension.classes names BasicAuthSecurityRestExtension, but no JAAS file is given: set -Djava.security.auth.login.config=<path> in KAFKA_OPTS or the worker property kappa.rest.basic.auth.jaas.config`);
  }
  let jaas: string;
  try {
    jaas = fs.readFileSync(jaasPath, 'utf8');
  } catch (e) {
    throw new ConfigException(`Cannot read the JAAS file ${jaasPath} of BasicAuthSecurityRestExtension: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const file = credentialsFileFromJaas(jaas, jaasPath);
  let credentials: Record<string, string>;
  try {
    credentials = parseProperties(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigException(`Cannot read the credentials file ${file} named in ${jaasPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const users = new Map(Object.entries(credentials));
  return {
    file,
    allows(authorization) {
      // Connect's PropertyFileLoginModule: an empty file authenticates everyone
      if (users.size === 0) return true;
      const given = decodeBasic(authorization);
      const expected = given === null ? undefined : users.get(given.user);
      return expected !== undefined && sameSecret(expected, given!.password);
    },
  };
}

/** The path of `-Djava.security.auth.login.config=<path>` in KAFKA_OPTS (quoted or not), or undefined. */
export function jaasPathFromKafkaOpts(opts: string): string | undefined {
  const m = /(?:^|\s)-Djava\.security\.auth\.login\.config=(?:"([^"]*)"|'([^']*)'|(\S+))/.exec(opts);
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/** The `file` option of PropertyFileLoginModule in the JAAS file's KafkaConnect section. */
export function credentialsFileFromJaas(jaas: string, where: string): string {
  const text = jaas.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/[^\n]*/g, '');
  const section = /(?:^|[\s;}])KafkaConnect\s*\{([\s\S]*?)\}\s*;/.exec(text);
  if (!section) throw new ConfigException(`The JAAS file ${where} has no KafkaConnect { ... }; section`);
  const entries = section[1]!.split(';').map((s) => s.trim()).filter((s) => s !== '');
  for (const entry of entries) {
    const m = /^(\S+)\s+(required|requisite|sufficient|optional)\b([\s\S]*)$/.exec(entry);
    if (!m || (m[1] !== LOGIN_MODULE && m[1] !== 'PropertyFileLoginModule')) continue;
    const file = /(?:^|\s)file\s*=\s*(?:"([^"]*)"|(\S+))/.exec(m[3]!);
    if (!file) throw new ConfigException(`The PropertyFileLoginModule entry of ${where} has no file="<credentials file>" option`);
    return file[1] ?? file[2]!;
  }
  throw new ConfigException(`The KafkaConnect section of ${where} names no ${LOGIN_MODULE}, the login module this worker has`);
}

/** `Basic base64(user:password)` → user and password; anything else (or no colon) → null, as Connect reads it. */
export function decodeBasic(header: string | undefined): { user: string; password: string } | null {
  if (!header) return null;
  const space = header.indexOf(' ');
  if (space <= 0 || header.slice(0, space).toLowerCase() !== 'basic') return null;
  const decoded = Buffer.from(header.slice(space + 1).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Compares passwords in a time that does not depend on where they differ. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
