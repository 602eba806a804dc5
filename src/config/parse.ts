/**
 * Parsing of string config maps against a ConfigDef, as Connect's ConfigDef.parse does:
 * each value is converted to its type, defaults fill what is missing, and every problem is
 * collected per key (validate reports all of them; start-up throws on the first).
 */
import { ConfigException, type ConfigDef, type ConfigKey, type ConfigMap } from '../api';

export type ParsedValue = boolean | string | number | string[] | null;
export type ParsedConfig = Record<string, ParsedValue>;

export interface ParseResult {
  values: ParsedConfig;
  /** key → error messages (empty when valid) */
  errors: Record<string, string[]>;
}

export function isRequired(key: ConfigKey): boolean {
  return !('default' in key);
}

/** Converts one raw string to the key's type; throws ConfigException with Connect's wording. */
export function parseValue(key: ConfigKey, raw: string | null | undefined): ParsedValue {
  if (raw === undefined || raw === null) {
    if (isRequired(key)) throw new ConfigException(`Missing required configuration "${key.name}" which has no default value.`);
    if (key.default === undefined || key.default === null) return null;
    // String defaults go through the same parsing as given values (a LIST default of '' is []).
    return typeof key.default === 'string' && key.type !== 'STRING' ? parseValue(key, key.default) : (key.default as ParsedValue);
  }
  const trimmed = key.type === 'PASSWORD' || key.type === 'STRING' ? raw : raw.trim();
  const bad = (expected: string) =>
    new ConfigException(`Invalid value ${raw} for configuration ${key.name}: Expected value to be ${expected}`);
  switch (key.type) {
    case 'BOOLEAN': {
      const v = trimmed.toLowerCase();
      if (v === 'true') return true;
      if (v === 'false') return false;
      throw bad('either true or false');
    }
    case 'INT':
    case 'SHORT':
    case 'LONG': {
      if (!/^[-+]?\d+$/.test(trimmed)) {
        throw new ConfigException(`Invalid value ${raw} for configuration ${key.name}: Not a number of type ${key.type}`);
      }
      const n = Number(trimmed);
      const [min, max] = key.type === 'SHORT' ? [-32768, 32767] : key.type === 'INT' ? [-2147483648, 2147483647] : [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
      if (n < min || n > max) throw new ConfigException(`Invalid value ${raw} for configuration ${key.name}: Not a number of type ${key.type}`);
      return n;
    }
    case 'DOUBLE': {
      const n = Number(trimmed);
      if (trimmed === '' || Number.isNaN(n)) throw new ConfigException(`Invalid value ${raw} for configuration ${key.name}: Not a number of type DOUBLE`);
      return n;
    }
    case 'LIST':
      return trimmed === '' ? [] : trimmed.split(/\s*,\s*/);
    case 'CLASS':
    case 'STRING':
    case 'PASSWORD':
      return trimmed;
  }
}

/** Parses every key of `def` from `config`, collecting errors instead of throwing. */
export function parseConfig(def: ConfigDef, config: ConfigMap): ParseResult {
  const values: ParsedConfig = {};
  const errors: Record<string, string[]> = {};
  for (const key of def) {
    errors[key.name] = [];
    try {
      const value = parseValue(key, config[key.name]);
      values[key.name] = value;
      if (key.validator && value !== null && config[key.name] !== undefined) {
        const problem = key.validator(value, key.name);
        if (problem) errors[key.name]!.push(problem);
      }
    } catch (e) {
      values[key.name] = null;
      errors[key.name]!.push((e as Error).message);
    }
    // a PASSWORD value is never repeated in a message (they reach validate answers, 400s and traces)
    const raw = config[key.name];
    if (key.type === 'PASSWORD' && raw) errors[key.name] = errors[key.name]!.map((m) => m.split(raw).join('[hidden]'));
  }
  return { values, errors };
}

/** Parses and throws the first error: for plugins being configured at start. */
export function parseConfigOrThrow(def: ConfigDef, config: ConfigMap): ParsedConfig {
  const { values, errors } = parseConfig(def, config);
  for (const messages of Object.values(errors)) {
    if (messages.length > 0) throw new ConfigException(messages[0]);
  }
  return values;
}

/** Keys of `config` that start with `prefix`, with the prefix removed (Connect's originalsWithPrefix). */
export function withPrefix(config: ConfigMap, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

/** Common validators, returning Connect-like messages. */
export const validators = {
  atLeast: (min: number) => (value: unknown, name: string) =>
    typeof value === 'number' && value < min ? `Invalid value ${value} for configuration ${name}: Value must be at least ${min}` : undefined,
  oneOf: (...allowed: string[]) => (value: unknown, name: string) =>
    typeof value === 'string' && !allowed.includes(value.toLowerCase())
      ? `Invalid value ${value} for configuration ${name}: String must be one of: ${allowed.join(', ')}`
      : undefined,
  regex: () => (value: unknown, name: string) => {
    if (typeof value !== 'string' || value === '') return undefined;
    try { new RegExp(value); return undefined; } catch (e) { return `Invalid value ${value} for configuration ${name}: ${(e as Error).message}`; }
  },
};
