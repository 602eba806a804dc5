/**
 * Errors the control plane raises, each with the HTTP status Connect answers with
 * (ConnectExceptionMapper): the REST layer maps `status` to `{"error_code","message"}`.
 */
export class HerderError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
export class NotFoundError extends HerderError { constructor(m: string) { super(404, m); } }
export class BadRequestError extends HerderError { constructor(m: string) { super(400, m); } }
export class ConflictError extends HerderError { constructor(m: string) { super(409, m); } }
export class ForbiddenError extends HerderError { constructor(m: string) { super(403, m); } }
/** Connect maps plain ConnectExceptions (e.g. an unknown connector class) to 500. */
export class ServerError extends HerderError { constructor(m: string) { super(500, m); } }
