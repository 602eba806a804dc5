import { validateConnectorConfig, renderConfigInfos, invalidConfigMessage, UnknownConnectorError } from '../../../src/config/connector-config';
import { PluginRegistry, prunedName } from '../../../src/plugins/registry';
import { builtinPlugins } from '../../../src/plugins/builtins';
import { parseSinkOffsets } from '../../../src/herder/herder';

const registry = new PluginRegistry(builtinPlugins());

describe('plugin lookup', () => {
  it('finds connectors by class name, simple name and simple name without the Connector suffix', () => {
    for (const n of ['io.kappa.connect.file.FileStreamSinkConnector', 'FileStreamSinkConnector', 'FileStreamSink']) {
      expect(registry.findConnector(n)?.className).toBe('io.kappa.connect.file.FileStreamSinkConnector');
    }
    expect(registry.findConnector('Nope')).toBeUndefined();
    expect(prunedName('a.b.JsonConverter', 'converter')).toBe('Json');
  });
});

describe('connector config validation', () => {
  it('reports missing and invalid values inside ConfigInfos with groups in definition order', () => {
    const report = validateConnectorConfig({ 'connector.class': 'FileStreamSink', 'tasks.max': '0', 'errors.tolerance': 'some' }, registry);
    const infos = renderConfigInfos(report);
    expect(infos.name).toBe('FileStreamSink');
    expect(infos.groups.slice(0, 4)).toEqual(['Common', 'Transforms', 'Predicates', 'Error Handling']);
    const byName = Object.fromEntries(infos.configs.map((c) => [c.value.name, c]));
    expect(byName['name']!.value.errors).toEqual(['Missing required configuration "name" which has no default value.']);
    expect(byName['name']!.definition).toEqual(expect.objectContaining({ required: true, default_value: null, type: 'STRING', order: 1 }));
    expect(byName['tasks.max']!.value.errors[0]).toMatch(/Value must be at least 1/);
    expect(byName['topics']!.value.errors).toEqual(['Must configure one of topics or topics.regex']);
    expect(byName['errors.tolerance']!.value.errors[0]).toMatch(/String must be one of: none, all/);
    expect(infos.error_count).toBe(infos.configs.reduce((n, c) => n + c.value.errors.length, 0));
    expect(invalidConfigMessage(report)).toMatch(/^Connector configuration is invalid and contains the following \d+ error\(s\):\n/);
  });

  it('adds a group per transform and predicate alias and checks negate without predicate', () => {
    const report = validateConnectorConfig({
      name: 'x', 'connector.class': 'FileStreamSink', topics: 't',
      transforms: 'f', 'transforms.f.type': 'org.apache.kafka.connect.transforms.Filter', 'transforms.f.negate': 'true',
      predicates: 'p', 'predicates.p.type': 'TopicNameMatches', 'predicates.p.pattern': 'a.*',
    }, registry);
    expect(report.groups).toEqual(expect.arrayContaining(['Transforms: f', 'Predicates: p']));
    const negate = report.values.find((v) => v.name === 'transforms.f.negate')!;
    expect(negate.errors[0]).toMatch(/was provided but there is no config 'transforms.f.predicate'/);
    expect(report.values.some((v) => v.name === 'predicates.p.pattern')).toBe(true);
  });

  it('rejects topics together with topics.regex, a DLQ among the topics, and null values', () => {
    const report = validateConnectorConfig({ name: 'x', 'connector.class': 'FileStreamSink', topics: 'a,dlq', 'topics.regex': 'b.*', 'errors.deadletterqueue.topic.name': 'dlq', file: null }, registry);
    const errs = (k: string) => report.values.find((v) => v.name === k)!.errors;
    expect(errs('topics')[0]).toBe('topics and topics.regex are mutually exclusive options, but both are set.');
    expect(errs('errors.deadletterqueue.topic.name')[0]).toMatch(/may not be included in the list of topics/);
    expect(errs('file')).toEqual(['Null value can not be supplied as the configuration value.']);
  });

  it('throws for an unknown connector class with the message clients match on', () => {
    expect(() => validateConnectorConfig({ 'connector.class': 'com.acme.Missing' }, registry)).toThrow(UnknownConnectorError);
    expect(() => validateConnectorConfig({ 'connector.class': 'com.acme.Missing' }, registry))
      .toThrow(/^Failed to find any class that implements Connector and which name matches com.acme.Missing, available connectors are: /);
  });
});

describe('sink offsets body', () => {
  it('parses partitions with offsets or null', () => {
    expect(parseSinkOffsets({ offsets: [
      { partition: { kafka_topic: 't', kafka_partition: 1 }, offset: { kafka_offset: 5 } },
      { partition: { kafka_topic: 't', kafka_partition: 0 }, offset: null },
    ] })).toEqual([{ topic: 't', partition: 1, offset: 5 }, { topic: 't', partition: 0, offset: null }]);
  });
  it.each([
    [{}, 'Partitions / offsets need to be provided for an alter offsets request'],
    [{ offsets: [] }, 'Partitions / offsets need to be provided for an alter offsets request'],
    [{ offsets: [{ partition: { kafka_partition: 0 }, offset: null }] }, /kafka_topic/],
    [{ offsets: [{ partition: { kafka_topic: 't', kafka_partition: -1 }, offset: null }] }, /kafka_partition/],
    [{ offsets: [{ partition: { kafka_topic: 't', kafka_partition: 0 }, offset: { kafka_offset: 'x' } }] }, /kafka_offset/],
  ])('rejects a malformed body (%#)', (body, message) => {
    expect(() => parseSinkOffsets(body)).toThrow(message);
  });
});

describe('worker limits in connector validation', () => {
  const sink = { name: 'x', 'connector.class': 'KafkaTopicSink', topics: 'in', 'target.topic': 'out' };
  const errorsOf = (r: ReturnType<typeof validateConnectorConfig>, key: string) => r.values.find((v) => v.name === key)?.errors ?? [];

  it('refuses tasks.max above the worker limit, with the limit and the property named', () => {
    const r = validateConnectorConfig({ ...sink, 'tasks.max': '1000000' }, registry, { maxTasks: 256 });
    expect(r.errorCount).toBe(1);
    expect(errorsOf(r, 'tasks.max')).toEqual(['Invalid value 1000000 for configuration tasks.max: Value must be no more than 256 (the worker property kappa.connector.tasks.max.limit)']);
    expect(invalidConfigMessage(r)).toMatch(/^Connector configuration is invalid and contains the following 1 error\(s\):\nInvalid value 1000000 for configuration tasks.max/);
    expect(validateConnectorConfig({ ...sink, 'tasks.max': '256' }, registry, { maxTasks: 256 }).errorCount).toBe(0);
  });

  it('refuses a config larger than the worker limit on its largest entry, without echoing the value', () => {
    const r = validateConnectorConfig({ ...sink, 'transforms.x.doc': 'y'.repeat(5000) }, registry, { maxConfigBytes: 4096 });
    const message = r.values.flatMap((v) => v.errors).join('\n');
    expect(message).toMatch(/^The connector configuration is \d+ bytes, more than the worker's limit of 4096 bytes \(kappa.connector.config.max.bytes\); its largest entry is 'transforms.x.doc' \(5016 bytes\)$/);
    expect(message).not.toContain('yyyy');
    expect(validateConnectorConfig(sink, registry, { maxConfigBytes: 4096 }).errorCount).toBe(0);
  });
});
