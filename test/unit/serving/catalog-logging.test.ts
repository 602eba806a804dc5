/**
 * The model catalog is shared by every scoring task of the worker, and created by whichever task
 * needs it first. Its lines about one model ("published", "refused", ...) must not be logged under
 * that first task's `[connector|task-N]` context: they get the catalog's own context, and a task
 * that uses a refused model sees the problem in its own context too.
 */
import type { PluginKafka, PluginTopicRecord, TransformationContext } from '../../../src/api';
import { LogRegistry } from '../../../src/logging/logger';
import { CATALOG_LOGGER } from '../../../src/ml/serving/hub';
import { Score } from '../../../src/ml/serving/score';
import { dataUri, sha256Hex } from '../../../src/ml/serving/control';

/** A model-control topic in memory: what is appended is delivered to every follower. */
function memoryTopic() {
  const records: PluginTopicRecord[] = [];
  const followers: ((r: PluginTopicRecord) => void)[] = [];
  const kafka: PluginKafka = {
    send: async () => undefined,
    ensureTopic: async () => undefined,
    followTopics: (_topics, onRecord) => {
      followers.push(onRecord);
      for (const r of records) onRecord(r);
      return { readToEnd: async () => undefined, stop: async () => undefined };
    },
  };
  const publish = (id: string, body: Record<string, unknown>) => {
    const r: PluginTopicRecord = { topic: 't', partition: 0, offset: records.length, key: Buffer.from(id), value: Buffer.from(JSON.stringify({ id, ...body })), headers: [], timestamp: 0 };
    records.push(r);
    for (const f of followers) f(r);
  };
  return { kafka, publish };
}

function linear(id: string, version: string, nFeatures: number) {
  const bytes = Buffer.from(JSON.stringify({ format: 'kappa-linear-model', version: 1, task: 'regression', classes: null, nFeatures, weights: [Array(nFeatures).fill(1)], intercepts: [0] }));
  return { version, format: 'linear', uri: dataUri(bytes), sha256: sha256Hex(bytes), input: { features: ['a', 'b'] } };
}

describe('model catalog log lines', () => {
  it('carry the catalog context, not the context of the task that opened the catalog', async () => {
    const lines: string[] = [];
    const logs = new LogRegistry('INFO', (l) => lines.push(l));
    const topic = memoryTopic();
    const ctx = (connector: string): TransformationContext => ({
      connectorName: connector,
      taskId: 0,
      workerId: 'w',
      logger: logs.logger('io.kappa.connect.runtime.Transformation', `${connector}|task-0`),
      kafka: topic.kafka,
      workerConfig: { 'kappa.model.topic': 'kappa-models-logtest', 'kappa.model.cache.dir': 'none' },
      reportWarning: (m) => logs.logger('io.kappa.connect.runtime.WorkerSinkTask', `${connector}|task-0`).warn(m),
    });

    // score-a opens the catalog (and model-a); model-b arrives later: version 1 fits, version 2
    // (3 weights for 2 features) is refused when score-b activates it, and version 1 serves
    const a = new Score();
    const b = new Score();
    try {
      a.configure({ 'model.id': 'model-a' });
      topic.publish('model-a', linear('model-a', '1', 2));
      await a.open(ctx('score-a'));
      lines.length = 0;
      topic.publish('model-b', linear('model-b', '1', 2));
      topic.publish('model-b', linear('model-b', '2', 3));
      b.configure({ 'model.id': 'model-b' });
      await b.open(ctx('score-b'));
    } finally {
      await a.close();
      await b.close();
    }

    const about = (model: string) => lines.filter((l) => l.includes(`model ${model} `));
    expect(about('model-b').length).toBeGreaterThanOrEqual(3);
    for (const l of about('model-b')) expect(l).not.toContain('[score-a|task-0]');
    expect(about('model-b').filter((l) => l.includes(`(${CATALOG_LOGGER})`))).toEqual(
      expect.arrayContaining([
        expect.stringContaining('[model-catalog kappa-models-logtest] model model-b version 1 published'),
        expect.stringContaining('[model-catalog kappa-models-logtest] model model-b version 2 refused'),
      ]),
    );
    // the task that uses model-b reports the refusal in its own context; score-a does not
    expect(lines.some((l) => l.includes('[score-b|task-0]') && l.includes('model model-b version 2 refused'))).toBe(true);
    expect(lines.some((l) => l.includes('[score-a|task-0]') && l.includes('model-b'))).toBe(false);
  });
});
