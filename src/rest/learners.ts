/**
 * `/learners`: live state of the online-learning transforms running in this worker.
 *
 *   GET  /learners                          one status per running learner (connector, task, metrics, counters)
 *   GET  /learners/:connector               that connector's learner status (task 0; ?task=N for others); 404 when not running here
 *   GET  /learners/:connector/model         the current weights as a kappa-linear-model
 *   POST /learners/:connector/publish       publish the current weights as a `linear` model version now
 */
import { learnerRegistry, type LearnerHandle } from '../ml/online/registry';
import { RestError, type Req, type RouteTable, type ServerDeps } from './server';

function find(req: Req): LearnerHandle {
  const connector = req.params['connector']!;
  const tasks = learnerRegistry.tasks(connector);
  const raw = req.query['task'];
  const wanted = raw === undefined ? undefined : Number(Array.isArray(raw) ? raw[raw.length - 1] : raw);
  const h = wanted === undefined ? tasks[0] : tasks.find((t) => t.taskId === wanted);
  if (!h) throw new RestError(404, `No learner is running for connector ${connector}${wanted !== undefined ? ` task ${wanted}` : ''} on this worker`);
  return h;
}

export function learnerRoutes(routes: RouteTable, _deps: ServerDeps): void {
  routes.add('GET', '/learners', async () =>
    learnerRegistry.connectors().flatMap((c) => learnerRegistry.tasks(c).map((h) => h.status())));

  routes.add('GET', '/learners/:connector', async (req: Req) => find(req).status());

  routes.add('GET', '/learners/:connector/model', async (req: Req) => find(req).model());

  routes.add('POST', '/learners/:connector/publish', async (req: Req) => {
    const h = find(req);
    try {
      return await h.publish();
    } catch (e) {
      throw new RestError(409, `Could not publish the model of ${h.connector}: ${(e as Error).message}`);
    }
  });
}
