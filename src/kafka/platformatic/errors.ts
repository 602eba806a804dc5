import { KafkaSecurityError } from '../port';

/**
 * Reading @platformatic/kafka's errors: they nest (MultipleErrors → ResponseError → ProtocolError)
 * and carry the broker's error name in `apiId` and flags such as `canRetry`.
 */
interface KafkaErrorLike extends Error {
  errors?: Error[];
  apiId?: string;
  canRetry?: boolean;
  code?: string;
}

/** The innermost errors of a nested error (the error itself when it has no children). */
export function flattenErrors(e: Error): KafkaErrorLike[] {
  const children = (e as KafkaErrorLike).errors;
  if (!Array.isArray(children) || children.length === 0) return [e as KafkaErrorLike];
  return children.flatMap((c) => flattenErrors(c));
}

/** Whether the error, or one nested in it, is the broker error `apiId` (e.g. TOPIC_ALREADY_EXISTS). */
export function hasApiError(e: Error, apiId: string): boolean {
  const walk = (x: KafkaErrorLike): boolean => x.apiId === apiId || (Array.isArray(x.errors) && x.errors.some((c) => walk(c as KafkaErrorLike)));
  return walk(e as KafkaErrorLike);
}

const RETRIABLE_API_ERRORS = new Set([
  'LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER', 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR', 'REQUEST_TIMED_OUT', 'NETWORK_EXCEPTION', 'UNKNOWN_TOPIC_OR_PARTITION', 'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'KAFKA_STORAGE_ERROR', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH',
  'REBALANCE_IN_PROGRESS', 'THROTTLING_QUOTA_EXCEEDED', 'CONCURRENT_TRANSACTIONS',
]);

/** Network failures, timeouts and the broker errors Kafka marks retriable. */
export function isRetriableKafkaError(e: Error): boolean {
  if (securityFailure(e) !== undefined) return false;
  return flattenErrors(e).every((x) => x.canRetry === true || x.code === 'PLT_KFK_NETWORK' || x.code === 'PLT_KFK_TIMEOUT' || (x.apiId !== undefined && RETRIABLE_API_ERRORS.has(x.apiId)));
}

/** TLS errors that a retry cannot mend: the broker's certificate is not trusted or not for this host. */
const TLS_VERIFY_CODES = /^(ERR_TLS_CERT_ALTNAME_INVALID|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_[A-Z_]+)$/;

/**
 * What went wrong when an error (or one nested in or causing it) is a failed SASL authentication or
 * a TLS certificate check: the broker's own message ("Authentication failed during authentication
 * due to invalid credentials with SASL mechanism SCRAM-SHA-512") or the TLS verdict. Undefined for
 * anything else.
 */
export function securityFailure(e: Error): string | undefined {
  const seen = new Set<unknown>();
  const walk = (x: KafkaErrorLike & { cause?: unknown; response?: { errorMessage?: unknown } }, inAuth: boolean): string | undefined => {
    if (!x || typeof x !== 'object' || seen.has(x)) return undefined;
    seen.add(x);
    const auth = inAuth || x.code === 'PLT_KFK_AUTHENTICATION';
    if (auth && typeof x.response?.errorMessage === 'string' && x.response.errorMessage !== '') return `Kafka authentication failed: ${x.response.errorMessage}`;
    if (typeof x.code === 'string' && TLS_VERIFY_CODES.test(x.code)) return `Kafka TLS connection failed, the broker's certificate is not accepted: ${x.message} (${x.code})`;
    for (const c of [...(Array.isArray(x.errors) ? x.errors : []), x.cause]) {
      const found = walk(c as typeof x, auth);
      if (found) return found;
    }
    return auth && x.code === 'PLT_KFK_AUTHENTICATION' ? `Kafka authentication failed: ${x.message}` : undefined;
  };
  return walk(e as KafkaErrorLike, false);
}

/** The error as a KafkaSecurityError naming what failed when it is one (see securityFailure), else itself. */
export function withSecurityReason(e: Error): Error {
  if (e instanceof KafkaSecurityError) return e;
  const reason = securityFailure(e);
  return reason === undefined ? e : new KafkaSecurityError(reason, { cause: e });
}
