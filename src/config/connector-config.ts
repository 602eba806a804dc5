/**
 * The framework's connector config (Connect's ConnectorConfig + SinkConnectorConfig) and its
 * "enriched" form: one group per transformation and predicate alias with the plugin's own keys
 * prefixed by `transforms.<alias>.` / `predicates.<alias>.`. Validation here feeds both the
 * validate endpoint (ConfigInfos) and create/PUT (400 listing the errors).
 */
import type { ConfigDef, ConfigKey, ConfigMap, PluginType } from '../api';
import type { PluginRegistry } from '../plugins/registry';
import { parseConfig, parseValue, validators, type ParsedConfig } from './parse';
import { isSecretClientKey } from '../kafka/security';

const COMMON = 'Common';
const TRANSFORMS = 'Transforms';
const PREDICATES = 'Predicates';
const ERRORS = 'Error Handling';

/** Java's Character.isISOControl: U+0000–U+001F and U+007F–U+009F. */
const isIsoControl = (c: string) => { const n = c.codePointAt(0)!; return n <= 0x1f || (n >= 0x7f && n <= 0x9f); };

const noControlChars = (value: unknown, name: string) =>
  typeof value === 'string' && value.trim() === ''
    ? `Invalid value ${value} for configuration ${name}: String may not be empty`
    : typeof value === 'string' && [...value].some(isIsoControl)
      ? `Invalid value ${value} for configuration ${name}: String may not contain control sequences but had the following ASCII chars: ${[...value].filter(isIsoControl).map((c) => c.codePointAt(0)).join(', ')}`
      : undefined;

/** The framework keys every connector has, in Connect's group order. */
export function frameworkConfigDef(): ConfigDef {
  let common = 0;
  let errors = 0;
  return [
    { name: 'name', type: 'STRING', importance: 'HIGH', documentation: 'Globally unique name of this connector; it cannot be changed.', group: COMMON, orderInGroup: ++common, width: 'MEDIUM', displayName: 'Connector name', validator: noControlChars },
    { name: 'connector.class', type: 'STRING', importance: 'HIGH', documentation: 'Class of this connector: fully qualified name, simple name, or simple name without the "Connector" suffix.', group: COMMON, orderInGroup: ++common, width: 'LONG', displayName: 'Connector class' },
    { name: 'tasks.max', type: 'INT', default: 1, importance: 'HIGH', documentation: 'Maximum number of tasks to run for this connector.', group: COMMON, orderInGroup: ++common, width: 'SHORT', displayName: 'Tasks max', validator: validators.atLeast(1) },
    { name: 'tasks.max.enforce', type: 'BOOLEAN', default: true, importance: 'LOW', documentation: '(Deprecated) Fail the connector if it generates more task configs than tasks.max.', group: COMMON, orderInGroup: ++common, width: 'SHORT', displayName: 'Enforce tasks max' },
    { name: 'key.converter', type: 'CLASS', default: null, importance: 'LOW', documentation: 'Converter for record keys; empty inherits the worker setting.', group: COMMON, orderInGroup: ++common, width: 'SHORT', displayName: 'Key converter class' },
    { name: 'value.converter', type: 'CLASS', default: null, importance: 'LOW', documentation: 'Converter for record values; empty inherits the worker setting.', group: COMMON, orderInGroup: ++common, width: 'SHORT', displayName: 'Value converter class' },
    { name: 'header.converter', type: 'CLASS', default: null, importance: 'LOW', documentation: 'Converter for record headers; empty inherits the worker setting.', group: COMMON, orderInGroup: ++common, width: 'SHORT', displayName: 'Header converter class' },
    { name: 'config.action.reload', type: 'STRING', default: 'restart', importance: 'LOW', documentation: 'What to do when external config providers change: restart or none.', group: COMMON, orderInGroup: ++common, width: 'MEDIUM', displayName: 'Reload action', validator: validators.oneOf('none', 'restart'), recommendedValues: ['none', 'restart'] },
    { name: 'transforms', type: 'LIST', default: '', importance: 'LOW', documentation: 'Aliases of the transformations to apply to records, in order.', group: TRANSFORMS, orderInGroup: 1, width: 'LONG', displayName: 'Transforms' },
    { name: 'predicates', type: 'LIST', default: '', importance: 'LOW', documentation: 'Aliases of the predicates used by transformations.', group: PREDICATES, orderInGroup: 1, width: 'LONG', displayName: 'Predicates' },
    { name: 'errors.retry.timeout', type: 'LONG', default: 0, importance: 'MEDIUM', documentation: 'Total time in ms to retry a failed operation; 0 disables retries, -1 retries forever.', group: ERRORS, orderInGroup: ++errors, width: 'MEDIUM', displayName: 'Retry Timeout for Errors' },
    { name: 'errors.retry.delay.max.ms', type: 'LONG', default: 60000, importance: 'MEDIUM', documentation: 'Upper bound in ms of the exponential backoff between retries.', group: ERRORS, orderInGroup: ++errors, width: 'MEDIUM', displayName: 'Maximum Delay Between Retries for Errors' },
    { name: 'errors.tolerance', type: 'STRING', default: 'none', importance: 'MEDIUM', documentation: "'none' fails the task on the first error; 'all' skips problematic records.", group: ERRORS, orderInGroup: ++errors, width: 'SHORT', displayName: 'Error Tolerance', validator: validators.oneOf('none', 'all'), recommendedValues: ['none', 'all'] },
    { name: 'errors.log.enable', type: 'BOOLEAN', default: false, importance: 'MEDIUM', documentation: 'Log every error with the failed operation and record details.', group: ERRORS, orderInGroup: ++errors, width: 'SHORT', displayName: 'Log Errors' },
    { name: 'errors.log.include.messages', type: 'BOOLEAN', default: false, importance: 'MEDIUM', documentation: 'Include the record (topic, partition, offset, timestamp) in error logs.', group: ERRORS, orderInGroup: ++errors, width: 'SHORT', displayName: 'Log Error Details' },
  ];
}

