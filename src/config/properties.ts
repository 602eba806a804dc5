/** Java `.properties` parsing (the subset Connect users write) and Connect's CONNECT_* env mapping. */

export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // a line ending in an odd number of backslashes continues on the next one
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^\s+/, '');
    }
    const m = /^((?:\\.|[^=:\s\\])*)\s*[=:\s]\s*(.*)$/.exec(line);
    const key = unescape(m ? m[1]! : line);
    const value = m ? unescape(m[2]!) : '';
    out[key] = value;
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_all, c: string) => {
    if (c.length === 5) return String.fromCharCode(parseInt(c.slice(1), 16));
    return ({ t: '\t', n: '\n', r: '\r', f: '\f' } as Record<string, string>)[c] ?? c;
  });
}

/**
 * Maps CONNECT_* environment variables to worker properties the way Connect's container images
 * do: strip the prefix, lower-case, `___` → `-`, `__` → `_`, `_` → `.`.
 * CONNECT_BOOTSTRAP_SERVERS → bootstrap.servers, CONNECT_CONSUMER_MAX__POLL → consumer.max_poll.
 */
export function propertiesFromEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('CONNECT_') || value === undefined) continue;
    const key = name
      .slice('CONNECT_'.length)
      .toLowerCase()
      .replace(/___/g, '\u0001')
      .replace(/__/g, '\u0002')
      .replace(/_/g, '.')
      .replace(/\u0001/g, '-')
      .replace(/\u0002/g, '_');
    out[key] = value;
  }
  return out;
}
