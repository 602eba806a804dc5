/**
 * Parity through Kafka: a worker scores the fixture rows with the Score transform (models published
 * through /models), writes them to an output topic with the KafkaTopicSink, and the predictions
 * equal scikit-learn's: labels exactly, probabilities within 1e-5, regression values within 1e-4
 * relative. Struct values (JsonConverter with schemas) get an extended schema. A classifier without
 * probabilities (LinearSVC) gets its decision scores under `decision_scores`, keyed by the class
 * they score (the positive class for a binary model's single score), and no `probabilities`.
 */
import {
  Worker, closeKafka, createConnector, createTopic, deleteTopics, produce, randomSuffix, readAll, startWorker, stopAllWorkers, tmpDir, waitForState,
} from './helpers';
import { fixture, modelBody, publish, scoringConnector } from './serving-support';

jest.setTimeout(180_000);

describe('Score parity through Kafka', () => {
  let worker: Worker;
  const suffix = randomSuffix();
  const modelTopic = `kappa-it-models-${suffix}`;
  const topics: string[] = [modelTopic];

  beforeAll(async () => {
    worker = await startWorker({ props: { 'kappa.model.topic': modelTopic, 'kappa.model.cache.dir': tmpDir('kappa-it-cache-') } });
  });
  afterAll(async () => {
    await stopAllWorkers();
    await deleteTopics(topics);
    await closeKafka();
  });

  const cases: [string, string][] = [
    ['iris-logreg-v1', 'classifier'],
    ['iris-rf', 'classifier'],
    ['wine-alcohol-ridge', 'regressor'],
    ['banknote-linearsvc', 'classifier without probabilities, binary'],
    ['iris-linearsvc', 'classifier without probabilities, multiclass'],
  ];

  it.each(cases)('%s: worker predictions equal scikit-learn (%s)', async (name) => {
    const f = fixture(name);
    const id = `${name}-${suffix}`;
    await publish(worker.api, modelBody(id, '1', name));
    const input = await createTopic(`kappa-it-score-in-${name}-${suffix}`, 3);
    const output = await createTopic(`kappa-it-score-out-${name}-${suffix}`, 3);
    topics.push(input, output);
    await produce(input, f.expected.rows.map((row, i) => ({
      key: `r${i}`,
      partition: i % 3,
      headers: { origin: 'test' },
      value: { row: i, ...Object.fromEntries(f.features.map((feat, j) => [feat, row[j]])) },
    })));
    await createConnector(worker.api, `score-${name}-${suffix}`, scoringConnector(input, output, { 'model.id': id }));
    await waitForState(worker.api, `score-${name}-${suffix}`, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
    const out = await readAll(output, { expected: f.expected.rows.length, timeoutMs: 60_000 });
    expect(out).toHaveLength(f.expected.rows.length);
    let maxProb = 0;
    let maxScore = 0;
    let maxRel = 0;
    for (const r of out) {
      const v = JSON.parse(r.value!) as Record<string, any>;
      const i = v.row as number;
      expect(r.key).toBe(`r${i}`);
      expect(r.partition).toBe(i % 3);
      expect(r.headers).toEqual({ origin: 'test', 'kappa.model.id': id, 'kappa.model.version': '1' });
      f.features.forEach((feat, j) => expect(v[feat]).toBe(f.expected.rows[i]![j]));
      const p = v.prediction;
      expect(p.model_id).toBe(id);
      expect(p.model_version).toBe('1');
      if (f.expected.decisionScores) {
        // scikit-learn's decision_function: a scalar per row for two classes (the score of
        // classes_[1]), one per class otherwise; never reported as probabilities
        expect(p.label).toBe(f.expected.labels![i]);
        expect(p).not.toHaveProperty('probabilities');
        const want = f.expected.decisionScores[i]!;
        const byClass: [string, number][] = Array.isArray(want) ? f.classLabels!.map((c, k) => [String(c), want[k]!]) : [[String(f.classLabels![1]), want]];
        expect(Object.keys(p.decision_scores)).toEqual(byClass.map(([c]) => c));
        for (const [c, w] of byClass) maxScore = Math.max(maxScore, Math.abs(p.decision_scores[c] - w) / Math.max(1, Math.abs(w)));
        // the label is the class the scores pick (sign for binary, argmax otherwise)
        const top = byClass.length === 1 ? (byClass[0]![1] > 0 ? f.classLabels![1] : f.classLabels![0]) : byClass.reduce((a, b) => (b[1] > a[1] ? b : a))[0];
        expect(String(p.label)).toBe(String(top));
      } else if (f.expected.labels) {
        expect(p.label).toBe(f.expected.labels[i]);
        expect(p).not.toHaveProperty('decision_scores');
        const probs = f.expected.probabilities![i]!;
        expect(Object.keys(p.probabilities)).toEqual(f.classLabels!.map(String));
        f.classLabels!.forEach((c, k) => (maxProb = Math.max(maxProb, Math.abs(p.probabilities[String(c)] - probs[k]!))));
      } else {
        const want = f.expected.values![i]!;
        maxRel = Math.max(maxRel, Math.abs(p.value - want) / Math.max(1, Math.abs(want)));
      }
    }
    expect(maxProb).toBeLessThan(1e-5);
    expect(maxScore).toBeLessThan(1e-5);
    expect(maxRel).toBeLessThan(1e-4);
    // per partition, output order = input order
    for (let part = 0; part < 3; part++) {
      const rows = out.filter((r) => r.partition === part).map((r) => JSON.parse(r.value!).row as number);
      expect(rows).toEqual([...rows].sort((a, b) => a - b));
    }
  });

  it('extends the schema of Struct values (JsonConverter with schemas)', async () => {
    const name = 'iris-logreg-v1';
    const f = fixture(name);
    const id = `struct-${suffix}`;
    await publish(worker.api, modelBody(id, '7', name));
    const input = await createTopic(`kappa-it-score-struct-in-${suffix}`, 1);
    const output = await createTopic(`kappa-it-score-struct-out-${suffix}`, 1);
    topics.push(input, output);
    const schema = { type: 'struct', name: 'iris', optional: false, fields: [
      { field: 'row', type: 'int32', optional: false },
      ...f.features.map((x) => ({ field: x, type: 'double', optional: false })),
    ] };
    await produce(input, f.expected.rows.slice(0, 20).map((row, i) => ({
      key: `r${i}`,
      value: { schema, payload: { row: i, ...Object.fromEntries(f.features.map((feat, j) => [feat, row[j]])) } },
    })));
    const name2 = `score-struct-${suffix}`;
    await createConnector(worker.api, name2, scoringConnector(input, output, { 'model.id': id }, {
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': 'true',
    }));
    const out = await readAll(output, { expected: 20, timeoutMs: 60_000 });
    expect(out).toHaveLength(20);
    const first = JSON.parse(out[0]!.value!);
    const predField = first.schema.fields.find((x: { field: string }) => x.field === 'prediction');
    expect(predField).toMatchObject({ type: 'struct', optional: true, name: 'io.kappa.connect.ml.Prediction' });
    expect(predField.fields.map((x: { field: string; type: string }) => `${x.field}:${x.type}`)).toEqual(['model_id:string', 'model_version:string', 'label:int64', 'probabilities:map']);
    expect(first.schema.fields.map((x: { field: string }) => x.field)).toEqual(['row', ...f.features, 'prediction']);
    for (const r of out) {
      const { payload } = JSON.parse(r.value!);
      expect(payload.prediction.label).toBe(f.expected.labels![payload.row]);
      expect(payload.prediction.model_version).toBe('7');
      f.classLabels!.forEach((c, k) => expect(Math.abs(payload.prediction.probabilities[String(c)] - f.expected.probabilities![payload.row]![k]!)).toBeLessThan(1e-5));
    }
  });

  it('a classifier without probabilities extends Struct schemas with decision_scores, not probabilities', async () => {
    const name = 'banknote-linearsvc';
    const f = fixture(name);
    const id = `struct-svc-${suffix}`;
    await publish(worker.api, modelBody(id, '1', name));
    const input = await createTopic(`kappa-it-score-svc-in-${suffix}`, 1);
    const output = await createTopic(`kappa-it-score-svc-out-${suffix}`, 1);
    topics.push(input, output);
    const schema = { type: 'struct', name: 'banknote', optional: false, fields: [
      { field: 'row', type: 'int32', optional: false },
      ...f.features.map((x) => ({ field: x, type: 'double', optional: false })),
    ] };
    await produce(input, f.expected.rows.slice(0, 10).map((row, i) => ({
      key: `r${i}`,
      value: { schema, payload: { row: i, ...Object.fromEntries(f.features.map((feat, j) => [feat, row[j]])) } },
    })));
    await createConnector(worker.api, `score-svc-struct-${suffix}`, scoringConnector(input, output, { 'model.id': id }, {
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': 'true',
    }));
    const out = await readAll(output, { expected: 10, timeoutMs: 60_000 });
    expect(out).toHaveLength(10);
    const predField = JSON.parse(out[0]!.value!).schema.fields.find((x: { field: string }) => x.field === 'prediction');
    expect(predField.fields.map((x: { field: string; type: string }) => `${x.field}:${x.type}`)).toEqual(['model_id:string', 'model_version:string', 'label:int64', 'decision_scores:map']);
    for (const r of out) {
      const { payload } = JSON.parse(r.value!);
      expect(Object.keys(payload.prediction.decision_scores)).toEqual(['1']);
      expect(Math.abs(payload.prediction.decision_scores['1'] - (f.expected.decisionScores![payload.row] as number))).toBeLessThan(1e-4);
    }
  });
});