export function sinkConfigDef(): ConfigDef {
  const base = frameworkConfigDef();
  const commonCount = base.filter((k) => k.group === COMMON).length;
  const errorsCount = base.filter((k) => k.group === ERRORS).length;
  const sinkKeys: ConfigKey[] = [
    { name: 'topics', type: 'LIST', default: '', importance: 'HIGH', documentation: 'Topics to consume, comma separated.', group: COMMON, orderInGroup: commonCount + 1, width: 'LONG', displayName: 'Topics' },
    { name: 'topics.regex', type: 'STRING', default: '', importance: 'HIGH', documentation: 'Regular expression of the topics to consume (instead of topics).', group: COMMON, orderInGroup: commonCount + 2, width: 'LONG', displayName: 'Topics regex', validator: validators.regex() },
    { name: 'errors.deadletterqueue.topic.name', type: 'STRING', default: '', importance: 'MEDIUM', documentation: 'Topic to which records that failed in conversion or transformation are sent; empty disables the DLQ.', group: ERRORS, orderInGroup: errorsCount + 1, width: 'MEDIUM', displayName: 'Dead Letter Queue Topic Name' },
    { name: 'errors.deadletterqueue.topic.replication.factor', type: 'SHORT', default: 3, importance: 'MEDIUM', documentation: 'Replication factor of the DLQ topic when it is created.', group: ERRORS, orderInGroup: errorsCount + 2, width: 'MEDIUM', displayName: 'Dead Letter Queue Topic Replication Factor' },
    { name: 'errors.deadletterqueue.context.headers.enable', type: 'BOOLEAN', default: false, importance: 'MEDIUM', documentation: 'Add __connect.errors.* headers with the error context to DLQ records.', group: ERRORS, orderInGroup: errorsCount + 3, width: 'MEDIUM', displayName: 'Enable Error Context Headers' },
  ];
  // Keep Connect's order: Common keys, topics keys, then the rest.
  const common = base.filter((k) => k.group === COMMON);
  const rest = base.filter((k) => k.group !== COMMON);
  return [...common, ...sinkKeys.slice(0, 2), ...rest, ...sinkKeys.slice(2)];
}

