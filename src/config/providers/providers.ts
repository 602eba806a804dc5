/**
 * The three config providers Connect ships, by their class names: a provider answers, for one
 * path, the values of the keys asked for; keys it does not have are simply absent from the answer
 * (the placeholder then stays unresolved, as in Connect). Files are read on every lookup, so a
 * rotated secret is picked up by the next task start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigException } from '../../api';
import { parseProperties } from '../properties';

export interface ConfigProvider {
  /** the values of `keys` under `path` (null: the placeholder had no path part) */
  get(path: string | null, keys: ReadonlySet<string>): Map<string, string>;
}

/** One class, its accepted names (full, simple, simple without the ConfigProvider suffix) and factory. */
interface ProviderClass {
  readonly className: string;
  readonly create: (params: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv) => ConfigProvider;
}

const PACKAGE = 'org.apache.kafka.common.config.provider.';

const CLASSES: readonly ProviderClass[] = [
  { className: PACKAGE + 'FileConfigProvider', create: (p) => new FileConfigProvider(allowedPaths(p)) },
  { className: PACKAGE + 'DirectoryConfigProvider', create: (p) => new DirectoryConfigProvider(allowedPaths(p)) },
  { className: PACKAGE + 'EnvVarConfigProvider', create: (p, env) => new EnvVarConfigProvider(env, p['allowlist.pattern']) },
];

/** Finds a provider class by full name, simple name or simple name without "ConfigProvider". */
export function findProviderClass(name: string): ProviderClass | undefined {
  const wanted = name.trim();
  return CLASSES.find((c) => {
    const simple = c.className.slice(PACKAGE.length);
    return wanted === c.className || wanted === simple || wanted === simple.replace(/ConfigProvider$/, '');
  });
}

export function providerClassNames(): string[] {
  return CLASSES.map((c) => c.className);
}

/**
 * The `allowed.paths` parameter: absolute paths (comma separated) under which files may be read;
 * unset allows every path. A path outside them, or climbing out with `..`, is refused.
 */
export class AllowedPaths {
  constructor(private readonly roots: readonly string[] | null) {}

  allows(p: string): boolean {
    if (!this.roots) return true;
    const normal = path.resolve(p);
    return this.roots.some((root) => normal === root || normal.startsWith(root.endsWith(path.sep) ? root : root + path.sep));
  }
}

function allowedPaths(params: Readonly<Record<string, string>>): AllowedPaths {
  const raw = params['allowed.paths'];
  if (raw === undefined || raw.trim() === '') return new AllowedPaths(null);
  const roots = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const r of roots) {
    if (!path.isAbsolute(r)) throw new ConfigException(`Invalid value ${raw} for configuration allowed.paths: Path ${r} is not absolute`);
  }
  return new AllowedPaths(roots.map((r) => path.resolve(r)));
}

function pick(all: Record<string, string>, keys: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of keys) if (Object.prototype.hasOwnProperty.call(all, k)) out.set(k, all[k]!);
  return out;
}

/** `${file:/etc/kafka/secrets.properties:db.password}`: a key of a Java properties file. */
export class FileConfigProvider implements ConfigProvider {
  constructor(private readonly allowed: AllowedPaths) {}

  get(file: string | null, keys: ReadonlySet<string>): Map<string, string> {
    if (file === null || file === '') return new Map();
    if (!this.allowed.allows(file)) throw new ConfigException(`The path ${file} is not allowed to be read by FileConfigProvider (see its allowed.paths)`);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigException(`Could not read properties from file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return pick(parseProperties(text), keys);
  }
}

/** `${directory:/run/secrets:db-password}`: the content of a regular file in a directory. */
export class DirectoryConfigProvider implements ConfigProvider {
  constructor(private readonly allowed: AllowedPaths) {}

  get(dir: string | null, keys: ReadonlySet<string>): Map<string, string> {
    const out = new Map<string, string>();
    if (dir === null || dir === '') return out;
    if (!this.allowed.allows(dir)) throw new ConfigException(`The path ${dir} is not allowed to be read by DirectoryConfigProvider (see its allowed.paths)`);
    if (!isDirectory(dir)) return out;
    for (const key of keys) {
      // only plain file names: a key must not reach outside the directory
      if (key === '' || key.includes('/') || key.includes('\\') || key === '.' || key === '..') continue;
      const file = path.join(dir, key);
      if (!isRegularFile(file)) continue;
      try {
        out.set(key, fs.readFileSync(file, 'utf8'));
      } catch (e) {
        throw new ConfigException(`Could not read file ${file} for property ${key}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    return out;
  }
}

/** `${env:VAR}` or `${env::VAR}`: an environment variable whose name matches `allowlist.pattern`. */
export class EnvVarConfigProvider implements ConfigProvider {
  private readonly allow: RegExp;

  constructor(private readonly env: NodeJS.ProcessEnv, pattern: string | undefined) {
    try {
      // Java's Pattern.asPredicate finds the pattern anywhere in the name, as RegExp.test does
      this.allow = new RegExp(pattern ?? '.*');
    } catch (e) {
      throw new ConfigException(`Invalid value ${pattern} for configuration allowlist.pattern: ${(e as Error).message}`);
    }
  }

  get(p: string | null, keys: ReadonlySet<string>): Map<string, string> {
    if (p !== null && p !== '') throw new ConfigException(`Path is not supported for EnvVarConfigProvider, invalid value '${p}'`);
    const out = new Map<string, string>();
    for (const k of keys) {
      const v = this.env[k];
      if (v !== undefined && this.allow.test(k)) out.set(k, v);
    }
    return out;
  }
}

function isDirectory(p: string): boolean {
  try { return fs.statSync(p).isDirectory(); } catch { return false; }
}

function isRegularFile(p: string): boolean {
  try { return fs.statSync(p).isFile(); } catch { return false; }
}
