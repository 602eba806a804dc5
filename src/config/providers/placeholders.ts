/**
 * Connect's config placeholders: `${provider:path:key}` or `${provider:key}` (no path). The grammar
 * is Connect's: the provider and the key run to the first `:` and `}` respectively, an empty path
 * (`${env::VAR}`) is a path of "" and differs from no path (`${env:VAR}`) only for providers that
 * care. Text that does not match (e.g. `${topic}` in KafkaTopicSink's `target.topic`) is not a
 * placeholder and is left alone.
 */

export interface Placeholder {
  /** the whole `${...}` text */
  readonly text: string;
  readonly provider: string;
  /** null when the placeholder has no path part */
  readonly path: string | null;
  readonly key: string;
}

// provider, optional "path:", key; lazy so that `${a:b:c}` splits at the first colons
const PLACEHOLDER = /\$\{([^}]*?):(?:([^}]*?):)?([^}]*?)\}/g;

/** Every placeholder in `value`, in order of appearance. */
export function placeholdersIn(value: string): Placeholder[] {
  const out: Placeholder[] = [];
  for (const m of value.matchAll(PLACEHOLDER)) {
    out.push({ text: m[0], provider: m[1]!, path: m[2] ?? null, key: m[3]! });
  }
  return out;
}

export function hasPlaceholder(value: string): boolean {
  return placeholdersIn(value).length > 0;
}

/**
 * Replaces each placeholder by `lookup(placeholder)`; a placeholder the lookup cannot answer
 * (undefined) stays as it is, as Connect leaves it.
 */
export function replacePlaceholders(value: string, lookup: (p: Placeholder) => string | undefined): string {
  return value.replace(PLACEHOLDER, (text, provider: string, path: string | undefined, key: string) =>
    lookup({ text, provider, path: path ?? null, key }) ?? text);
}
