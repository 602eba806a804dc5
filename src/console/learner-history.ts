/**
 * A short memory of each local learner's progress, for the console's accuracy plot: every few
 * seconds the worker reads the status of the learners running here and keeps (time, events
 * learned, windowed and cumulative quality) in a ring buffer per learner task.
 *
 * The learners themselves keep only their current metrics (src/ml/online); the history is a
 * view concern, so it lives here and samples the same status that `GET /learners/<c>` answers.
 * Memory is bounded: `capacity` samples per task (an hour at the default 2 s), and the buffers of
 * learners that left this worker are dropped after `forgetAfterMs`.
 */

/** One point of the plot. Quality values are null while the window is empty (or for NaN). */
export interface LearnerSample {
  /** epoch ms of the sample */
  time: number;
  /** labels learned so far (the learner's `learned` counter) */
  events: number;
  /** windowed quality: accuracy for classifiers, r2 for regression */
  windowed: number | null;
  /** the same quality over everything learned so far */
  cumulative: number | null;
}

/** What the history keeps of `GET /learners/<c>`: the fields the sample is taken from. */
export interface LearnerStatusLike {
  learned?: unknown;
  taskType?: unknown;
  windowed?: unknown;
  cumulative?: unknown;
}

export interface LearnerHistoryOptions {
  /** samples kept per learner task */
  capacity: number;
  /** a learner not seen for this long (deleted, moved to another worker) loses its history */
  forgetAfterMs: number;
}

/** A fixed-size ring: push is O(1), the oldest sample is overwritten once full. */
class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;
  constructor(private readonly capacity: number) {}
  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }
  /** oldest first */
  toArray(): T[] {
    return this.items.length < this.capacity ? [...this.items] : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}

/** The quality a sample plots for a learner's task type (regression has no accuracy). */
export function qualityMetric(taskType: unknown): 'accuracy' | 'r2' {
  return taskType === 'regression' ? 'r2' : 'accuracy';
}

function metricOf(report: unknown, metric: string): number | null {
  if (report === null || typeof report !== 'object') return null;
  const v = (report as Record<string, unknown>)[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

interface Track { ring: Ring<LearnerSample>; metric: 'accuracy' | 'r2'; lastSeen: number }

export class LearnerHistory {
  private readonly tracks = new Map<string, Track>();

  constructor(private readonly options: LearnerHistoryOptions) {}

  private static key(connector: string, task: number): string {
    return `${task}\u0000${connector}`;
  }

  /** Adds a sample from a learner status taken at `now`. */
  record(connector: string, task: number, status: LearnerStatusLike, now: number): void {
    const key = LearnerHistory.key(connector, task);
    const metric = qualityMetric(status.taskType);
    let track = this.tracks.get(key);
    if (!track) this.tracks.set(key, (track = { ring: new Ring(this.options.capacity), metric, lastSeen: now }));
    track.metric = metric;
    track.lastSeen = now;
    track.ring.push({
      time: now,
      events: typeof status.learned === 'number' ? status.learned : 0,
      windowed: metricOf(status.windowed, metric),
      cumulative: metricOf(status.cumulative, metric),
    });
  }

  /** The samples of a learner task (oldest first, only those after `since` when given), or undefined. */
  history(connector: string, task: number, since?: number): { metric: 'accuracy' | 'r2'; samples: LearnerSample[] } | undefined {
    const track = this.tracks.get(LearnerHistory.key(connector, task));
    if (!track) return undefined;
    const all = track.ring.toArray();
    return { metric: track.metric, samples: since === undefined ? all : all.filter((s) => s.time > since) };
  }

  /** Drops the histories of learners not recorded since `now - forgetAfterMs`. */
  forgetStale(now: number): void {
    for (const [key, track] of this.tracks) if (now - track.lastSeen > this.options.forgetAfterMs) this.tracks.delete(key);
  }

  /** Drops every history of a connector (it was deleted). */
  forgetConnector(connector: string): void {
    for (const key of [...this.tracks.keys()]) if (key.slice(key.indexOf('\u0000') + 1) === connector) this.tracks.delete(key);
  }

  connectors(): string[] {
    return [...new Set([...this.tracks.keys()].map((k) => k.slice(k.indexOf('\u0000') + 1)))];
  }
}
