/**
 * The Kafka Connect REST API on fastify. `buildServer` is pure: it wires routes to the herder and
 * returns the app, so tests can inject requests or listen on a port. Every error leaves as
 * `{"error_code": <status>, "message": "..."}` (error-mapper.ts), including unknown routes (404),
 * wrong methods (405), bad bodies, unsupported media types, an Accept header without JSON (406) and
 * what the router and the HTTP parser reject; trailing slashes are accepted everywhere, and path
 * parameters (connector names) may be as long as a URL can be.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Herder } from '../herder/herder';
import type { WorkerConfig } from '../config/worker-config';
import type { LogRegistry } from '../logging/logger';
import type { PluginRegistry } from '../plugins/registry';
import { connectorRoutes } from './connectors';
import { pluginRoutes } from './plugins';
import { loggerRoutes } from './loggers';
import { rootRoutes } from './root';
import { RestError } from './server-errors';
import { acceptsJson, clientErrorHandler, errorBody, frameworkErrors, httpMessage, routeErrorHandler } from './error-mapper';
import { checkConfigMap } from './bodies';
import { modelRoutes } from './models';
import { learnerRoutes } from './learners';
import { consoleRoutes } from '../console/routes';
import { metricsRoutes } from './metrics';
import type { WorkerMetrics } from '../metrics/worker-metrics';
import { forward, forwardTarget, type ForwardableRequest } from './forwarding';
import { hostChecker } from './host-check';
import { nestingExceeds } from '../converters/nesting';
import type { RestListeners } from './listeners';
import type { RestTls } from './tls';
import { UNAUTHORIZED_MESSAGE, type BasicAuth } from './basic-auth';

export interface ServerDeps {
  herder: Herder;
  registry: PluginRegistry;
  logs: LogRegistry;
  config: WorkerConfig;
  /** resolves to the Kafka cluster id (for GET /) */
  clusterId: () => Promise<string>;
  /** resolves once the herder has read the cluster state back; requests wait for it */
  ready: Promise<void>;
  /** writes a cluster-scoped logger level to the config topic */
  publishClusterLogLevel?: (namespace: string, level: string) => Promise<void>;
  /** GET /metrics (Prometheus text format); absent: no such route */
  metrics?: WorkerMetrics;
  /** the servers of several or https listeners (listeners.ts); absent: fastify's one http server */
  serverFactory?: RestListeners['serverFactory'];
  /** TLS settings of the https listeners; their trust is used when forwarding to https workers */
  tls?: RestTls | null;
  /** BasicAuthSecurityRestExtension's check, when rest.extension.classes names it */
  basicAuth?: BasicAuth | null;
}

export type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, unknown> }>;

export interface RouteOptions {
  /**
   * The route takes its body as a stream of bytes (`Content-Type: application/octet-stream`; the
   * handler gets the stream as `req.body`) up to `maxBytes` instead of kappa.rest.request.max.bytes;
   * a declared Content-Length over it is answered 413 with `tooLarge` before anything is read.
   */
  rawBody?: { maxBytes: number; tooLarge: string };
}

export interface RouteTable {
  /** registers a route and remembers its pattern, so wrong methods answer 405 instead of 404 */
  add(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, handler: (req: Req, reply: FastifyReply) => Promise<unknown> | unknown, options?: RouteOptions): void;
}

/** The rawBody options of the route a request was routed to. */
function rawBodyOf(req: FastifyRequest): RouteOptions['rawBody'] {
  return (req.routeOptions.config as { rawBody?: RouteOptions['rawBody'] } | undefined)?.rawBody;
}

export { RestError } from './server-errors';

/**
 * Connect puts no limit on connector names beyond its validator (non-empty, no ISO control
 * characters), so a name is bounded only by the URL: Node's default 16 KB header limit is hit
 * long before this parameter limit (fastify's default of 100 made longer names unreachable).
 */
const MAX_PARAM_LENGTH = 64 * 1024;

