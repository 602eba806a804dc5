/**
 * Validation of a connector config with placeholders, as Connect validates it: on the resolved
 * values (so `tasks.max=${env:TASKS}` is checked as the number it will be), while the answer shows
 * what the user wrote: a key whose value had a placeholder reports its raw value, and a resolved
 * value is never repeated in its messages. A provider that fails here (a file not readable yet) is
 * not a validation error: the raw config is validated, and the connector or task reports the
 * failure when it starts.
 */
import type { ValidationReport } from '../connector-config';
import { hasPlaceholder } from './placeholders';
import type { ConfigResolver } from './resolver';

export function validateWithPlaceholders(
  given: Readonly<Record<string, string | null>>,
  resolver: ConfigResolver,
  validate: (config: Readonly<Record<string, string | null>>) => ValidationReport,
): ValidationReport {
  const withPlaceholders = Object.entries(given).filter((e): e is [string, string] => e[1] !== null && hasPlaceholder(e[1]));
  if (withPlaceholders.length === 0 || !resolver.hasProviders) return validate(given);
  let resolved: Record<string, string>;
  try {
    resolved = resolver.resolve(Object.fromEntries(withPlaceholders)).config;
  } catch {
    return validate(given);
  }
  const report = validate({ ...given, ...resolved });
  for (const v of report.values) {
    const raw = given[v.name];
    const value = resolved[v.name];
    if (raw === undefined || raw === null || value === undefined || value === raw) continue;
    if (v.value !== '[hidden]') v.value = raw;
    v.errors = v.errors.map((m) => (value === '' ? m : m.split(value).join(raw)));
  }
  return report;
}
