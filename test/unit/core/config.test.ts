import { parseProperties, propertiesFromEnv } from '../../../src/config/properties';
import { compileWorkerConfig } from '../../../src/config/worker-config';
import { parseConfig } from '../../../src/config/parse';
import type { ConfigDef } from '../../../src/api';

const base = {
  'group.id': 'g', 'config.storage.topic': 'c', 'status.storage.topic': 's', 'offset.storage.topic': 'o',
  'key.converter': 'org.apache.kafka.connect.json.JsonConverter', 'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
};

describe('worker properties', () => {
  it('parses comments, separators, escapes and continuations like java.util.Properties', () => {
    const p = parseProperties('# comment\n! also\nbootstrap.servers=a:1\nlisteners : http://x:1\nkey value with spaces\nlong=one,\\\n   two\nescaped\\=key=v\\tx\n');
    expect(p).toEqual({ 'bootstrap.servers': 'a:1', listeners: 'http://x:1', key: 'value with spaces', long: 'one,two', 'escaped=key': 'v\tx' });
  });

  it('maps CONNECT_* variables as Connect images do', () => {
    expect(propertiesFromEnv({ CONNECT_BOOTSTRAP_SERVERS: 'b:9', CONNECT_CONSUMER_MAX__POLL___X: 'v', PATH: '/bin' }))
      .toEqual({ 'bootstrap.servers': 'b:9', 'consumer.max_poll-x': 'v' });
  });

  it('compiles a valid config with defaults, worker id and client prefixes', () => {
    const c = compileWorkerConfig({ ...base, listeners: 'http://127.0.0.1:18083', 'consumer.max.poll.records': '10', 'rest.advertised.host.name': 'w1' });
    expect(c.bootstrapServers).toEqual(['localhost:9092']);
    expect(c.listener).toEqual({ protocol: 'http', host: '127.0.0.1', port: 18083 });
    expect(c.workerId).toBe('w1:18083');
    expect(c.pluginPath).toEqual([]);
    expect(c.offsetFlushIntervalMs).toBe(60000);
    expect(c.consumerProps).toEqual({ 'max.poll.records': '10' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(c).toMatchObject({ restMaxRequestBytes: 16 * 1024 * 1024, restMaxRequestDepth: 64, restAllowedHosts: [], maxTasksPerConnector: 256, maxConnectorConfigBytes: 262144 });
  });

  it.each([
    [{ ...base, 'group.id': undefined }, 'group.id'],
    [{ ...base, listeners: 'nonsense' }, 'listeners'],
    [{ ...base, 'offset.flush.interval.ms': 'soon' }, 'offset.flush.interval.ms'],
    [{ ...base, 'bootstrap.servers': 'nohost' }, 'bootstrap.servers'],
    [{ ...base, 'kappa.connector.tasks.max.limit': '0' }, 'kappa.connector.tasks.max.limit'],
    [{ ...base, 'kappa.rest.request.max.bytes': 'lots' }, 'kappa.rest.request.max.bytes'],
  ])('rejects an invalid config with one message naming the key (%#)', (raw, key) => {
    const clean = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)) as Record<string, string>;
    expect(() => compileWorkerConfig(clean)).toThrow(key);
  });
});

describe('config parsing', () => {
  const def: ConfigDef = [
    { name: 'req', type: 'STRING', importance: 'HIGH', documentation: '' },
    { name: 'n', type: 'INT', default: 1, importance: 'LOW', documentation: '' },
    { name: 'b', type: 'BOOLEAN', default: false, importance: 'LOW', documentation: '' },
    { name: 'l', type: 'LIST', default: '', importance: 'LOW', documentation: '' },
  ];
  it('converts types, applies defaults and collects every error with Connect wording', () => {
    const ok = parseConfig(def, { req: 'x', n: ' 7 ', b: 'TRUE', l: 'a, b' });
    expect(ok.values).toEqual({ req: 'x', n: 7, b: true, l: ['a', 'b'] });
    const bad = parseConfig(def, { n: 'x', b: 'yes' });
    expect(bad.errors['req']).toEqual(['Missing required configuration "req" which has no default value.']);
    expect(bad.errors['n']).toEqual(['Invalid value x for configuration n: Not a number of type INT']);
    expect(bad.errors['b']).toEqual(['Invalid value yes for configuration b: Expected value to be either true or false']);
    expect(parseConfig(def, { req: 'x' }).values['l']).toEqual([]);
  });
});
