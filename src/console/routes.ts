/**
 * The console: a few static pages served by the worker under `/ui` that read the REST API from
 * the browser (same origin, so the browser's credentials for the API go along), plus the learner
 * history the accuracy plot needs.
 *
 *   GET /ui, /ui/<page>             the console page (connectors, models, learners)
 *   GET /ui/assets/<file>           its scripts and style sheet (ui/)
 *   GET /ui/vendor/<file>           uPlot's browser build (node_modules/uplot/dist)
 *   GET /learners/:connector/history   the sampled (time, events, windowed/cumulative quality) of
 *                                   a learner task (`?task=N`, default 0; `?since=<epoch ms>` only
 *                                   newer samples); forwarded to the worker that runs the task
 *
 * `/ui` is not a Connect resource, so none of Connect's answers change: every other path keeps
 * its 404/405, and an unknown page or file under /ui is the same JSON 404.
 */
import * as crypto from 'crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { learnerRegistry } from '../ml/online/registry';
import { forward } from '../rest/forwarding';
import { RestError } from '../rest/server-errors';
import type { Req, RouteTable, ServerDeps } from '../rest/server';
import { LearnerHistory } from './learner-history';
import { startHistorySampling } from './history-sampler';
import { readStaticDir, UI_DIR, uplotDir, UPLOT_FILES, type StaticFile } from './static-files';

/** The pages of the console (each is index.html; the script picks the page from the path). */
export const CONSOLE_PAGES = ['connectors', 'models', 'learners'] as const;

/** How often the learners are sampled, and how many samples each keeps (an hour). */
export const HISTORY_INTERVAL_MS = 2000;
export const HISTORY_CAPACITY = 1800;
/** A learner not seen for this long (moved to another worker) loses its history here. */
const HISTORY_FORGET_MS = 10 * 60_000;

/**
 * The pages load only their own scripts, styles and API answers: an injected string that
 * escaped the rendering still could not run or send anything anywhere.
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Served extends StaticFile { etag: string }

function withEtags(files: Map<string, StaticFile>): Map<string, Served> {
  const out = new Map<string, Served>();
  for (const [name, f] of files) out.set(name, { ...f, etag: `"${crypto.createHash('sha256').update(f.body).digest('base64url').slice(0, 27)}"` });
  return out;
}

function send(req: Req, reply: FastifyReply, file: Served | undefined): FastifyReply {
  if (!file) throw new RestError(404, 'HTTP 404 Not Found');
  reply
    .header('Content-Type', file.contentType)
    .header('Cache-Control', 'no-cache')
    .header('ETag', file.etag)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.code(200).send(file.body);
}

function lastQuery(req: Req, name: string): string | undefined {
  const v = req.query[name];
  return Array.isArray(v) ? (v[v.length - 1] as string | undefined) : (v as string | undefined);
}

function intQuery(req: Req, name: string): number | undefined {
  const raw = lastQuery(req, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new RestError(400, `Query parameter ${name} must be a non-negative integer, not ${JSON.stringify(raw.slice(0, 100))}`);
  return n;
}

export function consoleRoutes(routes: RouteTable, deps: ServerDeps, app: FastifyInstance): void {
  const log = deps.logs.logger('io.kappa.connect.console');
  let pages = new Map<string, Served>();
  let vendor = new Map<string, Served>();
  try {
    pages = withEtags(readStaticDir(UI_DIR));
    vendor = withEtags(readStaticDir(uplotDir(), UPLOT_FILES));
  } catch (e) {
    // a broken installation: the REST API works, the console answers 404
    log.warn(`The console at /ui is not available: ${(e as Error).message}`);
  }

  routes.add('GET', '/ui', (req, reply) => send(req, reply, pages.get('index.html')));
  routes.add('GET', '/ui/:page', (req, reply) => send(req, reply, (CONSOLE_PAGES as readonly string[]).includes(req.params['page']!) ? pages.get('index.html') : undefined));
  routes.add('GET', '/ui/assets/:file', (req, reply) => send(req, reply, req.params['file'] === 'index.html' ? undefined : pages.get(req.params['file']!)));
  routes.add('GET', '/ui/vendor/:file', (req, reply) => send(req, reply, vendor.get(req.params['file']!)));

  const history = new LearnerHistory({ capacity: HISTORY_CAPACITY, forgetAfterMs: HISTORY_FORGET_MS });
  const sampler = startHistorySampling(history, learnerRegistry, {
    intervalMs: HISTORY_INTERVAL_MS,
    connectorExists: (name) => deps.herder.connectorNames().includes(name),
  });
  app.addHook('onClose', async () => sampler.stop());

  routes.add('GET', '/learners/:connector/history', async (req, reply) => {
    const connector = req.params['connector']!;
    const task = intQuery(req, 'task') ?? 0;
    const since = intQuery(req, 'since');
    if (learnerRegistry.find(connector, task)) {
      // a learner that started since the last round has no sample yet
      if (!history.history(connector, task)) await sampler.sampleNow();
      const h = history.history(connector, task, since);
      return { connector, task, worker_id: deps.config.workerId, interval_ms: HISTORY_INTERVAL_MS, metric: h?.metric ?? 'accuracy', samples: h?.samples ?? [] };
    }
    const owner = ownerOf(deps, connector, task);
    if (owner && lastQuery(req, 'forward')?.toLowerCase() !== 'false') return forward(owner, req as never, reply);
    throw new RestError(404, `No learner is running for connector ${connector} task ${task} on any worker`);
  });
}

/** The URL of the worker that runs the task, when it is another one. */
function ownerOf(deps: ServerDeps, connector: string, task: number): string | null {
  try {
    const s = deps.herder.taskStatus(connector, task);
    return s.worker_id && s.worker_id !== deps.config.workerId ? `http://${s.worker_id}` : null;
  } catch {
    return null;
  }
}
