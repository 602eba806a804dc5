/**
 * Java client property names (what Connect users write in `consumer.*`, `producer.*`,
 * `consumer.override.*`) mapped onto @platformatic/kafka options, with Connect's defaults where
 * the library's differ (its fetch size defaults to 50 MB; Connect's sink consumers read from the
 * earliest offset; the Java producer is idempotent with acks=all).
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Logger } from '../../api';
import { sniForBootstrap, type KafkaSecurity } from '../security';

/** The library's connection options for TLS and SASL (all empty for PLAINTEXT). */
export interface ConnectionSecurity {
  tls?: TlsConnectionOptions;
  tlsServerName?: boolean;
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string };
}

export function connectionSecurity(security: KafkaSecurity, bootstrapServers: readonly string[]): ConnectionSecurity {
  const out: ConnectionSecurity = {};
  if (security.tls) {
    out.tls = security.tls;
    out.tlsServerName = sniForBootstrap(bootstrapServers);
  }
  if (security.sasl) out.sasl = { ...security.sasl };
  return out;
}

export interface ClientBaseOptions extends ConnectionSecurity {
  clientId: string;
  bootstrapBrokers: string[];
  retries: number | boolean;
  retryDelay: (client: unknown, operationId: string, attempt: number, retries?: number, error?: unknown) => number;
  connectTimeout: number;
  requestTimeout: number;
  metadataMaxAge: number;
  timeout: number;
}

export interface FetchTuning {
  maxWaitTime: number;
  minBytes: number;
  maxBytes: number;
  maxBytesPerPartition: number;
  offsetReset: 'earliest' | 'latest' | 'none';
  isolationLevel: 'read_uncommitted' | 'read_committed';
  allowAutoCreateTopics: boolean;
  sessionTimeout: number;
  heartbeatInterval: number;
  rebalanceTimeout: number;
  metadataMaxAge: number;
  /** the most records handed to a task at once when fetched batches are joined (max.poll.records) */
  maxPollRecords: number;
}

function num(props: Readonly<Record<string, string>>, key: string, def: number): number {
  const v = props[key];
  if (v === undefined || v.trim() === '') return def;
  const n = Number(v);
  return Number.isFinite(n) ? n : def;
}

/**
 * The retry of a transaction's AddPartitionsToTxn or AddOffsetsToTxn that the coordinator refused
 * with CONCURRENT_TRANSACTIONS: it is still writing the previous transaction's commit markers,
 * which takes a few milliseconds. Java's producer retries that case after 20 ms; the general
 * backoff (100 ms, doubling) would stall a task committing every 100 ms for a whole interval.
 */
export const CONCURRENT_TRANSACTIONS_RETRY_MS = 20;

/** Whether the error, or one it aggregates, is the broker's CONCURRENT_TRANSACTIONS. */
export function isConcurrentTransactions(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false;
  const e = error as { apiId?: unknown; errors?: unknown };
  if (e.apiId === 'CONCURRENT_TRANSACTIONS') return true;
  return Array.isArray(e.errors) && e.errors.some((inner) => isConcurrentTransactions(inner, depth + 1));
}

/** Exponential backoff from 100 ms, capped by `retry.backoff.max.ms` (Java's default 1 s; ours 5 s for outages). */
export function backoff(props: Readonly<Record<string, string>>): (client: unknown, operationId: string, attempt: number, retries?: number, error?: unknown) => number {
  const first = num(props, 'retry.backoff.ms', 100);
  const max = num(props, 'retry.backoff.max.ms', 5000);
  return (_client, _op, attempt, _retries, error) => {
    if (isConcurrentTransactions(error)) return Math.min(first, CONCURRENT_TRANSACTIONS_RETRY_MS);
    return Math.min(max, first * 2 ** Math.max(0, attempt - 1));
  };
}

/**
 * The library's Consumer insists on a group id without whitespace, which Kafka itself allows (Connect
 * names the group of connector "my scorer" `connect-my scorer`). Where the library only needs a
 * group id to exist (it never joins: membership and committed offsets are ours), it gets this one.
 */
export function libraryGroupId(groupId: string): string {
  return groupId.replace(/\s/g, '_');
}

export function baseOptions(bootstrapServers: string[], clientId: string, props: Readonly<Record<string, string>>, retries: number | boolean, connection: ConnectionSecurity): ClientBaseOptions {
  return {
    ...connection,
    clientId,
    bootstrapBrokers: bootstrapServers,
    retries,
    retryDelay: backoff(props),
    connectTimeout: num(props, 'socket.connection.setup.timeout.ms', 10_000),
    requestTimeout: num(props, 'request.timeout.ms', 30_000),
    metadataMaxAge: num(props, 'metadata.max.age.ms', 300_000),
    timeout: num(props, 'default.api.timeout.ms', 30_000),
  };
}

export function fetchTuning(props: Readonly<Record<string, string>>): FetchTuning {
  const reset = (props['auto.offset.reset'] ?? 'earliest').trim().toLowerCase();
  const sessionTimeout = num(props, 'session.timeout.ms', 45_000);
  return {
    maxWaitTime: num(props, 'fetch.max.wait.ms', 500),
    minBytes: num(props, 'fetch.min.bytes', 1),
    // one fetch response at most: Connect's consumers default to 50 MB, far more than a task buffers
    maxBytes: num(props, 'fetch.max.bytes', 4 * 1024 * 1024),
    maxBytesPerPartition: num(props, 'max.partition.fetch.bytes', 1024 * 1024),
    offsetReset: reset === 'latest' ? 'latest' : reset === 'none' ? 'none' : 'earliest',
    isolationLevel: (props['isolation.level'] ?? '').trim().toLowerCase() === 'read_committed' ? 'read_committed' : 'read_uncommitted',
    allowAutoCreateTopics: (props['allow.auto.create.topics'] ?? 'true').trim().toLowerCase() === 'true',
    sessionTimeout,
    heartbeatInterval: Math.min(num(props, 'heartbeat.interval.ms', 3000), sessionTimeout),
    rebalanceTimeout: Math.max(num(props, 'max.poll.interval.ms', 300_000), sessionTimeout),
    metadataMaxAge: num(props, 'metadata.max.age.ms', 300_000),
    maxPollRecords: Math.max(1, num(props, 'max.poll.records', 500)),
  };
}

export interface ProducerTuning {
  idempotent: boolean;
  acks: number;
  compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  maxInflights: number;
}

export function producerTuning(props: Readonly<Record<string, string>>, logger?: Logger): ProducerTuning {
  const acksRaw = (props['acks'] ?? 'all').trim().toLowerCase();
  const acks = acksRaw === 'all' || acksRaw === '-1' ? -1 : acksRaw === '0' ? 0 : 1;
  const idempotent = (props['enable.idempotence'] ?? 'true').trim().toLowerCase() === 'true' && acks === -1;
  const compressionRaw = (props['compression.type'] ?? 'none').trim().toLowerCase();
  const compression = (['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const).find((c) => c === compressionRaw) ?? 'none';
  if (compression !== compressionRaw) logger?.warn(`producer compression.type ${compressionRaw} is not supported; sending uncompressed`);
  return { idempotent, acks, compression, maxInflights: Math.max(1, Math.min(5, num(props, 'max.in.flight.requests.per.connection', 5))) };
}
