/**
 * The one place where errors become HTTP answers, always in Connect's ErrorMessage shape
 * `{"error_code": <status>, "message": "..."}` (Connect's ConnectExceptionMapper). Besides the
 * route handlers' errors this covers what fastify and Node's HTTP parser answer on their own,
 * before any route runs: malformed URLs, over-long path parameters, header overflow, timeouts,
 * requests that arrive while the server closes. Clients such as the sourcelab client (AKHQ) and
 * Lenses branch on `error_code`, so a framework default body (`{"statusCode":...}`) would be
 * read as "no error code".
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../api';
import { HerderError } from '../herder/errors';
import { RestError } from './server-errors';

export interface ErrorMessage { error_code: number; message: string }

/** Where Jersey's reason phrase differs from Node's (RFC 7231 renamed 413). */
const JERSEY_PHRASES: Record<number, string> = { 413: 'Request Entity Too Large' };

/** Jersey's wording for statuses it raises itself: `HTTP 404 Not Found`. */
export function httpMessage(status: number): string {
  return `HTTP ${status} ${JERSEY_PHRASES[status] ?? http.STATUS_CODES[status] ?? ''}`.trim();
}

export function errorBody(status: number, message: string = httpMessage(status)): ErrorMessage {
  return { error_code: status, message };
}

/** setErrorHandler: errors thrown by routes, body parsers and fastify's request pipeline. */
export function routeErrorHandler(log: Logger, tooLargeMessage: string = httpMessage(413)) {
  return (error: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    const e = error as Error & { statusCode?: number; code?: string };
    let status = 500;
    let message = e.message;
    if (e instanceof HerderError || e instanceof RestError) status = e.status;
    else if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') { status = 415; message = httpMessage(415); }
    else if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') { status = 413; message = tooLargeMessage; }
    else if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      status = e.statusCode;
      message = httpMessage(status) + (e.message ? `: ${e.message}` : '');
    }
    if (status >= 500) log.error(`Uncaught exception in REST call to ${req.method} ${req.url}`, { error: e });
    return reply.code(status).send(errorBody(status, message));
  };
}

/**
 * fastify's `frameworkErrors`: errors raised by the router before a route is chosen. A URL that
 * is not valid percent-encoding is a 400 (as Jetty answers it); a path parameter over the router's
 * limit is 414 (the limit is set far above any URL Node accepts, so this is a last resort).
 */
export function frameworkErrors(error: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : typeof error.statusCode === 'number' ? error.statusCode : 400;
  void reply.code(status).send(errorBody(status, `${httpMessage(status)}: ${error.message}`));
}

/**
 * The HTTP server's `clientError` handler: requests Node's parser rejects (header overflow →
 * 431, request timeout → 408, anything else malformed → 400) get the same body shape.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify(errorBody(status));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/**
 * Content negotiation as Jersey does it for resources that produce only application/json: a
 * request whose Accept header admits no JSON gets 406. No Accept header, `*\/*`, `application/*`
 * and `application/json` (with a non-zero q) are fine.
 */
export function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((part) => {
    const [range, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) return false;
    return range === '*/*' || range === 'application/*' || range === 'application/json';
  });
}
