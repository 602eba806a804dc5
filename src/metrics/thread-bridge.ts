/**
 * Task threads' metrics reach the main thread's /metrics: the main thread asks each task thread
 * for its registry (prom-client's JSON form) when it is scraped, and sums them with its own. Nothing
 * is sent while nobody scrapes, and a thread that is gone simply stops contributing.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { Channel } from '../runtime/threads/channel';
import { threadMetrics } from './thread-metrics';

export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

const SNAPSHOT = 'metrics.snapshot';
/** a thread busy for longer than this is left out of one scrape rather than holding it up */
const SNAPSHOT_TIMEOUT_MS = 2000;

const threads = new Set<() => Promise<MetricsSnapshot | undefined>>();

/** Task thread: answer the main thread's scrapes with this thread's registry. */
export function exposeThreadMetrics(channel: Channel): void {
  channel.handle(SNAPSHOT, () => threadMetrics().registry.getMetricsAsJSON());
}

/** Main thread: include this task thread in every scrape until the returned function is called. */
export function followThreadMetrics(channel: Channel): () => void {
  const fetch = async (): Promise<MetricsSnapshot | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), SNAPSHOT_TIMEOUT_MS); });
    try {
      return await Promise.race([channel.request<MetricsSnapshot>(SNAPSHOT).catch(() => undefined), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  threads.add(fetch);
  return () => { threads.delete(fetch); };
}

/** The registries of every task thread, as they answer now. */
export async function threadSnapshots(): Promise<MetricsSnapshot[]> {
  const all = await Promise.all([...threads].map((f) => f()));
  return all.filter((s): s is MetricsSnapshot => s !== undefined);
}
