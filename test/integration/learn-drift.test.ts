/**
 * Drift through Kafka: a SEA stream (seed 1, variant 1 → 2 at event 5000, no noise) goes through
 * the Learn transform (PA-I, C = 0.1, online z-score) with labels held back by 0 and by 20 events.
 * With `emit.feedback=true` each learned label leaves one record (served prediction, mistake), so
 * the windowed accuracy (200 labels) is rebuilt from the sink's output and the number of events
 * until it is back within 0.02 of its pre-drift level (mean over labels 4000-4999) is reported.
 *
 * Then SCW-I, which does not recover by itself, with drift detection (ADWIN + inflate, the
 * recommended setting): it recovers, the drift is a record on drift.topic and an event in the
 * learner's status.
 */
import { closeKafka, createConnector, createTopic, produce, readAll, readLines, startWorker, stopAllWorkers, uniqueName, waitFor, Worker, OutRecord } from './helpers';
import * as os from 'os';
import * as path from 'path';
import { SEAStream, recoveryEvents } from '../../src/ml/online';
import { driftRecovery } from '../../src/ml/online/drift/evaluation';
import { learnerStatus, waitLearned } from './learn-support';

const DRIFT_AT = 5000;
const TOTAL = 8000;
const WINDOW = 200;
let worker: Worker;

beforeAll(async () => {
  worker = await startWorker();
});

afterAll(async () => {
  await stopAllWorkers();
  await closeKafka();
});

function seaRecords(delay: number): OutRecord[] {
  const stream = new SEAStream({ seed: 1, variant: 1, noise: 0, drifts: [{ at: DRIFT_AT, variant: 2 }] });
  const out: OutRecord[] = [];
  const queue: { id: string; y: number }[] = [];
  const t0 = Date.now();
  for (let t = 0; t < TOTAL; t++) {
    const { x, y } = stream.next();
    out.push({ value: { id: `s${t}`, x0: x[0], x1: x[1], x2: x[2] }, timestamp: t0 + out.length });
    queue.push({ id: `s${t}`, y });
    while (queue.length > delay) {
      const q = queue.shift()!;
      out.push({ value: { id: q.id, label: q.y }, timestamp: t0 + out.length });
    }
  }
  for (const q of queue) out.push({ value: { id: q.id, label: q.y }, timestamp: t0 + out.length });
  return out;
}

it('SEA abrupt drift: windowed accuracy recovers, number of events reported', async () => {
  const results: string[] = [];
  for (const delay of [0, 20]) {
    const topic = await createTopic(uniqueName(`it-learn-sea-d${delay}`), 1);
    const recs = seaRecords(delay);
    for (let i = 0; i < recs.length; i += 2000) await produce(topic, recs.slice(i, i + 2000));
    const name = uniqueName(`learn-sea-d${delay}`);
    const file = path.join(os.tmpdir(), `${name}.jsonl`);
    await createConnector(worker.api, name, {
      'connector.class': 'FileStreamSink', 'tasks.max': '1', topics: topic, file,
      transforms: 'learn', 'transforms.learn.type': 'Learn',
      'transforms.learn.algorithm': 'pa-i', 'transforms.learn.C': '0.1', 'transforms.learn.standardize': 'true',
      'transforms.learn.features': 'x0,x1,x2', 'transforms.learn.emit.feedback': 'true',
      'transforms.learn.metrics.window': String(WINDOW), 'transforms.learn.model.topic': '', 'transforms.learn.metrics.topic': '',
    });
    const lines = await waitFor(() => {
      const l = readLines(file).map((s) => JSON.parse(s) as Record<string, unknown>).filter((v) => 'served' in v);
      return l.length >= TOTAL ? l : undefined;
    }, { timeoutMs: 60_000, description: `${TOTAL} learned labels in ${file}` });
    expect(lines.length).toBe(TOTAL);
    // the t-th learned label is the label of event t (labels come in event order)
    const series = new Float64Array(TOTAL);
    let correct = 0;
    lines.forEach((v, t) => {
      expect(v.id).toBe(`s${t}`);
      correct += v.mistake ? 0 : 1;
      if (t >= WINDOW) correct -= lines[t - WINDOW]!.mistake ? 0 : 1;
      series[t] = correct / Math.min(t + 1, WINDOW);
    });
    let pre = 0;
    for (let t = DRIFT_AT - 1000; t < DRIFT_AT; t++) pre += series[t]! / 1000;
    let min = 1;
    for (let t = DRIFT_AT; t < TOTAL; t++) min = Math.min(min, series[t]!);
    const rec = recoveryEvents(series, DRIFT_AT, 0.02, pre);
    const s = (await learnerStatus(worker.api, name))!;
    expect(s.windowed!.accuracy).toBeCloseTo(series[TOTAL - 1]!, 12);
    results.push(`delay ${delay}: pre-drift ${pre.toFixed(3)}, dip to ${min.toFixed(3)}, recovered in ${rec} events`);
    expect(rec).toBeGreaterThan(0);
    expect(rec).toBeLessThanOrEqual(600);
    if (delay === 0) expect(rec).toBe(269); // the in-process number (test/unit/online/drift.test.ts, seed 1)
  }
  // eslint-disable-next-line no-console
  console.log(`[learn] SEA drift through Kafka, PA-I C=0.1 z-score, window ${WINDOW}: ${results.join('; ')}`);
});

