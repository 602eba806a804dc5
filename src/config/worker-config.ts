/**
 * The worker's own configuration: Connect's distributed-worker keys, parsed once, checked, frozen.
 * An invalid value stops the worker with one message naming the key.
 */
import { ConfigException, type ConfigDef } from '../api';
import type { KafkaClientKind } from '../kafka/port';
import { resolveKafkaSecurity, securityPropsOf } from '../kafka/security';
import { parseConfig, withPrefix, validators } from './parse';

const def: ConfigDef = [
  { name: 'bootstrap.servers', type: 'LIST', default: 'localhost:9092', importance: 'HIGH', documentation: 'Kafka brokers to bootstrap from (host:port, comma separated).' },
  { name: 'group.id', type: 'STRING', importance: 'HIGH', documentation: 'Identifies the Connect cluster this worker belongs to.' },
  { name: 'config.storage.topic', type: 'STRING', importance: 'HIGH', documentation: 'Compacted topic holding connector configs and target states.' },
  { name: 'status.storage.topic', type: 'STRING', importance: 'HIGH', documentation: 'Compacted topic holding connector and task statuses.' },
  { name: 'offset.storage.topic', type: 'STRING', importance: 'HIGH', documentation: 'Compacted topic for source offsets (created for compatibility; sinks use consumer groups).' },
  { name: 'config.storage.replication.factor', type: 'SHORT', default: 3, importance: 'LOW', documentation: 'Replication factor of the config topic; -1 uses the broker default.' },
  { name: 'status.storage.replication.factor', type: 'SHORT', default: 3, importance: 'LOW', documentation: 'Replication factor of the status topic.' },
  { name: 'offset.storage.replication.factor', type: 'SHORT', default: 3, importance: 'LOW', documentation: 'Replication factor of the offset topic.' },
  { name: 'status.storage.partitions', type: 'INT', default: 5, importance: 'LOW', documentation: 'Partitions of the status topic.' },
  { name: 'offset.storage.partitions', type: 'INT', default: 25, importance: 'LOW', documentation: 'Partitions of the offset topic.' },
  { name: 'listeners', type: 'LIST', default: 'http://127.0.0.1:8083', importance: 'LOW', documentation: 'REST listener URLs, http:// or https:// (TLS from listeners.https.ssl.* or ssl.*), comma separated.' },
  { name: 'rest.advertised.listener', type: 'STRING', default: null, importance: 'LOW', documentation: 'Which listener (http or https) other workers are given to reach this one; unset: http if there is an http listener, else https.', validator: (v, n) => (typeof v === 'string' && !['http', 'https'].includes(v.toLowerCase()) ? `Invalid value ${v} for configuration ${n}: String must be one of: http, https` : undefined) },
  { name: 'rest.extension.classes', type: 'LIST', default: '', importance: 'LOW', documentation: "REST extensions; the one supported is Connect's BasicAuthSecurityRestExtension (HTTP basic auth from a JAAS PropertyFileLoginModule)." },
  { name: 'kappa.rest.basic.auth.jaas.config', type: 'STRING', default: null, importance: 'LOW', documentation: 'Path of the JAAS file for BasicAuthSecurityRestExtension; unset: -Djava.security.auth.login.config=<path> in KAFKA_OPTS, as Connect reads it. Kappa extension.' },
  { name: 'rest.advertised.host.name', type: 'STRING', default: null, importance: 'LOW', documentation: 'Host name given to other workers and shown as worker_id.' },
  { name: 'rest.advertised.port', type: 'INT', default: null, importance: 'LOW', documentation: 'Port given to other workers and shown as worker_id.' },
  { name: 'key.converter', type: 'CLASS', importance: 'HIGH', documentation: 'Default converter for record keys.' },
  { name: 'value.converter', type: 'CLASS', importance: 'HIGH', documentation: 'Default converter for record values.' },
  { name: 'header.converter', type: 'CLASS', default: 'org.apache.kafka.connect.storage.SimpleHeaderConverter', importance: 'LOW', documentation: 'Default converter for headers.' },
  { name: 'plugin.path', type: 'LIST', default: '', importance: 'LOW', documentation: 'Directories to load third-party plugins from.' },
  { name: 'offset.flush.interval.ms', type: 'LONG', default: 60000, importance: 'LOW', documentation: 'How often sink tasks flush and commit offsets.', validator: validators.atLeast(0) },
  { name: 'task.shutdown.graceful.timeout.ms', type: 'LONG', default: 5000, importance: 'LOW', documentation: 'How long to wait for tasks to stop.' },
  { name: 'access.control.allow.origin', type: 'STRING', default: '', importance: 'LOW', documentation: 'CORS allowed origin(s); empty disables CORS.' },
  { name: 'access.control.allow.methods', type: 'STRING', default: '', importance: 'LOW', documentation: 'CORS allowed methods; defaults to GET,POST,HEAD.' },
  { name: 'topic.tracking.enable', type: 'BOOLEAN', default: true, importance: 'LOW', documentation: 'Track the topics each connector uses.' },
  { name: 'topic.tracking.allow.reset', type: 'BOOLEAN', default: true, importance: 'LOW', documentation: 'Allow resetting tracked topics.' },
  { name: 'connector.client.config.override.policy', type: 'STRING', default: 'All', importance: 'MEDIUM', documentation: 'Which consumer.override./producer.override./admin.override. settings connectors may set: All, None or Principal.', validator: (v, n) => (typeof v === 'string' && !['all', 'none', 'principal'].includes(v.toLowerCase()) ? `Invalid value ${v} for configuration ${n}: must be All, None or Principal` : undefined) },
  { name: 'log.level', type: 'STRING', default: 'INFO', importance: 'LOW', documentation: 'Root log level (kappa extension).' },
  { name: 'log.format', type: 'STRING', default: 'text', importance: 'LOW', documentation: "Log lines on stdout: 'text' (one human-readable line per event) or 'json' (one JSON object per line, for log collectors). Kappa extension.", validator: validators.oneOf('text', 'json') },
  { name: 'metrics.listener', type: 'STRING', default: '', importance: 'LOW', documentation: 'A second listener (http://host:port) serving only GET /metrics (Prometheus text format), besides /metrics on the REST listener; empty: none. Kappa extension.' },
  { name: 'session.timeout.ms', type: 'INT', default: 10000, importance: 'HIGH', documentation: "The timeout used to detect worker failures: a worker that sends no heartbeat for this long leaves the group.", validator: validators.atLeast(1) },
  { name: 'heartbeat.interval.ms', type: 'INT', default: 3000, importance: 'HIGH', documentation: 'The expected time between heartbeats to the group coordinator.', validator: validators.atLeast(1) },
  { name: 'rebalance.timeout.ms', type: 'INT', default: 60000, importance: 'HIGH', documentation: 'The maximum time each worker may take to join the group during a rebalance.', validator: validators.atLeast(1) },
  { name: 'scheduled.rebalance.max.delay.ms', type: 'INT', default: 300000, importance: 'LOW', documentation: "How long the connectors and tasks of a worker that left are held before they are reassigned (it may come back).", validator: validators.atLeast(0) },
  { name: 'connect.protocol', type: 'STRING', default: 'sessioned', importance: 'LOW', documentation: "Connect's group protocol setting; this worker always uses the incremental cooperative layout ('compatible').", validator: validators.oneOf('eager', 'compatible', 'sessioned') },
  { name: 'kappa.task.threads', type: 'BOOLEAN', default: true, importance: 'LOW', documentation: 'Run each sink task in its own worker thread (its own core and Kafka clients); false runs them all on the main thread. Kappa extension.' },
  { name: 'kappa.task.thread.young.generation.mb', type: 'INT', default: 128, importance: 'LOW', documentation: "Young-generation heap of each task thread (MB). A task keeps a fetched batch alive across its awaits (model call, produce), so with V8's small default most of each batch survives a scavenge and is copied again; a larger young generation lets it die young (Score: about 1.3 x the records/s). Kappa extension.", validator: validators.atLeast(8) },
  { name: 'kafka.client', type: 'STRING', default: 'platformatic', importance: 'LOW', documentation: "The Kafka client library: 'platformatic' (@platformatic/kafka: fetch-ahead, pipelined produce; needed for clusters and exactly-once) or 'kafkajs' (single worker, one batch at a time). Kappa extension.", validator: validators.oneOf('platformatic', 'kafkajs') },
  // Limits against hostile or mistaken input (kappa extensions; docs/design.md "Limits")
  { name: 'kappa.rest.request.max.bytes', type: 'INT', default: 16 * 1024 * 1024, importance: 'LOW', documentation: 'Largest REST request body accepted; larger ones get 413.', validator: validators.atLeast(1024) },
  { name: 'kappa.rest.request.max.depth', type: 'INT', default: 64, importance: 'LOW', documentation: 'Deepest nesting of a JSON request body; deeper ones get 400.', validator: validators.atLeast(4) },
  { name: 'kappa.rest.allowed.hosts', type: 'LIST', default: '', importance: 'LOW', documentation: 'Host header names accepted besides the listener host, rest.advertised.host.name and loopback names (DNS rebinding defense); * accepts any.' },
  { name: 'kappa.connector.tasks.max.limit', type: 'INT', default: 256, importance: 'LOW', documentation: 'Largest tasks.max a connector may ask for on this worker.', validator: validators.atLeast(1) },
  { name: 'kappa.connector.config.max.bytes', type: 'INT', default: 256 * 1024, importance: 'LOW', documentation: 'Largest connector configuration (UTF-8 bytes of keys and values).', validator: validators.atLeast(1024) },
];

