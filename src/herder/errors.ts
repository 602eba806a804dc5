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

/**
 * A write reached a worker that is not the leader: the REST layer forwards it to `leaderUrl`, or,
 * when no leader is known (a rebalance is under way), answers 409 with Connect's message.
 */
export class NotLeaderError extends HerderError {
  constructor(readonly leaderUrl: string | null) {
    super(409, leaderUrl === null
      ? 'Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.'
      : 'Cannot complete request because of a conflicting operation (e.g. worker rebalance)');
  }
}

/** A task or connector instance runs on another worker: the request is forwarded to `ownerUrl`. */
export class NotOwnerError extends HerderError {
  constructor(readonly ownerUrl: string | null) {
    super(409, 'Cannot complete request because of a conflicting operation (e.g. worker rebalance)');
  }
}
