/**
 * Kill -9 in the middle of a labeled stream: the worker dies while the Learn transform is
 * learning; after a restart the task restores the learner and the pending events from its
 * compacted state topic, skips what the checkpoint already holds, and ends with weights equal to
 * an uninterrupted run on the same input (no event lost, no label learned twice).
 */
import { closeKafka, createConnector, createTopic, produce, sleep, startWorker, stopAllWorkers, uniqueName, waitFor, Worker } from './helpers';
import { banknote, delayedSequence, LEARNERS, learnConnector, learnerStatus, order, referenceRun, toRecords, waitLearned } from './learn-support';

let worker: Worker;

beforeAll(async () => {
  // a short session timeout lets the restarted worker take the partitions of the killed one quickly
  worker = await startWorker({ props: { 'consumer.session.timeout.ms': '6000', 'consumer.heartbeat.interval.ms': '1000' } });
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

it('kill -9 mid-stream, restart: final weights equal an uninterrupted run', async () => {
  const d = banknote();
  const steps = delayedSequence(d, order(5), 10);
  const records = toRecords(steps);
  const ref = referenceRun({ algorithm: 'scw-ii', task: 'binary', classes: [0, 1], nFeatures: 4 }, steps);
  const topic = await createTopic(uniqueName('it-learn-crash'), 1);
  const name = uniqueName('learn-crash');
  const modelTopic = uniqueName('it-learn-crash-models');
  await produce(topic, records.slice(0, 1200));
  await createConnector(worker.api, name, learnConnector(topic, LEARNERS['scw-ii']!, { 'model.topic': modelTopic, 'publish.every.updates': '250' }));
  // at least one checkpoint with learned labels in it
  await waitFor(async () => {
    const s = await learnerStatus(worker.api, name);
    return s && s.learned > 300 && s.state!.epoch >= 1 ? s : undefined;
  }, { timeoutMs: 40_000, description: 'a first checkpoint' });

  // the rest arrives in small chunks; the worker is killed half-way through
  const kills: { learned: number; epoch: number }[] = [];
  let sent = 1200;
  const chunk = 40;
  while (sent < records.length) {
    await produce(topic, records.slice(sent, sent + chunk));
    sent += chunk;
    await sleep(25);
    if (kills.length === 0 && sent >= 2000) {
      const s = await learnerStatus(worker.api, name);
      kills.push({ learned: s?.learned ?? -1, epoch: s?.state?.epoch ?? -1 });
      await worker.kill();
      await worker.restart();
    }
  }
  const s = await waitLearned(worker.api, name, d.y.length, 60_000);
  await sleep(1500); // anything learned twice would show up as learned > 1372
  const final = (await learnerStatus(worker.api, name))!;
  expect(final.learned).toBe(d.y.length);
  expect(final.counters.learnedFromStore).toBe(d.y.length);
  expect(final.counters.feedback).toBe(d.y.length);
  expect(final.counters.events).toBe(d.y.length);
  expect(final.pending).toEqual({ events: 0, feedback: 0 });
  expect(final.state!.restoredFrom!.epoch).toBeGreaterThanOrEqual(1);
  const model = (await worker.api.get(`/learners/${name}/model`)).body;
  expect(model).toEqual(JSON.parse(JSON.stringify(ref.learner.toLinearModel())));
  expect(final.cumulative.accuracy).toBe(ref.accuracy);
  // eslint-disable-next-line no-console
  console.log(`[learn] kill -9 at ${kills[0]!.learned} labels learned (checkpoint epoch ${kills[0]!.epoch}); restored from epoch ${final.state!.restoredFrom!.epoch} ` +
    `with ${final.state!.restoredFrom!.pending} pending events, ${final.runtime.skippedReplayed} redelivered records skipped; ` +
    `final ${final.learned} labels, accuracy ${final.cumulative.accuracy.toFixed(4)}, weights equal the uninterrupted run`);
  expect(s.learned).toBe(d.y.length);
});