function prefixed(def: ConfigDef, prefix: string, group: string): ConfigKey[] {
  return def.map((k) => ({ ...k, name: prefix + k.name, group, dependents: (k.dependents ?? []).map((d) => prefix + d) }));
}

export interface ConfigValueReport {
  key: ConfigKey | null;
  name: string;
  /** the value as given, or the default */
  value: string | null;
  errors: string[];
}

export interface ValidationReport {
  connectorClass: string;
  groups: string[];
  values: ConfigValueReport[];
  errorCount: number;
}

function aliasList(config: ConfigMap, key: string): string[] {
  const raw = config[key];
  return raw === undefined || raw.trim() === '' ? [] : raw.trim().split(/\s*,\s*/);
}

function stringify(key: ConfigKey, raw: string | undefined): string | null {
  if (raw !== undefined) return key.type === 'PASSWORD' ? '[hidden]' : raw;
  if (!('default' in key) || key.default === null || key.default === undefined) return null;
  if (key.type === 'PASSWORD') return '[hidden]';
  return Array.isArray(key.default) ? key.default.join(',') : String(key.default);
}

export interface ValidationOptions {
  /** the worker's connector.client.config.override.policy */
  readonly overridePolicy?: 'All' | 'None' | 'Principal';
  /** the largest tasks.max this worker runs (kappa.connector.tasks.max.limit) */
  readonly maxTasks?: number;
  /** the largest config, UTF-8 bytes of keys and values (kappa.connector.config.max.bytes) */
  readonly maxConfigBytes?: number;
}

/**
 * Validates a connector config against the framework keys, the connector's own keys and every
 * transformation/predicate alias, and against the worker's limits. Throws only when
 * `connector.class` is unknown (Connect's 500).
 */
