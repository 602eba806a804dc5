/** What Score refuses as model input: non-finite numbers go to the error path, the record untouched. */
import { DataException, type SinkRecord } from '../../../src/api';
import { JsonConverter } from '../../../src/converters';
import { ControlMessageError, dataUri, decodeControl, encodeControl, parseControl, sha256Hex } from '../../../src/ml/serving/control';
import { Score } from '../../../src/ml/serving/score';
import { FakeKafka, context, rec } from '../online/learn-helpers';

function linearControl() {
  const bytes = Buffer.from(JSON.stringify({ format: 'kappa-linear-model', version: 1, task: 'regression', classes: null, nFeatures: 2, weights: [[1, 1]], intercepts: [0] }));
  return parseControl({ id: 'sum', version: '1', format: 'linear', uri: dataUri(bytes), sha256: sha256Hex(bytes), input: { features: ['a', 'b'] } });
}

describe('Score input checks', () => {
  let score: Score;
  beforeAll(async () => {
    const kafka = new FakeKafka();
    await kafka.send([{ topic: 'kappa-models', key: Buffer.from('sum'), value: encodeControl(linearControl()) }]);
    score = new Score();
    score.configure({ 'model.id': 'sum' });
    await score.open({ ...context(kafka, 'scorer'), workerConfig: { 'kappa.model.cache.dir': 'none', 'kappa.model.pool.threads': '1' } });
  });
  afterAll(() => score.close());

  it('refuses Infinity (JSON 1e400), NaN and float32 overflow as features; scores the rest of the batch', async () => {
    const json = new JsonConverter();
    json.configure({ 'schemas.enable': 'false' }, false);
    const huge = json.toConnectData('t', Buffer.from('{"a":1e400,"b":1}')).value; // JSON.parse gives Infinity
    const records: SinkRecord[] = [rec({ a: 1, b: 2 }, 0), rec(huge, 1), rec({ a: NaN, b: 1 }, 2), rec({ a: 1e39, b: 1 }, 3), rec({ a: -1e300, b: 0 }, 4), rec({ a: 3, b: 4 }, 5)];
    const before = JSON.stringify(records.map((r) => r.value), (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
    const out = await score.applyBatch(records);
    expect(((out[0] as SinkRecord).value as { prediction: { value: number } }).prediction.value).toBe(3);
    expect(((out[5] as SinkRecord).value as { prediction: { value: number } }).prediction.value).toBe(7);
    expect(out[1]).toEqual(new DataException("record events-0@1: feature 'a' (field 'a') of model sum version 1 must be a finite float32 number, but is Infinity"));
    expect((out[2] as Error).message).toMatch(/must be a finite float32 number, but is NaN$/);
    expect((out[3] as Error).message).toMatch(/must be a finite float32 number, but is 1e\+39$/);
    expect((out[4] as Error).message).toMatch(/must be a finite float32 number, but is -1e\+300$/);
    // the inputs were not rewritten
    expect(JSON.stringify(records.map((r) => r.value), (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))).toBe(before);
  });
});

describe('model-control messages', () => {
  it('refuse deep nesting (more_info) with a message error, from REST bodies and from the topic alike', () => {
    const deep = '{"a":'.repeat(100_000) + '"x"' + '}'.repeat(100_000);
    const text = `{"id":"m","version":"1","uri":"data:,x","sha256":"${'0'.repeat(64)}","input":{"features":["a"]},"more_info":{"k":${deep}}}`;
    expect(() => decodeControl(Buffer.from(text))).toThrow(new ControlMessageError("a model-control message may nest at most 32 levels (see 'more_info')"));
    const shallow = parseControl({ ...JSON.parse(text.replace(deep, '{"b":[1,2]}')) });
    expect(shallow.more_info).toEqual({ k: '{"b":[1,2]}' });
  });
});