export interface Listener { protocol: 'http' | 'https'; host: string; port: number }

export interface WorkerConfig {
  readonly raw: Readonly<Record<string, string>>;
  readonly bootstrapServers: string[];
  readonly groupId: string;
  readonly configTopic: string;
  readonly statusTopic: string;
  readonly offsetTopic: string;
  readonly configReplicationFactor: number;
  readonly statusReplicationFactor: number;
  readonly offsetReplicationFactor: number;
  readonly statusPartitions: number;
  readonly offsetPartitions: number;
  /** the first listener (bound host for the Host check) */
  readonly listener: Listener;
  /** every listener, in the order given */
  readonly listeners: readonly Listener[];
  /** the scheme other workers use to reach this one (rest.advertised.listener) */
  readonly advertisedProtocol: 'http' | 'https';
  /** `<scheme>://<advertised host>:<advertised port>`: where requests are forwarded to this worker */
  readonly advertisedUrl: string;
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  readonly workerId: string;
  readonly keyConverter: string;
  readonly valueConverter: string;
  readonly headerConverter: string;
  readonly pluginPath: string[];
  readonly offsetFlushIntervalMs: number;
  readonly taskShutdownTimeoutMs: number;
  readonly corsOrigin: string;
  readonly corsMethods: string;
  readonly topicTracking: boolean;
  readonly topicTrackingReset: boolean;
  readonly logLevel: string;
  readonly logFormat: 'text' | 'json';
  /** a listener of its own for GET /metrics (metrics.listener), if set */
  readonly metricsListener: Listener | null;
  readonly kafkaClient: KafkaClientKind;
  readonly taskThreads: boolean;
  /** resourceLimits.maxYoungGenerationSizeMb of each task thread */
  readonly taskThreadYoungGenerationMb: number;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly scheduledRebalanceMaxDelayMs: number;
  readonly clientOverridePolicy: 'All' | 'None' | 'Principal';
  /** the top-level `security.protocol`, `sasl.*`, `ssl.*` settings: every Kafka client of the worker uses them */
  readonly securityProps: Readonly<Record<string, string>>;
  /** worker-wide `consumer.*`, `producer.*`, `admin.*` client settings, prefix removed */
  readonly consumerProps: Readonly<Record<string, string>>;
  readonly producerProps: Readonly<Record<string, string>>;
  readonly adminProps: Readonly<Record<string, string>>;
  /** REST request limits and accepted Host header names beyond the listener/advertised/loopback ones */
  readonly restMaxRequestBytes: number;
  readonly restMaxRequestDepth: number;
  readonly restAllowedHosts: readonly string[];
  /** per-connector limits checked by validation */
  readonly maxTasksPerConnector: number;
  readonly maxConnectorConfigBytes: number;
}