export function validateConnectorConfig(given: Readonly<Record<string, string | null>>, registry: PluginRegistry, options: ValidationOptions = {}): ValidationReport {
  const overridePolicy = options.overridePolicy ?? 'All';
  // A null value is an error of its own key; the rest is validated as if the key were absent.
  const nullKeys = Object.keys(given).filter((k) => given[k] === null);
  const config: ConfigMap = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null)) as ConfigMap;
  const connectorClass = config['connector.class'] ?? '';
  const connector = registry.findConnector(connectorClass);
  if (!connector) throw new UnknownConnectorError(registry.unknownConnectorMessage(connectorClass));

  const reports: ConfigValueReport[] = [];
  const groups: string[] = [];
  const seen = new Set<string>();
  const addDef = (def: ConfigDef, extraErrors: Record<string, string[]> = {}) => {
    const parsed = parseConfig(def, config);
    for (const key of def) {
      if (seen.has(key.name)) continue;
      seen.add(key.name);
      if (key.group && !groups.includes(key.group)) groups.push(key.group);
      reports.push({ key, name: key.name, value: stringify(key, config[key.name]), errors: [...parsed.errors[key.name]!, ...(extraErrors[key.name] ?? [])] });
    }
    return parsed.values;
  };
  const report = (name: string) => reports.find((r) => r.name === name);

  const framework = withConverterChoices(connector.type === 'sink' ? sinkConfigDef() : frameworkConfigDef(), registry);
  const values = addDef(framework);

  if (connector.type === 'sink') validateSinkTopics(config, values, report);

  // Limits: tasks.max decides how many task configs are written and how many consumers run; the
  // config is copied into every task config and must fit a record of the config topic.
  const tasksMax = values['tasks.max'];
  if (options.maxTasks !== undefined && typeof tasksMax === 'number' && tasksMax > options.maxTasks) {
    report('tasks.max')?.errors.push(`Invalid value ${tasksMax} for configuration tasks.max: Value must be no more than ${options.maxTasks} (the worker property kappa.connector.tasks.max.limit)`);
  }
  if (options.maxConfigBytes !== undefined) {
    let total = 0;
    let largest = { key: '', bytes: -1 };
    for (const [k, v] of Object.entries(config)) {
      const bytes = Buffer.byteLength(k) + Buffer.byteLength(v);
      total += bytes;
      if (bytes > largest.bytes) largest = { key: k, bytes };
    }
    if (total > options.maxConfigBytes) {
      // reported on the largest entry, without echoing its value
      const message = `The connector configuration is ${total} bytes, more than the worker's limit of ${options.maxConfigBytes} bytes (kappa.connector.config.max.bytes); its largest entry is '${largest.key}' (${largest.bytes} bytes)`;
      const r = report(largest.key);
      if (r) r.errors.push(message);
      else reports.push({ key: null, name: largest.key, value: null, errors: [message] });
    }
  }

  // converters named on the connector must exist
  for (const [key, types] of [['key.converter', ['converter']], ['value.converter', ['converter']], ['header.converter', ['header_converter', 'converter']]] as const) {
    const cls = config[key];
    if (cls && !registry.find(cls, types as readonly PluginType[])) {
      report(key)?.errors.push(`Invalid value ${cls} for configuration ${key}: Class ${cls} could not be found.`);
    }
  }

  // transformations and predicates: one group per alias
  const transformAliases = aliasList(config, 'transforms');
  const predicateAliases = aliasList(config, 'predicates');
  if (new Set(transformAliases).size !== transformAliases.length) report('transforms')?.errors.push(`Invalid value ${config['transforms']} for configuration transforms: Duplicate alias provided.`);
  if (new Set(predicateAliases).size !== predicateAliases.length) report('predicates')?.errors.push(`Invalid value ${config['predicates']} for configuration predicates: Duplicate alias provided.`);
  for (const alias of new Set(transformAliases)) {
    const prefix = `transforms.${alias}.`;
    const group = `Transforms: ${alias}`;
    const typeName = config[prefix + 'type'];
    const plugin = typeName ? registry.find(typeName, ['transformation']) : undefined;
    const base: ConfigKey[] = [
      { name: prefix + 'type', type: 'CLASS', importance: 'HIGH', documentation: 'Class for the transformation.', group, orderInGroup: 0, width: 'LONG', displayName: 'Transformation type for ' + alias, recommendedValues: classesOf(registry, ['transformation']) },
      { name: prefix + 'predicate', type: 'STRING', default: null, importance: 'MEDIUM', documentation: 'Alias of a predicate: the transformation applies only to records that match it.', group, orderInGroup: 1, width: 'LONG', displayName: 'Predicate for ' + alias },
      { name: prefix + 'negate', type: 'BOOLEAN', default: false, importance: 'MEDIUM', documentation: 'Apply the transformation to records that do not match the predicate.', group, orderInGroup: 2, width: 'SHORT', displayName: 'Negate for ' + alias },
    ];
    const extra: Record<string, string[]> = {};
    if (typeName && !plugin) extra[prefix + 'type'] = [`Invalid value ${typeName} for configuration ${prefix}type: Class ${typeName} could not be found.`];
    const predicate = config[prefix + 'predicate'];
    if (predicate !== undefined && predicate !== '' && !predicateAliases.includes(predicate)) {
      extra[prefix + 'predicate'] = [`Invalid value ${predicate} for configuration ${prefix}predicate: There is no predicate with alias ${predicate} in predicates.`];
    }
    if (config[prefix + 'negate'] !== undefined && (predicate === undefined || predicate === '')) {
      extra[prefix + 'negate'] = [`Config '${prefix}negate' was provided but there is no config '${prefix}predicate' defining a predicate to be negated.`];
    }
    addDef([...base, ...(plugin ? prefixed(plugin.descriptor.configDef, prefix, group) : [])], extra);
  }
  for (const alias of new Set(predicateAliases)) {
    const prefix = `predicates.${alias}.`;
    const group = `Predicates: ${alias}`;
    const typeName = config[prefix + 'type'];
    const plugin = typeName ? registry.find(typeName, ['predicate']) : undefined;
    const extra: Record<string, string[]> = {};
    if (typeName && !plugin) extra[prefix + 'type'] = [`Invalid value ${typeName} for configuration ${prefix}type: Class ${typeName} could not be found.`];
    addDef([
      { name: prefix + 'type', type: 'CLASS', importance: 'HIGH', documentation: 'Class for the predicate.', group, orderInGroup: 0, width: 'LONG', displayName: 'Predicate type for ' + alias, recommendedValues: classesOf(registry, ['predicate']) },
      ...(plugin ? prefixed(plugin.descriptor.configDef, prefix, group) : []),
    ], extra);
  }

  // the connector's own keys, then its custom validation
  addDef(connector.configDef);
  // exactly-once needs a sink that writes to Kafka only through the task's producer (it then has
  // the processing.guarantee key, api/config.ts EXACTLY_ONCE_CONFIG_DEF); any other sink refuses it
  const guarantee = config['processing.guarantee'];
  if (guarantee !== undefined && guarantee.trim() !== 'at_least_once' && !connector.configDef.some((k) => k.name === 'processing.guarantee')) {
    reports.push({
      key: null, name: 'processing.guarantee', value: guarantee,
      errors: [`Invalid value ${guarantee} for configuration processing.guarantee: ${connector.className} cannot take part in exactly-once processing: it does not write to Kafka through the task's producer (only sinks whose output is Kafka, such as io.kappa.connect.kafka.KafkaTopicSinkConnector, accept exactly_once_v2)`],
    });
  }
  try {
    const custom = connector.create().validate?.(config) ?? {};
    for (const [key, errs] of Object.entries(custom)) {
      const r = report(key);
      if (r) r.errors.push(...errs);
      else reports.push({ key: null, name: key, value: config[key] ?? null, errors: [...errs] });
    }
  } catch (e) {
    report('connector.class')?.errors.push((e as Error).message);
  }

  // client overrides, checked against the worker's connector.client.config.override.policy
  if (overridePolicy !== 'All') {
    const allowed = overridePolicy === 'Principal' ? ['sasl.jaas.config', 'sasl.mechanism', 'security.protocol'] : [];
    for (const key of Object.keys(config)) {
      const m = /^(consumer|producer|admin)\.override\.(.+)$/.exec(key);
      if (!m || allowed.includes(m[2]!)) continue;
      const message = `The '${overridePolicy}' policy does not allow '${m[2]}' to be overridden in the connector configuration.`;
      const r = report(key);
      if (r) r.errors.push(message);
      // a refused override may still be a password: shown hidden, as Connect shows PASSWORD values
      else reports.push({ key: null, name: key, value: isSecretClientKey(m[2]!) ? '[hidden]' : config[key] ?? null, errors: [message] });
    }
  }

  for (const key of nullKeys) {
    const message = 'Null value can not be supplied as the configuration value.';
    const r = report(key);
    if (r) r.errors.push(message);
    else reports.push({ key: null, name: key, value: null, errors: [message] });
  }

  const errorCount = reports.reduce((n, r) => n + r.errors.length, 0);
  return { connectorClass, groups, values: reports, errorCount };
}

