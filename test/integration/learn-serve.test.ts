/**
 * Learn here, serve there: one connector learns banknote and publishes its weights as a `linear`
 * model version (on demand over REST); a second connector scores other records with the Score
 * transform from the same model-control topic, and its predictions equal the learner's model.
 */
import { closeKafka, createConnector, createTopic, outputFile, produce, readLines, startWorker, stopAllWorkers, uniqueName, waitFor, Worker } from './helpers';
import { evaluateLinearModel, type LinearModel } from '../../src/ml/online';
import { banknote, delayedSequence, LEARNERS, learnConnector, order, toRecords, waitLearned } from './learn-support';

let worker: Worker;

beforeAll(async () => {
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

it('a Score connector serves the linear model a Learn connector published', async () => {
  const d = banknote();
  const modelTopic = uniqueName('it-learn-serve-models');
  const learnTopic = await createTopic(uniqueName('it-learn-serve-train'), 1);
  const scoreTopic = await createTopic(uniqueName('it-learn-serve-score'), 1);
  const learner = uniqueName('learn-serve');
  const modelId = uniqueName('banknote-online');
  await produce(learnTopic, toRecords(delayedSequence(d, order(2), 0)));
  await createConnector(worker.api, learner, learnConnector(learnTopic, LEARNERS['scw-i']!, { 'model.topic': modelTopic, 'model.id': modelId, 'publish.every.updates': '500' }));
  await waitLearned(worker.api, learner, d.y.length);
  const pub = await worker.api.post(`/learners/${learner}/publish`);
  expect(pub.status).toBe(200);
  expect(pub.body).toMatchObject({ id: modelId, version: String(d.y.length), format: 'linear', topic: modelTopic });
  const model = (await worker.api.get(`/learners/${learner}/model`)).body as LinearModel;

  const file = outputFile('scored');
  await createConnector(worker.api, uniqueName('score-learned'), {
    'connector.class': 'FileStreamSink', 'tasks.max': '1', topics: scoreTopic, file,
    transforms: 'score', 'transforms.score.type': 'Score', 'transforms.score.model.id': modelId, 'transforms.score.model.topic': modelTopic,
  });
  const rows = order(7).slice(0, 100);
  await produce(scoreTopic, rows.map((i) => ({ value: { row: i, f1: d.X[i]![0], f2: d.X[i]![1], f3: d.X[i]![2], f4: d.X[i]![3] } })));
  const scored = await waitFor(() => {
    const l = readLines(file).map((s) => JSON.parse(s) as { row: number; prediction: { model_id: string; model_version: string; label: number } });
    return l.length >= rows.length ? l : undefined;
  }, { timeoutMs: 60_000, description: 'scored records' });
  let agree = 0;
  for (const r of scored) {
    expect(r.prediction).toMatchObject({ model_id: modelId, model_version: String(d.y.length) });
    if (r.prediction.label === evaluateLinearModel(model, d.X[r.row]!).label) agree++;
  }
  expect(agree).toBe(rows.length);
  // eslint-disable-next-line no-console
  console.log(`[learn] Score served ${modelId}@${d.y.length} (published by ${learner}): ${agree}/${rows.length} predictions equal the learner's weights`);
});
