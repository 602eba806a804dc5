/**
 * Named loggers with log4j-style levels, changeable at run time (the /admin/loggers resource).
 * A logger's level is its own if set, else its nearest configured ancestor's ("a.b" → "a" → root).
 *
 * Every event goes through one pino logger (a child per named logger, carrying `logger` and
 * `context`); log4j's levels map onto pino's (FATAL→fatal … TRACE→trace; OFF and ALL are only
 * thresholds). The registry decides what is emitted, since levels follow the logger hierarchy, which
 * pino does not have. Output, one line per event on stdout:
 *   text (default)  `[time] LEVEL [connector|task-N] message {extra} (logger)`: what people read and
 *                   what scripts and tests grep (the startup line `Worker started`, `ERROR`)
 *   json            pino's JSON line: {"level":"WARN","time":"…","logger":"…","context":"…","message":"…", extra…}
 */
import pino from 'pino';
import type { Logger } from '../api';

export const LEVELS = ['OFF', 'FATAL', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE', 'ALL'] as const;
export type Level = (typeof LEVELS)[number];
const rank: Record<Level, number> = { OFF: 0, FATAL: 1, ERROR: 2, WARN: 3, INFO: 4, DEBUG: 5, TRACE: 6, ALL: 7 };

export const ROOT = 'root';

export type LogFormat = 'text' | 'json';

const PINO_LEVEL = { FATAL: 'fatal', ERROR: 'error', WARN: 'warn', INFO: 'info', DEBUG: 'debug', TRACE: 'trace' } as const;
type EmittedLevel = keyof typeof PINO_LEVEL;

/** Fields of a pino line that are not the caller's extra data. */
const OWN_FIELDS = new Set(['level', 'time', 'logger', 'context', 'message']);

interface LevelSetting { level: Level; lastModified: number | null }

export class LogRegistry {
  private readonly levels = new Map<string, LevelSetting>();
  private readonly known = new Set<string>([ROOT]);
  private readonly changeListeners = new Set<() => void>();
  private readonly pino: pino.Logger;

  /** `write` gets each finished line without its newline (stdout by default). */
  constructor(rootLevel: Level = 'INFO', write: (line: string) => void = (l) => process.stdout.write(l + '\n'), readonly format: LogFormat = 'text') {
    this.levels.set(ROOT, { level: rootLevel, lastModified: null });
    // a synchronous destination: lines keep their order with the process's other output, and none is lost at exit
    const destination = { write: format === 'json' ? (s: string) => write(s.replace(/\n$/, '')) : (s: string) => write(textLine(s)) };
    this.pino = pino({
      level: 'trace', // what is emitted is decided per logger, above
      base: undefined,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label.toUpperCase() }) },
    }, destination);
  }

  static parseLevel(value: string): Level | undefined {
    const upper = value.toUpperCase();
    return (LEVELS as readonly string[]).includes(upper) ? (upper as Level) : undefined;
  }

  effective(name: string): LevelSetting {
    let current = name;
    for (;;) {
      const own = this.levels.get(current);
      if (own) return own;
      const dot = current.lastIndexOf('.');
      if (dot < 0) return this.levels.get(ROOT)!;
      current = current.slice(0, dot);
    }
  }

  /** All loggers the worker knows, with their effective levels, sorted by name (root first). */
  list(): Record<string, { level: Level; last_modified: number | null }> {
    const names = [...this.known].sort((a, b) => (a === ROOT ? -1 : b === ROOT ? 1 : a.localeCompare(b)));
    return Object.fromEntries(names.map((n) => {
      const s = this.effective(n);
      return [n, { level: s.level, last_modified: s.lastModified }];
    }));
  }

  has(name: string): boolean {
    return this.known.has(name);
  }

  /**
   * Sets the level of a namespace and every known logger under it, as Connect does. A logger
   * already at that level is left alone: it keeps following its ancestors, its `last_modified`
   * stays as it was (null until a level really changes), and it is not in the answer. Returns the
   * names of the loggers whose level changed, sorted.
   */
  setLevel(namespace: string, level: Level): string[] {
    const now = Date.now();
    this.known.add(namespace);
    const inNamespace = [...this.known].filter((n) => namespace === ROOT || n === namespace || n.startsWith(namespace + '.'));
    // compare against the levels before this call: setting a parent first must not hide a child's change
    const changed = inNamespace.filter((n) => this.effective(n).level !== level);
    for (const n of changed) this.levels.set(n, { level, lastModified: now });
    if (changed.length > 0) for (const l of this.changeListeners) l();
    return changed.sort();
  }

  /** The levels set explicitly (root included), to hand to a task thread's own registry. */
  snapshot(): Record<string, Level> {
    return Object.fromEntries([...this.levels].map(([n, s]) => [n, s.level]));
  }

  /** Takes over levels from the main thread's registry (task threads). */
  applySnapshot(levels: Record<string, Level>): void {
    for (const [n, level] of Object.entries(levels)) {
      this.known.add(n);
      this.levels.set(n, { level, lastModified: this.levels.get(n)?.lastModified ?? null });
    }
  }

  /** Called after every level change (the worker forwards the levels to its task threads). */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  logger(name: string, context?: string): Logger {
    this.known.add(name);
    const child = this.pino.child(context ? { logger: name, context } : { logger: name });
    const emit = (level: EmittedLevel, msg: string, extra?: Record<string, unknown>) => {
      if (rank[level] > rank[this.effective(name).level]) return;
      const fields = extra && Object.keys(extra).length > 0 ? plain(extra) : undefined;
      if (fields) child[PINO_LEVEL[level]](fields, msg);
      else child[PINO_LEVEL[level]](msg);
    };
    return {
      error: (m, e) => emit('ERROR', m, e),
      warn: (m, e) => emit('WARN', m, e),
      info: (m, e) => emit('INFO', m, e),
      debug: (m, e) => emit('DEBUG', m, e),
      forContext: (other, otherContext) => this.logger(other, otherContext),
    };
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x) => (x instanceof Error ? x.stack ?? x.message : typeof x === 'bigint' ? String(x) : x));
  } catch {
    return '[unserializable]';
  }
}

/** Extra data as JSON-safe values: an Error becomes its stack (pino would drop it as `{}`), a bigint a string. */
function plain(extra: Record<string, unknown>): Record<string, unknown> {
  try {
    return JSON.parse(safeJson(extra)) as Record<string, unknown>;
  } catch {
    return { extra: '[unserializable]' };
  }
}

/** pino's JSON line as the human-readable line. */
function textLine(json: string): string {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.replace(/\n$/, '');
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (!OWN_FIELDS.has(k)) extra[k] = v;
  const ctx = e.context ? ` [${String(e.context)}]` : '';
  const tail = Object.keys(extra).length > 0 ? ' ' + safeJson(extra) : '';
  return `[${String(e.time)}] ${String(e.level).padEnd(5)}${ctx} ${String(e.message)}${tail} (${String(e.logger)})`;
}
