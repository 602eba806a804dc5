/**
 * Resolves `${provider:path:key}` placeholders with the providers a worker declares, as Connect's
 * ConfigTransformer does: `config.providers=file,env`, `config.providers.<name>.class=<class>`,
 * `config.providers.<name>.param.<param>=<value>`. Connector configs are stored and shown with their
 * placeholders; they are resolved only where a value is used (the connector instance, the tasks),
 * and task configs are stored with the placeholders put back (`unresolveTaskConfigs`), so a secret
 * never reaches the config topic or a REST answer.
 *
 * As in Connect, a placeholder whose provider is not declared, or whose key the provider does not
 * have, stays in the value unresolved (`Resolution.unresolved` names them, for a warning); a
 * provider that fails (a file it cannot read, a path outside `allowed.paths`) throws
 * ConfigException, which fails the connector or task with that message.
 */
import { ConfigException } from '../../api';
import { withPrefix } from '../parse';
import { findProviderClass, providerClassNames, type ConfigProvider } from './providers';
import { placeholdersIn, replacePlaceholders, type Placeholder } from './placeholders';

export interface Resolution {
  readonly config: Record<string, string>;
  /** the placeholders left as they were (no such provider, or no such key), by config key */
  readonly unresolved: { key: string; placeholder: string; reason: string }[];
}

export class ConfigResolver {
  private constructor(private readonly providers: ReadonlyMap<string, ConfigProvider>) {}

  /** No providers: every placeholder stays as it is. */
  static none(): ConfigResolver {
    return new ConfigResolver(new Map());
  }

  /** The providers declared by worker properties; an unknown class or bad parameter throws ConfigException. */
  static fromWorkerProperties(props: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv = process.env): ConfigResolver {
    const names = (props['config.providers'] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    const providers = new Map<string, ConfigProvider>();
    for (const name of names) {
      const classKey = `config.providers.${name}.class`;
      const className = props[classKey];
      if (className === undefined || className.trim() === '') {
        throw new ConfigException(`Missing required configuration "${classKey}": config.providers names the provider ${name}, which needs a class`);
      }
      const cls = findProviderClass(className);
      if (!cls) throw new ConfigException(`Invalid value ${className} for configuration ${classKey}: Class ${className} could not be found. Known config providers: ${providerClassNames().join(', ')}`);
      providers.set(name, cls.create(withPrefix(props, `config.providers.${name}.param.`), env));
    }
    return new ConfigResolver(providers);
  }

  get hasProviders(): boolean {
    return this.providers.size > 0;
  }

  /** Resolves every value of `config`; throws ConfigException when a provider fails. */
  resolve(config: Readonly<Record<string, string>>): Resolution {
    const wanted = new Map<string, { provider: ConfigProvider; path: string | null; keys: Set<string> }>();
    const unresolved: Resolution['unresolved'] = [];
    const slot = (p: Placeholder) => `${p.provider}\u0000${p.path ?? '\u0001'}`;
    for (const [key, value] of Object.entries(config)) {
      for (const p of placeholdersIn(value)) {
        const provider = this.providers.get(p.provider);
        if (!provider) {
          unresolved.push({ key, placeholder: p.text, reason: `no config provider named ${p.provider} (worker property config.providers)` });
          continue;
        }
        const s = slot(p);
        if (!wanted.has(s)) wanted.set(s, { provider, path: p.path, keys: new Set() });
        wanted.get(s)!.keys.add(p.key);
      }
    }
    if (wanted.size === 0) return { config: { ...config }, unresolved };
    // one lookup per provider and path, as Connect groups them
    const found = new Map<string, Map<string, string>>();
    for (const [s, w] of wanted) found.set(s, w.provider.get(w.path, w.keys));
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
      out[key] = replacePlaceholders(value, (p) => {
        if (!this.providers.has(p.provider)) return undefined;
        const v = found.get(slot(p))?.get(p.key);
        if (v === undefined) unresolved.push({ key, placeholder: p.text, reason: `the provider ${p.provider} has no key ${p.key}${p.path !== null ? ` at ${p.path}` : ''}` });
        return v;
      });
    }
    return { config: out, unresolved };
  }

  /**
   * Puts the placeholders back into task configs generated from a resolved connector config:
   * a task config key whose connector config value has a placeholder gets that raw value again
   * (Connect's reverse transformation), so what is stored and shown is what the user wrote.
   */
  static unresolveTaskConfigs(rawConnectorConfig: Readonly<Record<string, string>>, taskConfigs: readonly Readonly<Record<string, string>>[]): Record<string, string>[] {
    const withPlaceholders = Object.entries(rawConnectorConfig).filter(([, v]) => placeholdersIn(v).length > 0);
    return taskConfigs.map((tc) => {
      const out = { ...tc };
      for (const [k, raw] of withPlaceholders) if (k in out) out[k] = raw;
      return out;
    });
  }
}
