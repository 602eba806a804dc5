/**
 * Requests a worker cannot answer itself go to the worker that can, as Connect forwards them: a
 * write to the leader (NotLeaderError), a task restart to the worker running the task
 * (NotOwnerError). As in Connect, a request straight from a client (no `forward` parameter) may
 * take two hops: it goes on with `forward=true` (a follower → the leader, which may send a task
 * restart on to the task's owner), and that hop with `forward=false`, which is never forwarded
 * again; a worker that still cannot answer it says so with Connect's 409. A target that does not answer
 * within the bound gives Connect's 500 "IO Error trying to forward REST request".
 */
import type { FastifyReply } from 'fastify';
import type * as tls from 'node:tls';
import { restRequest, type RestAnswer } from './rest-client';
import { NotLeaderError, NotOwnerError } from '../herder/errors';
import { RestError } from './server-errors';

/** Connect's bound for a forwarded request (its REST client's 90 s request timeout) */
const FORWARD_TIMEOUT_MS = 90_000;

export interface ForwardableRequest {
  method: string;
  url: string;
  body?: unknown;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
}

/** The URL to forward to, or null when the request must be answered here (already forwarded, or no target known). */
export function forwardTarget(error: unknown, req: ForwardableRequest): string | null {
  if (forwardParam(req) === false) return null;
  if (error instanceof NotLeaderError) return error.leaderUrl;
  if (error instanceof NotOwnerError) return error.ownerUrl;
  return null;
}

/** The request's `forward` parameter: undefined when absent (a client's request). */
function forwardParam(req: ForwardableRequest): boolean | undefined {
  const forward = req.query['forward'];
  const last = Array.isArray(forward) ? forward[forward.length - 1] : forward;
  if (typeof last !== 'string') return undefined;
  return last.toLowerCase() !== 'false';
}

/**
 * Sends the request to `target` and relays the answer. After a successful write, `caughtUp` lets
 * this worker read the config topic up to the write first, so the client's next read here sees it.
 */
export async function forward(target: string, req: ForwardableRequest, reply: FastifyReply, caughtUp?: () => Promise<void>, tlsClient?: tls.ConnectionOptions): Promise<FastifyReply> {
  const url = new URL(req.url, target.endsWith('/') ? target : target + '/');
  // a client's request may be forwarded once more by its first target, a forwarded one never
  url.searchParams.set('forward', forwardParam(req) === undefined ? 'true' : 'false');
  const headers: Record<string, string> = { accept: 'application/json' };
  const type = req.headers['content-type'];
  const hasBody = req.body !== undefined && req.method !== 'GET' && req.method !== 'DELETE';
  if (hasBody) headers['content-type'] = typeof type === 'string' ? type : 'application/json';
  // the client's credentials go along, as Connect forwards them (basic auth is checked on every worker)
  const auth = req.headers['authorization'];
  if (typeof auth === 'string') headers['authorization'] = auth;
  let res: RestAnswer;
  try {
    res = await restRequest(url, { method: req.method, headers, body: hasBody ? JSON.stringify(req.body) : undefined, timeoutMs: FORWARD_TIMEOUT_MS, tls: tlsClient });
  } catch (e) {
    throw new RestError(500, `IO Error trying to forward REST request: ${(e as Error).message}`);
  }
  const ok = res.status >= 200 && res.status < 300;
  if (caughtUp && ok && req.method !== 'GET') await caughtUp().catch(() => undefined);
  reply.code(res.status);
  const location = res.headers['location'];
  if (location) reply.header('Location', location);
  const contentType = res.headers['content-type'];
  if (contentType) reply.header('Content-Type', contentType);
  return reply.send(res.text === '' ? undefined : res.text);
}
