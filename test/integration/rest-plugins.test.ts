/**
 * /connector-plugins (+connectorsOnly), plugin config definitions, and config validation.
 * The fixtures under test/fixtures/plugins are on plugin.path.
 */
import {
  closeKafka,
  expectError,
  expectStatus,
  FILE_SINK,
  KAFKA_TOPIC_SINK,
  PACKAGE_JSON_SINK,
  RECORDING_SINK,
  FAILING_SINK,
  startWorker,
  stopAllWorkers,
  Worker,
} from './helpers';

let worker: Worker;

beforeAll(async () => {
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

interface PluginInfo {
  class: string;
  type: string;
  version?: string;
}

const TYPE_ORDER = ['sink', 'source', 'transformation', 'predicate', 'converter', 'header_converter'];

describe('GET /connector-plugins', () => {
  it('lists connector plugins only by default: built-ins and the plugin.path fixtures', async () => {
    const res = await worker.api.get<PluginInfo[]>('/connector-plugins');
    expectStatus(res, 200);
    const plugins = res.body;
    expect(plugins).toEqual(
      expect.arrayContaining([
        { class: RECORDING_SINK, type: 'sink', version: '1.2.3' },
        { class: FAILING_SINK, type: 'sink', version: '0.0.1' },
        // loaded through package.json "main", not index.js
        { class: PACKAGE_JSON_SINK, type: 'sink', version: '0.3.0' },
        expect.objectContaining({ class: FILE_SINK, type: 'sink' }),
        expect.objectContaining({ class: KAFKA_TOPIC_SINK, type: 'sink' }),
      ]),
    );
    for (const p of plugins) expect(['sink', 'source']).toContain(p.type);
    // no duplicates
    expect(new Set(plugins.map((p) => p.class)).size).toBe(plugins.length);
  });

  it('accepts a trailing slash and connectorsOnly=true gives the same list', async () => {
    const plain = await worker.api.get('/connector-plugins');
    const slash = await worker.api.get('/connector-plugins/');
    const only = await worker.api.get('/connector-plugins?connectorsOnly=true');
    expectStatus(slash, 200);
    expectStatus(only, 200);
    expect(slash.body).toEqual(plain.body);
    expect(only.body).toEqual(plain.body);
  });

  it('connectorsOnly=false adds converters, transformations and predicates, in Connect order', async () => {
    const res = await worker.api.get<PluginInfo[]>('/connector-plugins?connectorsOnly=false');
    expectStatus(res, 200);
    const plugins = res.body;
    // a class may appear once per type (Connect lists JsonConverter as converter and header_converter)
    const has = (cls: string, type: string) => plugins.some((p) => p.class === cls && p.type === type);
    for (const c of [
      'org.apache.kafka.connect.json.JsonConverter',
      'org.apache.kafka.connect.storage.StringConverter',
      'org.apache.kafka.connect.converters.ByteArrayConverter',
    ]) {
      expect([c, has(c, 'converter')]).toEqual([c, true]);
    }
    expect(has('org.apache.kafka.connect.transforms.Filter', 'transformation')).toBe(true);
    expect(has('org.apache.kafka.connect.transforms.InsertField$Value', 'transformation')).toBe(true);
    expect(has('org.apache.kafka.connect.transforms.predicates.TopicNameMatches', 'predicate')).toBe(true);
    expect(plugins).toContainEqual({ class: RECORDING_SINK, type: 'sink', version: '1.2.3' });
    const pairs = plugins.map((p) => `${p.type}:${p.class}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    for (const p of plugins) expect(TYPE_ORDER).toContain(p.type);
    const ranks = plugins.map((p) => TYPE_ORDER.indexOf(p.type));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  });
});

interface ConfigKeyInfo {
  name: string;
  type: string;
  required: boolean;
  default_value: string | null;
  importance: string;
  documentation: string;
  group: string | null;
  width: string;
  display_name: string;
  dependents: string[];
  order: number;
}

describe('GET /connector-plugins/{p}/config', () => {
  it('returns the plugin keys first, then the framework keys, as ConfigKeyInfo', async () => {
    const res = await worker.api.get<ConfigKeyInfo[]>(`/connector-plugins/${RECORDING_SINK}/config`);
    expectStatus(res, 200);
    const defs = res.body;
    expect(defs[0]).toEqual({
      name: 'output.file',
      type: 'STRING',
      required: true,
      default_value: null,
      importance: 'HIGH',
      documentation: 'File the task appends every received record to, as one JSON line.',
      group: 'Recording',
      width: 'LONG',
      display_name: 'Output file',
      dependents: [],
      order: 1,
    });
    expect(defs[1]).toEqual(
      expect.objectContaining({ name: 'events.file', required: false, default_value: '', importance: 'LOW', order: 2 }),
    );
    const names = defs.map((d) => d.name);
    expect(names).toEqual(
      expect.arrayContaining(['name', 'connector.class', 'tasks.max', 'topics', 'topics.regex', 'errors.tolerance', 'transforms']),
    );
    expect(new Set(names).size).toBe(names.length);
    const tasksMax = defs.find((d) => d.name === 'tasks.max');
    expect(tasksMax).toEqual(expect.objectContaining({ type: 'INT', default_value: '1', required: false }));
    for (const d of defs) {
      expect(['BOOLEAN', 'STRING', 'INT', 'SHORT', 'LONG', 'DOUBLE', 'LIST', 'CLASS', 'PASSWORD']).toContain(d.type);
      expect(['HIGH', 'MEDIUM', 'LOW']).toContain(d.importance);
      expect(['NONE', 'SHORT', 'MEDIUM', 'LONG']).toContain(d.width);
      expect(d).not.toHaveProperty('order_in_group');
    }
  });

  it.each(['FileStreamSink', 'FileStreamSinkConnector', FILE_SINK])('resolves %s and lists `file`', async (p) => {
    const res = await worker.api.get<ConfigKeyInfo[]>(`/connector-plugins/${p}/config`);
    expectStatus(res, 200);
    expect(res.body.map((d) => d.name)).toContain('file');
  });

  it('works for converters (JsonConverter lists schemas.enable)', async () => {
    const res = await worker.api.get<ConfigKeyInfo[]>('/connector-plugins/org.apache.kafka.connect.json.JsonConverter/config');
    expectStatus(res, 200);
    expect(res.body.find((d) => d.name === 'schemas.enable')).toEqual(expect.objectContaining({ type: 'BOOLEAN', default_value: 'true' }));
  });

  it('an unknown plugin is 404 "Unknown plugin X."', async () => {
    expectError(await worker.api.get('/connector-plugins/com.acme.Nope/config'), 404, 'Unknown plugin com.acme.Nope.');
  });

  it('the converter keys have a null default here, as Connect renders them outside validate', async () => {
    const res = await worker.api.get<ConfigKeyInfo[]>(`/connector-plugins/${RECORDING_SINK}/config`);
    for (const key of ['key.converter', 'value.converter']) {
      expect(res.body.find((d) => d.name === key)).toEqual(expect.objectContaining({ type: 'CLASS', required: false, default_value: null }));
    }
  });
});

describe('GET /connector-plugins/{p}/config?version= (Connect 4.1, KIP-891)', () => {
  const plain = async () => (await worker.api.get<ConfigKeyInfo[]>(`/connector-plugins/${RECORDING_SINK}/config`)).body;

  it.each(['latest', '1.2.3', '[1.2.3]', '[1.0,2.0)', '(,1.2.3]', '[1.2,)', '(,1.0],[1.2,1.3)'])('version=%s selects the installed 1.2.3', async (v) => {
    const res = await worker.api.get<ConfigKeyInfo[]>(`/connector-plugins/${RECORDING_SINK}/config?version=${encodeURIComponent(v)}`);
    expectStatus(res, 200);
    expect(res.body).toEqual(await plain());
  });

  it.each(['1.2.4', '[2.0,)', '(,1.2.3)', '(1.2.3,2.0]'])('version=%s matches no installed version: 400 naming the available ones', async (v) => {
    const res = await worker.api.get(`/connector-plugins/${RECORDING_SINK}/config?version=${encodeURIComponent(v)}`);
    expectError(res, 400, new RegExp(`^Plugin ${RECORDING_SINK.replace(/\./g, '\\.')} not found that matches the version range .+, available versions: \\[1\\.2\\.3\\]$`));
  });

  it('a malformed version spec is 400', async () => {
    expectError(await worker.api.get(`/connector-plugins/${RECORDING_SINK}/config?version=${encodeURIComponent('[2.0,1.0]')}`), 400, /\[2\.0,1\.0\]/);
  });

  it('works for other plugin types (a transformation at its version)', async () => {
    const plugins = (await worker.api.get<PluginInfo[]>('/connector-plugins?connectorsOnly=false')).body;
    const filter = plugins.find((p) => p.class === 'org.apache.kafka.connect.transforms.Filter')!;
    expectStatus(await worker.api.get(`/connector-plugins/${filter.class}/config?version=${filter.version}`), 200);
    expectError(await worker.api.get(`/connector-plugins/${filter.class}/config?version=99.0.0`), 400);
  });
});

interface ConfigInfos {
  name: string;
  error_count: number;
  groups: string[];
  configs: { definition: ConfigKeyInfo | null; value: { name: string; value: string | null; recommended_values: string[]; errors: string[]; visible: boolean } }[];
}

function valueOf(infos: ConfigInfos, key: string) {
  const entry = infos.configs.find((c) => c.value.name === key);
  if (!entry) throw new Error(`no config entry ${key} in ${JSON.stringify(infos.configs.map((c) => c.value.name))}`);
  return entry;
}

function allErrors(infos: ConfigInfos): string[] {
  return infos.configs.flatMap((c) => c.value.errors);
}

describe('PUT /connector-plugins/{p}/config/validate', () => {
  it('returns 200 with errors inside; name is not required and its absence is just an error', async () => {
    const res = await worker.api.put<ConfigInfos>('/connector-plugins/RecordingSinkConnector/config/validate', {
      'connector.class': RECORDING_SINK,
      topics: 'getPlugins',
    });
    expectStatus(res, 200);
    const infos = res.body;
    expect(infos.name).toBe(RECORDING_SINK);
    expect(infos.error_count).toBe(2);
    expect(allErrors(infos)).toHaveLength(2);
    expect(infos.groups).toEqual(['Common', 'Transforms', 'Predicates', 'Error Handling', 'Recording']);
    const name = valueOf(infos, 'name');
    expect(name.value.errors).toEqual(['Missing required configuration "name" which has no default value.']);
    expect(name.value.value).toBeNull();
    expect(name.value.visible).toBe(true);
    expect(name.definition).toEqual({
      name: 'name',
      type: 'STRING',
      required: true,
      default_value: null,
      importance: 'HIGH',
      documentation: expect.stringMatching(/\S/),
      group: 'Common',
      width: 'MEDIUM',
      display_name: 'Connector name',
      dependents: [],
      order: 1,
    });
    expect(valueOf(infos, 'output.file').value.errors).toEqual([
      'Missing required configuration "output.file" which has no default value.',
    ]);
    expect(valueOf(infos, 'topics').value).toEqual(
      expect.objectContaining({ value: 'getPlugins', errors: [], visible: true, recommended_values: expect.any(Array) }),
    );
  });

  it('a valid config has error_count 0; numbers are coerced to strings', async () => {
    const res = await worker.api.put<ConfigInfos>('/connector-plugins/RecordingSinkConnector/config/validate', {
      'connector.class': RECORDING_SINK,
      name: 'v',
      topics: 't',
      'output.file': '/tmp/x',
      'tasks.max': 3,
    });
    expectStatus(res, 200);
    expect(allErrors(res.body)).toEqual([]);
    expect(res.body.error_count).toBe(0);
    expect(valueOf(res.body, 'tasks.max').value.value).toBe('3');
  });

  it('PASSWORD values are shown as [hidden]', async () => {
    const res = await worker.api.put<ConfigInfos>('/connector-plugins/RecordingSinkConnector/config/validate', {
      'connector.class': RECORDING_SINK,
      name: 'v',
      topics: 't',
      'output.file': '/tmp/x',
      'secret.token': 's3cr3t',
    });
    expectStatus(res, 200);
    expect(res.body.error_count).toBe(0);
    const secret = valueOf(res.body, 'secret.token');
    expect(secret.definition).toEqual(expect.objectContaining({ type: 'PASSWORD' }));
    expect(secret.value.value).toBe('[hidden]');
    expect(res.text).not.toContain('s3cr3t');
  });

  it('a bad INT value is reported on that key', async () => {
    const res = await worker.api.put<ConfigInfos>('/connector-plugins/RecordingSinkConnector/config/validate', {
      'connector.class': RECORDING_SINK,
      name: 'v',
      topics: 't',
      'output.file': '/tmp/x',
      'tasks.max': 'abc',
    });
    expectStatus(res, 200);
    expect(res.body.error_count).toBe(1);
    expect(valueOf(res.body, 'tasks.max').value.errors).toHaveLength(1);
  });

  it('topics and topics.regex together are an error on both keys', async () => {
    const res = await worker.api.put<ConfigInfos>('/connector-plugins/RecordingSinkConnector/config/validate', {
      'connector.class': RECORDING_SINK,
      name: 'v',
      topics: 't',
      'topics.regex': 't.*',
      'output.file': '/tmp/x',
    });
    expectStatus(res, 200);
    const msg = 'topics and topics.regex are mutually exclusive options, but both are set.';
    expect(valueOf(res.body, 'topics').value.errors).toContain(msg);
    expect(valueOf(res.body, 'topics.regex').value.errors).toContain(msg);
    expect(res.body.error_count).toBe(2);
  });

  it('transforms add a "Transforms: <alias>" group with prefixed definitions', async () => {
    const res = await worker.api.put<ConfigInfos>('/connector-plugins/RecordingSinkConnector/config/validate', {
      'connector.class': RECORDING_SINK,
      name: 'v',
      topics: 't',
      'output.file': '/tmp/x',
      transforms: 'ins',
      'transforms.ins.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
      'transforms.ins.static.field': 'src',
      'transforms.ins.static.value': 'it',
    });
    expectStatus(res, 200);
    expect(res.body.groups).toContain('Transforms: ins');
    expect(res.body.error_count).toBe(0);
    expect(valueOf(res.body, 'transforms.ins.type').definition).toEqual(expect.objectContaining({ group: 'Transforms: ins' }));
    expect(valueOf(res.body, 'transforms.ins.static.field').value.value).toBe('src');
  });

  it('converter keys default to the worker\'s converters and recommend the installed ones (Connect 4.1)', async () => {
    const res = await worker.api.put<ConfigInfos>('/connector-plugins/RecordingSinkConnector/config/validate', {
      'connector.class': RECORDING_SINK,
      name: 'v',
      topics: 't',
      'output.file': '/tmp/x',
      'value.converter': 'org.apache.kafka.connect.converters.ByteArrayConverter',
    });
    expectStatus(res, 200);
    const plugins = (await worker.api.get<PluginInfo[]>('/connector-plugins?connectorsOnly=false')).body;
    const converters = plugins.filter((p) => p.type === 'converter').map((p) => p.class);
    const headerConverters = plugins.filter((p) => p.type === 'header_converter').map((p) => p.class);
    expect(converters).toEqual(expect.arrayContaining(['org.apache.kafka.connect.json.JsonConverter', 'io.confluent.connect.avro.AvroConverter']));

    // unset: the worker's default is both the definition's default and the value (the test worker: StringConverter keys)
    const key = valueOf(res.body, 'key.converter');
    expect(key.definition).toEqual(expect.objectContaining({ type: 'CLASS', default_value: 'org.apache.kafka.connect.storage.StringConverter' }));
    expect(key.value.value).toBe('org.apache.kafka.connect.storage.StringConverter');
    expect(key.value.recommended_values).toEqual(converters);
    // set on the connector: the value is the connector's, the default still the worker's
    const value = valueOf(res.body, 'value.converter');
    expect(value.definition).toEqual(expect.objectContaining({ default_value: 'org.apache.kafka.connect.json.JsonConverter' }));
    expect(value.value.value).toBe('org.apache.kafka.connect.converters.ByteArrayConverter');
    expect(value.value.recommended_values).toEqual(converters);
    // header converters: the worker default SimpleHeaderConverter, and the header converter list
    const header = valueOf(res.body, 'header.converter');
    expect(header.definition).toEqual(expect.objectContaining({ default_value: 'org.apache.kafka.connect.storage.SimpleHeaderConverter' }));
    expect(header.value.recommended_values).toEqual(headerConverters);
    expect(headerConverters).toContain('org.apache.kafka.connect.storage.SimpleHeaderConverter');
  });

  it('transforms.<alias>.type and predicates.<alias>.type recommend the installed SMTs and predicates', async () => {
    const res = await worker.api.put<ConfigInfos>('/connector-plugins/RecordingSinkConnector/config/validate', {
      'connector.class': RECORDING_SINK,
      name: 'v',
      topics: 't',
      'output.file': '/tmp/x',
      transforms: 'drop',
      'transforms.drop.type': 'org.apache.kafka.connect.transforms.Filter',
      'transforms.drop.predicate': 'tomb',
      predicates: 'tomb',
      'predicates.tomb.type': 'org.apache.kafka.connect.transforms.predicates.RecordIsTombstone',
    });
    expectStatus(res, 200);
    expect(res.body.error_count).toBe(0);
    const plugins = (await worker.api.get<PluginInfo[]>('/connector-plugins?connectorsOnly=false')).body;
    const smts = plugins.filter((p) => p.type === 'transformation').map((p) => p.class);
    const predicates = plugins.filter((p) => p.type === 'predicate').map((p) => p.class);
    expect(smts).toEqual(expect.arrayContaining(['org.apache.kafka.connect.transforms.Filter', 'io.kappa.connect.ml.Score', 'io.kappa.connect.ml.Learn']));
    expect(valueOf(res.body, 'transforms.drop.type').value.recommended_values).toEqual(smts);
    expect(valueOf(res.body, 'predicates.tomb.type').value.recommended_values).toEqual(predicates);
    expect(predicates).toContain('org.apache.kafka.connect.transforms.predicates.RecordIsTombstone');
  });

  it('an unknown transformation class is an error on transforms.<alias>.type', async () => {
    const res = await worker.api.put<ConfigInfos>('/connector-plugins/RecordingSinkConnector/config/validate', {
      'connector.class': RECORDING_SINK,
      name: 'v',
      topics: 't',
      'output.file': '/tmp/x',
      transforms: 'bad',
      'transforms.bad.type': 'com.acme.NoSuchTransform',
    });
    expectStatus(res, 200);
    expect(res.body.error_count).toBeGreaterThanOrEqual(1);
    expect(valueOf(res.body, 'transforms.bad.type').value.errors.length).toBeGreaterThanOrEqual(1);
  });

  it.each(['FileStreamSink', 'FileStreamSinkConnector', FILE_SINK])('path %s matches connector.class FQCN (200)', async (p) => {
    const res = await worker.api.put<ConfigInfos>(`/connector-plugins/${p}/config/validate/`, {
      'connector.class': FILE_SINK,
      name: 'f',
      topics: 't',
      file: '/tmp/f.txt',
    });
    expectStatus(res, 200);
    expect(res.body.name).toBe(FILE_SINK);
    expect(res.body.error_count).toBe(0);
  });

  it('a connector.class that does not match the path is 400', async () => {
    const res = await worker.api.put('/connector-plugins/KafkaTopicSink/config/validate', { 'connector.class': FILE_SINK, topics: 't' });
    expectError(res, 400, `Included connector type ${FILE_SINK} does not match request type KafkaTopicSink`);
  });

  it('a body without connector.class is 400', async () => {
    const res = await worker.api.put('/connector-plugins/RecordingSinkConnector/config/validate', { topics: 't', name: 'x' });
    expectError(res, 400, /contains no connector type/);
  });

  it('an unknown connector class is 500 "Failed to find any class ..."', async () => {
    const res = await worker.api.put('/connector-plugins/NoSuchConnector/config/validate', { 'connector.class': 'com.acme.NoSuchConnector', topics: 't' });
    expectError(res, 500, /^Failed to find any class that implements Connector and which name matches com\.acme\.NoSuchConnector/);
  });
});