/** Class names of the installed plugins of these types, in the registry's listing order (UIs show them as a drop-down). */
function classesOf(registry: PluginRegistry, types: readonly PluginType[]): string[] {
  return [...new Set(registry.all().filter((e) => types.includes(e.descriptor.type)).map((e) => e.descriptor.className))];
}

/**
 * The converter keys with the installed converters as recommended values, as Connect 4.1's
 * validate answers them (header.converter: the header converters; key/value: the converters).
 */
function withConverterChoices(def: ConfigDef, registry: PluginRegistry): ConfigKey[] {
  return def.map((k) => {
    if (k.name === 'key.converter' || k.name === 'value.converter') return { ...k, recommendedValues: classesOf(registry, ['converter']) };
    if (k.name === 'header.converter') return { ...k, recommendedValues: classesOf(registry, ['header_converter']) };
    return k;
  });
}

export interface WorkerConverterDefaults {
  readonly 'key.converter'?: string;
  readonly 'value.converter'?: string;
  readonly 'header.converter'?: string;
}

/**
 * The converter keys' defaults are the worker's converters (what the connector gets when it sets
 * none), as Connect's validate shows them: in the definition's `default_value` and, for keys the
 * config leaves unset, in the value. Only the validate answer is enriched this way; the plugin
 * config endpoint keeps the null defaults, as Connect's does.
 */