/** metrics.listener serves plain http only (a scraper inside the cluster's network) */
function metricsListenerOf(value: string): Listener {
  const l = parseListener(value, 'metrics.listener');
  if (l.protocol !== 'http') throw new ConfigException(`Invalid value ${value} for configuration metrics.listener: only http is supported`);
  return l;
}

function parseListener(value: string, key = 'listeners'): Listener {
  const m = /^(https?):\/\/([^:/]*|\[[^\]]+\]):(\d+)\/?$/.exec(value.trim());
  if (!m) throw new ConfigException(`Invalid value ${value} for configuration ${key}: Expected a URL of the form http://host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigException(`Invalid value ${value} for configuration ${key}: port out of range`);
  // An empty host means "all interfaces" in Connect; this project binds loopback unless told otherwise.
  return { protocol: m[1] as 'http' | 'https', host: m[2] || '127.0.0.1', port };
}

/** Compiles raw properties into a frozen WorkerConfig; throws ConfigException naming the bad key. */
export function compileWorkerConfig(raw: Record<string, string>): WorkerConfig {
  const { values, errors } = parseConfig(def, raw);
  for (const key of def) {
    const problems = errors[key.name]!;
    if (problems.length > 0) throw new ConfigException(problems[0]!);
  }
  for (const key of ['group.id', 'config.storage.topic', 'status.storage.topic', 'offset.storage.topic', 'key.converter', 'value.converter']) {
    if (String(values[key]).trim() === '') throw new ConfigException(`Invalid value "" for configuration ${key}: must not be empty`);
  }
  const servers = values['bootstrap.servers'] as string[];
  if (servers.length === 0) throw new ConfigException('Invalid value "" for configuration bootstrap.servers: at least one broker is required');
  for (const s of servers) {
    if (!/^[^:\s]+:\d+$/.test(s)) throw new ConfigException(`Invalid url in bootstrap.servers: ${s}`);
  }
  const listeners = values['listeners'] as string[];
  if (listeners.length === 0) throw new ConfigException('Invalid value "" for configuration listeners: at least one listener is required');
  const parsedListeners = listeners.map((l) => parseListener(l));
  const listener = parsedListeners[0]!;
  // As Connect: the advertised listener is the one named by rest.advertised.listener, else http when there is one
  const named = (values['rest.advertised.listener'] as string | null)?.toLowerCase() as 'http' | 'https' | undefined;
  const advertisedProtocol = named ?? (parsedListeners.some((l) => l.protocol === 'http') ? 'http' : 'https');
  const advertisedListener = parsedListeners.find((l) => l.protocol === advertisedProtocol);
  if (!advertisedListener && values['rest.advertised.port'] === null) {
    throw new ConfigException(`Invalid value ${named} for configuration rest.advertised.listener: no ${named} listener in listeners (${listeners.join(',')})`);
  }
  const advertisedHost = (values['rest.advertised.host.name'] as string | null) || (advertisedListener ?? listener).host;
  const advertisedPort = (values['rest.advertised.port'] as number | null) ?? (advertisedListener ?? listener).port;
  const config: WorkerConfig = {
    raw: Object.freeze({ ...raw }),
    bootstrapServers: servers,
    groupId: values['group.id'] as string,
    configTopic: values['config.storage.topic'] as string,
    statusTopic: values['status.storage.topic'] as string,
    offsetTopic: values['offset.storage.topic'] as string,
    configReplicationFactor: values['config.storage.replication.factor'] as number,
    statusReplicationFactor: values['status.storage.replication.factor'] as number,
    offsetReplicationFactor: values['offset.storage.replication.factor'] as number,
    statusPartitions: values['status.storage.partitions'] as number,
    offsetPartitions: values['offset.storage.partitions'] as number,
    listener,
    listeners: Object.freeze(parsedListeners),
    advertisedProtocol,
    advertisedUrl: `${advertisedProtocol}://${advertisedHost.includes(':') && !advertisedHost.startsWith('[') ? `[${advertisedHost}]` : advertisedHost}:${advertisedPort}`,
    advertisedHost,
    advertisedPort,
    workerId: `${advertisedHost}:${advertisedPort}`,
    keyConverter: values['key.converter'] as string,
    valueConverter: values['value.converter'] as string,
    headerConverter: values['header.converter'] as string,
    pluginPath: (values['plugin.path'] as string[]).filter((p) => p !== ''),
    offsetFlushIntervalMs: values['offset.flush.interval.ms'] as number,
    taskShutdownTimeoutMs: values['task.shutdown.graceful.timeout.ms'] as number,
    corsOrigin: values['access.control.allow.origin'] as string,
    corsMethods: values['access.control.allow.methods'] as string,
    topicTracking: values['topic.tracking.enable'] as boolean,
    topicTrackingReset: values['topic.tracking.allow.reset'] as boolean,
    logLevel: values['log.level'] as string,
    logFormat: (values['log.format'] as string).toLowerCase() as 'text' | 'json',
    metricsListener: (values['metrics.listener'] as string).trim() === '' ? null : metricsListenerOf(values['metrics.listener'] as string),
    kafkaClient: (values['kafka.client'] as string).toLowerCase() as KafkaClientKind,
    taskThreads: values['kappa.task.threads'] as boolean,
    taskThreadYoungGenerationMb: values['kappa.task.thread.young.generation.mb'] as number,
    sessionTimeoutMs: values['session.timeout.ms'] as number,
    heartbeatIntervalMs: values['heartbeat.interval.ms'] as number,
    rebalanceTimeoutMs: values['rebalance.timeout.ms'] as number,
    scheduledRebalanceMaxDelayMs: values['scheduled.rebalance.max.delay.ms'] as number,
    clientOverridePolicy: ({ all: 'All', none: 'None', principal: 'Principal' } as const)[(values['connector.client.config.override.policy'] as string).toLowerCase() as 'all' | 'none' | 'principal'],
    securityProps: Object.freeze(securityPropsOf(raw)),
    consumerProps: Object.freeze(withPrefix(raw, 'consumer.')),
    producerProps: Object.freeze(withPrefix(raw, 'producer.')),
    adminProps: Object.freeze(withPrefix(raw, 'admin.')),
    restMaxRequestBytes: values['kappa.rest.request.max.bytes'] as number,
    restMaxRequestDepth: values['kappa.rest.request.max.depth'] as number,
    restAllowedHosts: Object.freeze((values['kappa.rest.allowed.hosts'] as string[]).filter((h) => h !== '')),
    maxTasksPerConnector: values['kappa.connector.tasks.max.limit'] as number,
    maxConnectorConfigBytes: values['kappa.connector.config.max.bytes'] as number,
  };
  // Kafka security settings are checked now (files read, JAAS parsed, key passwords tried), so a
  // mistake stops the worker with the key named instead of showing as a broker that never answers
  for (const role of ['consumer', 'producer', 'admin'] as const) {
    resolveKafkaSecurity([{ prefix: '', props: config.securityProps }, { prefix: `${role}.`, props: config[`${role}Props`] }]);
  }
  return Object.freeze(config);
}

/** Worker-level converter settings (`key.converter.*`) are inherited by connectors that don't set their own. */
export function workerConverterConfig(config: WorkerConfig, prefix: 'key.converter' | 'value.converter' | 'header.converter'): Record<string, string> {
  return withPrefix(config.raw, prefix + '.');
}
