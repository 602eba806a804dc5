/**
 * `/learners`: live state of the online-learning transforms, wherever in the cluster they run.
 *
 *   GET  /learners                          one status per running learner (connector, task, metrics, counters)
 *   GET  /learners/:connector               that connector's learner status (task 0; ?task=N for others)
 *   GET  /learners/:connector/model         the current weights as a kappa-linear-model
 *   POST /learners/:connector/publish       publish the current weights as a `linear` model version now
 *
 * A learner runs in one task on one worker. A request for a learner that runs elsewhere is
 * forwarded to the worker its task status names (`worker_id`, its advertised host:port), and the
 * list gathers every worker's learners; `forward=false` answers from this worker only.
 */
import { restRequest } from './rest-client';
import { learnerRegistry, type LearnerHandle } from '../ml/online/registry';
import { forward } from './forwarding';
import { RestError, queryBool, type Req, type RouteTable, type ServerDeps } from './server';

function taskOf(req: Req): number | undefined {
  const raw = req.query['task'];
  return raw === undefined ? undefined : Number(Array.isArray(raw) ? raw[raw.length - 1] : raw);
}

function local(req: Req): LearnerHandle | undefined {
  const tasks = learnerRegistry.tasks(req.params['connector']!);
  const wanted = taskOf(req);
  return wanted === undefined ? tasks[0] : tasks.find((t) => t.taskId === wanted);
}

const notForwarded = (req: Req) => {
  const f = req.query['forward'];
  const v = Array.isArray(f) ? f[f.length - 1] : f;
  return typeof v === 'string' && v.toLowerCase() === 'false';
};

export function learnerRoutes(routes: RouteTable, deps: ServerDeps): void {
  const self = deps.config.workerId;

  /** The worker that runs the learner's task, when it is another one. */
  const ownerUrl = (connector: string, task: number): string | null => {
    try {
      const s = deps.herder.taskStatus(connector, task);
      // other workers are reached with this worker's advertised scheme (a cluster uses one)
      return s.worker_id && s.worker_id !== self ? `${deps.config.advertisedProtocol}://${s.worker_id}` : null;
    } catch {
      return null;
    }
  };

  /** Answers from the learner here, or from the worker that runs it. */
  const route = (suffix: string, answer: (h: LearnerHandle) => Promise<unknown>) => async (req: Req, reply: Parameters<Parameters<RouteTable['add']>[2]>[1]) => {
    const connector = req.params['connector']!;
    const h = local(req);
    if (h) return answer(h);
    const owner = notForwarded(req) ? null : ownerUrl(connector, taskOf(req) ?? 0);
    if (owner) return forward(owner, req as never, reply, undefined, deps.tls?.client);
    const wanted = taskOf(req);
    throw new RestError(404, `No learner is running for connector ${connector}${wanted !== undefined ? ` task ${wanted}` : ''}${suffix}`);
  };

  routes.add('GET', '/learners', async (req: Req) => {
    const mine = await Promise.all(learnerRegistry.connectors().flatMap((c) => learnerRegistry.tasks(c).map((h) => h.status())));
    if (notForwarded(req) || queryBool(req.query['local'])) return mine;
    // the other workers' learners: every worker named in a task status
    const others = new Set<string>();
    for (const name of deps.herder.connectorNames()) {
      try {
        for (const t of deps.herder.connectorStatus(name).tasks) if (t.worker_id && t.worker_id !== self) others.add(t.worker_id);
      } catch { /* no status yet */ }
    }
    const theirs = await Promise.all([...others].map(async (w) => {
      try {
        const auth = req.headers.authorization;
        const res = await restRequest(new URL(`${deps.config.advertisedProtocol}://${w}/learners?forward=false`), {
          method: 'GET', headers: { accept: 'application/json', ...(auth ? { authorization: auth } : {}) }, timeoutMs: 5000, tls: deps.tls?.client,
        });
        return res.status === 200 ? (JSON.parse(res.text) as unknown[]) : [];
      } catch {
        return [];
      }
    }));
    return [...mine, ...theirs.flat()];
  });

  routes.add('GET', '/learners/:connector', route(' on any worker', async (h) => h.status()));
  routes.add('GET', '/learners/:connector/model', route(' on any worker', async (h) => h.model()));
  routes.add('POST', '/learners/:connector/publish', route(' on any worker', async (h) => {
    try {
      return await h.publish();
    } catch (e) {
      throw new RestError(409, `Could not publish the model of ${h.connector}: ${(e as Error).message}`);
    }
  }));
}