export function withWorkerConverterDefaults(report: ValidationReport, defaults: WorkerConverterDefaults, given: Readonly<Record<string, string | null>>): ValidationReport {
  const values = report.values.map((v) => {
    const d = (defaults as Record<string, string | undefined>)[v.name];
    if (!d || !v.key) return v;
    const unset = given[v.name] === undefined || given[v.name] === null;
    return { ...v, key: { ...v.key, default: d }, value: unset ? d : v.value };
  });
  return { ...report, values };
}

function validateSinkTopics(config: ConfigMap, values: ParsedConfig, report: (n: string) => ConfigValueReport | undefined): void {
  const topics = (values['topics'] as string[] | null) ?? [];
  const regex = (values['topics.regex'] as string | null) ?? '';
  const hasTopics = topics.length > 0;
  const hasRegex = regex !== '';
  if (hasTopics && hasRegex) {
    const msg = 'topics and topics.regex are mutually exclusive options, but both are set.';
    report('topics')?.errors.push(msg);
    report('topics.regex')?.errors.push(msg);
  } else if (!hasTopics && !hasRegex) {
    const msg = 'Must configure one of topics or topics.regex';
    report('topics')?.errors.push(msg);
    report('topics.regex')?.errors.push(msg);
  }
  const dlq = (config['errors.deadletterqueue.topic.name'] ?? '').trim();
  if (dlq !== '') {
    let clash = topics.includes(dlq);
    if (!clash && hasRegex) { try { clash = new RegExp(`^(?:${regex})$`).test(dlq); } catch { /* reported elsewhere */ } }
    if (clash) {
      report('errors.deadletterqueue.topic.name')?.errors.push(
        `The DLQ topic '${dlq}' may not be included in the list of topics ('topics=${topics.join(',')}') or match the regex ('topics.regex=${regex}') to be consumed, which would lead to an infinite loop`);
    }
  }
}

export class UnknownConnectorError extends Error {
  override name = 'ConnectException';
}

/** Connect's 400 message for create/PUT with an invalid config. */
export function invalidConfigMessage(report: ValidationReport): string {
  const lines: string[] = [];
  for (const v of report.values) for (const e of v.errors) lines.push(e);
  return `Connector configuration is invalid and contains the following ${report.errorCount} error(s):\n${lines.join('\n')}\n` +
    'You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`';
}

/** Renders ConfigKeyInfo as the REST API shows it. */
export function renderKey(key: ConfigKey) {
  const required = !('default' in key);
  return {
    name: key.name,
    type: key.type,
    required,
    default_value: required ? null : stringify(key, undefined),
    importance: key.importance,
    documentation: key.documentation,
    group: key.group ?? null,
    width: key.width ?? 'NONE',
    display_name: key.displayName ?? key.name,
    dependents: [...(key.dependents ?? [])],
    order: key.orderInGroup ?? -1,
  };
}

/** Renders a validation report as Connect's ConfigInfos. */
export function renderConfigInfos(report: ValidationReport) {
  return {
    name: report.connectorClass,
    error_count: report.errorCount,
    groups: report.groups,
    configs: report.values.map((v) => ({
      definition: v.key ? renderKey(v.key) : null,
      value: {
        name: v.name,
        value: v.value,
        recommended_values: [...(v.key?.recommendedValues ?? [])],
        errors: v.errors,
        visible: true,
      },
    })),
  };
}

/** Parsed framework values of a (validated) connector config. */
export function parseFramework(config: ConfigMap, isSink: boolean): ParsedConfig {
  const def = isSink ? sinkConfigDef() : frameworkConfigDef();
  const out: ParsedConfig = {};
  for (const key of def) {
    try { out[key.name] = parseValue(key, config[key.name]); } catch { out[key.name] = null; }
  }
  return out;
}