export function buildServer(deps: ServerDeps): FastifyInstance {
  const { restMaxRequestBytes: maxBytes, restMaxRequestDepth: maxDepth } = deps.config;
  const app = Fastify({
    logger: false,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: MAX_PARAM_LENGTH },
    // checked against Content-Length before reading, and while reading a chunked body
    bodyLimit: maxBytes,
    frameworkErrors,
    clientErrorHandler,
    // fastify's own 503 while closing has a non-Connect body; the hook below answers instead
    return503OnClosing: false,
    ...(deps.serverFactory ? { serverFactory: deps.serverFactory } : {}),
  });
  const restLog = deps.logs.logger('io.kappa.connect.rest');
  const patterns: { method: string; regex: RegExp }[] = [];

  // DNS rebinding defense: only requests addressed to a name of this worker (host-check.ts).
  const hostAllowed = hostChecker(deps.config);
  app.addHook('onRequest', async (req, reply) => {
    if (hostAllowed(req.headers.host)) return;
    const shown = (req.headers.host ?? '').slice(0, 100);
    await reply.code(421).send({
      error_code: 421,
      message: `Host ${JSON.stringify(shown)} is not a name of this worker; accepted are the listener host, rest.advertised.host.name, loopback names and the worker property kappa.rest.allowed.hosts`,
    });
  });

  // Basic auth (BasicAuthSecurityRestExtension): every route, /health included, as Connect's filter
  // covers every resource. Connect answers the bare message; here it is in the JSON error body every
  // other error has (clients such as AKHQ read error_code), with no WWW-Authenticate header, as Connect.
  const basicAuth = deps.basicAuth;
  if (basicAuth) {
    app.addHook('onRequest', async (req, reply) => {
      if (basicAuth.allows(req.headers.authorization)) return;
      restLog.debug(`Request ${req.method} ${req.url.split('?')[0]} failed authentication`);
      await reply.code(401).send({ error_code: 401, message: UNAUTHORIZED_MESSAGE });
    });
  }

  // A declared body over the limit is answered before the body is parsed, without closing the
  // connection: Node reads and discards the (Content-Length bounded) rest, so the client sees the
  // 413 instead of a connection reset in the middle of its upload. Chunked bodies are cut off by
  // bodyLimit while read (fastify then closes the connection).
  const tooLarge = `HTTP 413 Request Entity Too Large: the request body is larger than ${maxBytes} bytes (worker property kappa.rest.request.max.bytes)`;
  // Routes with a raw body (model artifacts) have their own limit and message.
  app.addHook('onRequest', async (req, reply) => {
    const raw = rawBodyOf(req);
    if (Number(req.headers['content-length']) > (raw?.maxBytes ?? maxBytes)) await reply.code(413).send({ error_code: 413, message: raw?.tooLarge ?? tooLarge });
  });

  // JSON bodies; an empty body is allowed (Lenses sends Content-Type: application/json on bodyless PUTs).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      return done(new RestError(400, `Cannot parse the request body as JSON: ${(e as Error).message}`), undefined);
    }
    // handlers (and the error mapper) may walk a body recursively: refuse absurd nesting up front
    if (nestingExceeds(json, maxDepth)) {
      return done(new RestError(400, `The request body is nested deeper than ${maxDepth} levels (worker property kappa.rest.request.max.depth)`), undefined);
    }
    done(null, json);
  });

  // Bytes: only for the routes that take them (POST /models/artifacts), handed over as the stream
  // itself (read by the route, which enforces its own limit); anywhere else as before: 415.
  app.addContentTypeParser('application/octet-stream', (req, payload, done) => {
    if (rawBodyOf(req)) return done(null, payload);
    done(new RestError(415, httpMessage(415)), undefined);
  });

  // Optional CORS, as Connect's Jetty CrossOriginFilter does it.
  if (deps.config.corsOrigin) {
    const origins = deps.config.corsOrigin.split(',').map((s) => s.trim());
    const methods = deps.config.corsMethods || 'GET,POST,HEAD';
    app.addHook('onRequest', async (req, reply) => {
      const origin = req.headers.origin;
      if (!origin || !(origins.includes('*') || origins.includes(origin))) return;
      reply.header('Access-Control-Allow-Origin', origins.includes('*') ? '*' : origin);
      reply.header('Vary', 'Origin');
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        reply.header('Access-Control-Allow-Methods', methods);
        reply.header('Access-Control-Allow-Headers', 'X-Requested-With,Content-Type,Accept,Origin');
        reply.header('Access-Control-Max-Age', '1800');
        await reply.code(200).send();
      }
    });
  }

  // Requests that arrive while the server shuts down (fastify's 503 fast path is off, see above).
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });
  app.addHook('onRequest', async (_req, reply) => {
    if (closing) await reply.code(503).header('Connection', 'close').send(errorBody(503));
  });

  // Every resource produces application/json only: an Accept header that rules JSON out is 406,
  // as Jersey answers it; CORS preflights are not affected.
  // Jersey matches path and method first, so unknown routes stay 404 and wrong methods 405.
  // /metrics is text for scrapers (not part of Connect's API): any Accept header gets it.
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'OPTIONS' || req.routeOptions.url === undefined || req.routeOptions.url === '/metrics' || acceptsJson(req.headers.accept)) return;
    await reply.code(406).send(errorBody(406));
  });

  const table: RouteTable = {
    add(method, url, handler, options) {
      const regex = new RegExp('^' + url.replace(/:[^/]+/g, '[^/]+') + '/?$');
      patterns.push({ method, regex });
      app.route({
        method,
        url,
        ...(options?.rawBody ? { config: { rawBody: options.rawBody } } : {}),
        handler: async (req, reply) => {
          try {
            return await handler(req as Req, reply);
          } catch (e) {
            // a write on a follower goes to the leader, a task restart to the task's worker
            const target = forwardTarget(e, req as unknown as ForwardableRequest);
            if (target) return forward(target, req as unknown as ForwardableRequest, reply, () => deps.herder.caughtUp(), deps.tls?.client);
            throw e;
          }
        },
      });
    },
  };

  rootRoutes(table, deps);
  connectorRoutes(table, deps);
  pluginRoutes(table, deps);
  loggerRoutes(table, deps);
  modelRoutes(table, deps, app);
  learnerRoutes(table, deps);
  consoleRoutes(table, deps, app);
  if (deps.metrics) metricsRoutes(table, deps.metrics);

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!.replace(/\/+/g, '/');
    const known = patterns.filter((p) => p.regex.test(path));
    if (known.length > 0 && !known.some((p) => p.method === req.method)) {
      return reply.code(405).send(errorBody(405));
    }
    return reply.code(404).send(errorBody(404));
  });

  app.setErrorHandler(routeErrorHandler(restLog, tooLarge));

  return app;
}

/** Parses Connect's boolean query parameters (`Boolean.valueOf`: only "true", any case, is true). */
export function queryBool(value: unknown): boolean {
  const v = Array.isArray(value) ? value[value.length - 1] : value;
  return typeof v === 'string' && v.toLowerCase() === 'true';
}

/** Repeated query parameters come as arrays; single ones as strings. */
export function queryList(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** Connect's config maps are Map<String,String>: numbers and booleans are coerced to strings; null is kept
 * (PATCH deletes such keys, create/PUT report them as validation errors). */
export function coerceConfig(body: unknown): Record<string, string | null> {
  checkConfigMap(body);
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(body as Record<string, string | number | boolean | null>)) out[k] = v === null ? null : String(v);
  return out;
}