it('SCW-I with ADWIN + inflate recovers from the SEA drift; the drift is on drift.topic and in the status', async () => {
  const total = 6500;
  const stream = new SEAStream({ seed: 1, variant: 1, noise: 0, drifts: [{ at: DRIFT_AT, variant: 2 }] });
  const t0 = Date.now();
  // feedback records carrying their features: one record per label, learned as it arrives
  const recs: OutRecord[] = [];
  for (let t = 0; t < total; t++) {
    const { x, y } = stream.next();
    recs.push({ value: { id: `s${t}`, x0: x[0], x1: x[1], x2: x[2], label: y }, timestamp: t0 + t });
  }
  const topic = await createTopic(uniqueName('it-learn-sea-scw'), 1);
  const driftTopic = uniqueName('it-learn-drifts');
  for (let i = 0; i < recs.length; i += 2000) await produce(topic, recs.slice(i, i + 2000));
  const name = uniqueName('learn-sea-scw-adwin');
  const file = path.join(os.tmpdir(), `${name}.jsonl`);
  await createConnector(worker.api, name, {
    'connector.class': 'FileStreamSink', 'tasks.max': '1', topics: topic, file,
    transforms: 'learn', 'transforms.learn.type': 'Learn',
    'transforms.learn.algorithm': 'scw-i', 'transforms.learn.features': 'x0,x1,x2', 'transforms.learn.emit.feedback': 'true',
    'transforms.learn.drift.detector': 'adwin', 'transforms.learn.drift.topic': driftTopic,
    'transforms.learn.metrics.window': String(WINDOW), 'transforms.learn.model.topic': '', 'transforms.learn.metrics.topic': '',
  });
  const lines = await waitFor(() => {
    const l = readLines(file).map((s) => JSON.parse(s) as Record<string, unknown>).filter((v) => 'served' in v);
    return l.length >= total ? l : undefined;
  }, { timeoutMs: 60_000, description: `${total} learned labels in ${file}` });
  const series = new Float64Array(total);
  let correct = 0;
  lines.forEach((v, t) => {
    correct += v.mistake ? 0 : 1;
    if (t >= WINDOW) correct -= lines[t - WINDOW]!.mistake ? 0 : 1;
    series[t] = correct / Math.min(t + 1, WINDOW);
  });
  let pre = 0;
  for (let t = DRIFT_AT - 1000; t < DRIFT_AT; t++) pre += series[t]! / 1000;
  const rec = recoveryEvents(series, DRIFT_AT, 0.02, pre);
  expect(rec).toBeGreaterThan(0);
  expect(rec).toBeLessThanOrEqual(1000);
  // the same stream in process (test/unit/online/drift-adaptation.test.ts) recovers in the same number of events
  const inProcess = driftRecovery({
    stream: new SEAStream({ seed: 1, variant: 1, noise: 0, drifts: [{ at: DRIFT_AT, variant: 2 }] }), driftAt: DRIFT_AT, total,
    learner: { algorithm: 'scw-i', task: 'binary', nFeatures: 3 }, drift: { detector: 'adwin', action: 'inflate' },
  });
  expect(rec).toBe(inProcess.recovery);

  const status = (await waitLearned(worker.api, name, total)) as unknown as { drift: { detector: string; action: string; warnings: number; drifts: number; events: { event: number; kind: string; action: string; time: number }[] } };
  expect(status.drift).toMatchObject({ detector: 'adwin', action: 'inflate', warnings: 0, drifts: 1 });
  const ev = status.drift.events[0]!;
  expect(ev).toMatchObject({ kind: 'drift', action: 'inflate' });
  expect(ev.event).toBeGreaterThan(DRIFT_AT);
  expect(ev.event).toBeLessThan(DRIFT_AT + 300);
  expect(ev.time).toBe(t0 + ev.event - 1); // the timestamp of the label that raised it

  // the record goes out with the checkpoint that covers its label (offsets flush every second here)
  const drifts = await readAll(driftTopic, { expected: 1, timeoutMs: 20_000 });
  expect(drifts).toHaveLength(1);
  expect(JSON.parse(drifts[0]!.value!)).toMatchObject({
    connector: name, task: 0, topic, partition: 0, offset: ev.event - 1, detector: 'adwin', kind: 'drift', event: ev.event, action: 'inflate', time: ev.time,
  });
  // eslint-disable-next-line no-console
  console.log(`[learn] SEA drift through Kafka, SCW-I + ADWIN/inflate: pre-drift ${pre.toFixed(3)}, drift detected at label ${ev.event}, recovered in ${rec} events`);
});
