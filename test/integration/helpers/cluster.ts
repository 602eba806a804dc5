/** Several workers of one Connect cluster (same group.id and internal topics), for the cluster tests. */
import { randomSuffix, waitFor } from './wait';
import { startWorker, type StartWorkerOptions, type Worker } from './worker';

export interface ClusterOptions extends StartWorkerOptions {
  /** scheduled.rebalance.max.delay.ms (default 0: a departed worker's work moves at once) */
  maxDelayMs?: number;
}

/** The properties every worker of one cluster shares. */
export function clusterProperties(suffix = randomSuffix(), maxDelayMs = 0): Record<string, string> {
  return {
    'group.id': `kappa-it-cluster-${suffix}`,
    'config.storage.topic': `kappa-it-cluster-${suffix}-configs`,
    'offset.storage.topic': `kappa-it-cluster-${suffix}-offsets`,
    'status.storage.topic': `kappa-it-cluster-${suffix}-status`,
    'scheduled.rebalance.max.delay.ms': String(maxDelayMs),
    // a crashed worker is noticed within seconds
    'session.timeout.ms': '6000',
    'heartbeat.interval.ms': '1000',
  };
}

/** Starts `n` workers of one cluster, one after another (the first becomes the leader). */
export async function startCluster(n: number, opts: ClusterOptions = {}): Promise<Worker[]> {
  const shared = clusterProperties(randomSuffix(), opts.maxDelayMs ?? 0);
  const workers: Worker[] = [];
  for (let i = 0; i < n; i++) workers.push(await startWorker({ ...opts, props: { ...shared, ...(opts.props ?? {}) } }));
  return workers;
}

/** The role a worker reported last: from its log line "Joined generation N as leader|member". */
export function roleOf(w: Worker): 'leader' | 'member' | undefined {
  const all = [...w.logs().matchAll(/Joined generation (\d+) as (leader|member)/g)];
  return all.length === 0 ? undefined : (all[all.length - 1]![2] as 'leader' | 'member');
}

/** Waits until exactly one of the workers is the leader and returns [leader, followers]. */
export async function leaderAndFollowers(workers: Worker[], timeoutMs = 60_000): Promise<{ leader: Worker; followers: Worker[] }> {
  return waitFor(() => {
    const leaders = workers.filter((w) => roleOf(w) === 'leader');
    if (leaders.length !== 1) return undefined;
    return { leader: leaders[0]!, followers: workers.filter((w) => w !== leaders[0]) };
  }, { timeoutMs, description: 'one leader among the workers' });
}

export interface ConnectorStatus {
  name: string;
  connector: { state: string; worker_id: string; trace?: string };
  tasks: { id: number; state: string; worker_id: string; trace?: string }[];
}

/** GET /connectors?expand=status on one worker: name → status. */
export async function statuses(w: Worker): Promise<Record<string, ConnectorStatus>> {
  const res = await w.api.get('/connectors?expand=status');
  if (res.status !== 200) throw new Error(`GET /connectors?expand=status → ${res.status}`);
  const out: Record<string, ConnectorStatus> = {};
  for (const [name, v] of Object.entries(res.body as Record<string, { status: ConnectorStatus }>)) out[name] = v.status;
  return out;
}

/** Waits until every named connector runs all `tasks` tasks, as seen from `w`. */
export async function waitAllRunning(w: Worker, names: string[], tasks: number, timeoutMs = 90_000): Promise<Record<string, ConnectorStatus>> {
  return waitFor(async () => {
    const s = await statuses(w);
    const ok = names.every((n) => s[n]?.connector.state === 'RUNNING' && s[n]!.tasks.length === tasks && s[n]!.tasks.every((t) => t.state === 'RUNNING'));
    return ok ? s : undefined;
  }, { timeoutMs, intervalMs: 500, description: `${names.length} connectors with ${tasks} RUNNING tasks each` });
}
