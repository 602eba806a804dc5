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
  return flattenErrors(e).every((x) => x.canRetry === true || x.code === 'PLT_KFK_NETWORK' || x.code === 'PLT_KFK_TIMEOUT' || (x.apiId !== undefined && RETRIABLE_API_ERRORS.has(x.apiId)));
}
