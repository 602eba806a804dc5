/**
 * Named loggers with log4j-style levels, changeable at run time (the /admin/loggers resource).
 * A logger's level is its own if set, else its nearest configured ancestor's ("a.b" → "a" → root).
 * Lines go to stdout as `[time] LEVEL message (logger)` with an optional `[connector|task-N]` context.
 */
import type { Logger } from '../api';

export const LEVELS = ['OFF', 'FATAL', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE', 'ALL'] as const;
export type Level = (typeof LEVELS)[number];
const rank: Record<Level, number> = { OFF: 0, FATAL: 1, ERROR: 2, WARN: 3, INFO: 4, DEBUG: 5, TRACE: 6, ALL: 7 };

export const ROOT = 'root';

interface LevelSetting { level: Level; lastModified: number | null }

export class LogRegistry {
  private readonly levels = new Map<string, LevelSetting>();
  private readonly known = new Set<string>([ROOT]);
  private readonly changeListeners = new Set<() => void>();
  constructor(rootLevel: Level = 'INFO', private readonly write: (line: string) => void = (l) => process.stdout.write(l + '\n')) {
    this.levels.set(ROOT, { level: rootLevel, lastModified: null });
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
    const emit = (level: Level, msg: string, extra?: Record<string, unknown>) => {
      if (rank[level] > rank[this.effective(name).level]) return;
      const ctx = context ? ` [${context}]` : '';
      const tail = extra && Object.keys(extra).length > 0 ? ' ' + safeJson(extra) : '';
      this.write(`[${new Date().toISOString()}] ${level.padEnd(5)}${ctx} ${msg}${tail} (${name})`);
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
