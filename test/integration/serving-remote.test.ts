/**
 * Remote models (`format: remote`) against a real MLServer serving a scikit-learn iris model over
 * the Open Inference Protocol v2 (test/fixtures/mlserver, scripts/mlserver/mlserver.sh):
 *
 * - a Score connector scores 10,000 records through it with scikit-learn's labels, probabilities
 *   keyed by the classes as for an ONNX model;
 * - a version whose metadata does not fit the mapping is refused at activation with the reason
 *   (GET /models/<id>, the task's status), the previous version keeps serving;
 * - MLServer stopped mid-stream: with errors.tolerance=all + DLQ the records go to the DLQ with
 *   Connect's headers; with errors.tolerance=none the task FAILS with the reason; a connector on a
 *   local ONNX model goes on unaffected; MLServer back: the first connector scores again by itself
 *   (circuit half-open → closed), the failed task restarted resumes at the failed offset; every
 *   input offset ends in an output or a DLQ record.
 */
import {
  Worker, closeKafka, createConnector, expectError, createTopic, deleteTopics, getStatus, groupOffsets, produce, randomSuffix, readAll, startWorker, stopAllWorkers,
  sleep, sumOffsets, tmpDir, waitFor, waitForState,
} from './helpers';
import { MlServer, irisStream } from './mlserver-support';
import { modelBody, publish, scoringConnector } from './serving-support';

jest.setTimeout(180_000);

describe('remote models over the Open Inference Protocol (MLServer)', () => {
  let worker: Worker;
  let mlserver: MlServer;
  const suffix = randomSuffix();
  const modelTopic = `kappa-it-models-${suffix}`;
  const topics: string[] = [modelTopic];
  const stream = irisStream();

  const remoteBody = (id: string, version: string, model = 'iris-logreg', extra: Record<string, unknown> = {}) => ({
    id, version, algorithm: 'LogisticRegression', format: 'remote',
    uri: `${mlserver.url}/v2/models/${model}`,
    input: { features: stream.features },
    output: { classes: stream.classes },
    ...extra,
  });
  const record = (seq: number, partitions = 2) => ({
    key: `k${seq}`,
    partition: seq % partitions,
    value: { seq, ...Object.fromEntries(stream.features.map((f, j) => [f, stream.rows[seq % stream.rows.length]![j]])) },
  });

  beforeAll(async () => {
    mlserver = await MlServer.create();
    // MLServer (about 10 s to load its models) and the worker start side by side
    [, worker] = await Promise.all([mlserver.start(), startWorker({
      props: {
        'kappa.model.topic': modelTopic,
        'kappa.model.cache.dir': tmpDir('kappa-it-cache-'),
        'kappa.model.http.allowed.hosts': `127.0.0.1:${mlserver.port}`,
        // a dead endpoint is noticed within a second: 2 quick retries, then the circuit opens
        'kappa.model.remote.retries': '2',
        'kappa.model.remote.retry.backoff.ms': '50',
        'kappa.model.remote.circuit.failures': '3',
        'kappa.model.remote.circuit.open.ms': '1000',
      },
    })]);
  }, 900_000);
  afterAll(async () => {
    await stopAllWorkers();
    await mlserver?.stop();
    await deleteTopics(topics);
    await closeKafka();
  });

  it('scores 10,000 records with the labels scikit-learn predicts; a version whose inputs do not fit is refused at activation with the reason, version 1 keeps serving', async () => {
    const id = `iris-remote-${suffix}`;
    await publish(worker.api, remoteBody(id, '1'));
    const input = await createTopic(`kappa-it-remote-in-${suffix}`, 2);
    const output = await createTopic(`kappa-it-remote-out-${suffix}`, 2);
    topics.push(input, output);
    const n = stream.rows.length;
    await produce(input, Array.from({ length: n }, (_v, i) => record(i)));
    const name = `score-remote-${suffix}`;
    await createConnector(worker.api, name, scoringConnector(input, output, { 'model.id': id }));
    const out = await readAll(output, { expected: n, timeoutMs: 120_000 });
    expect(out).toHaveLength(n);
    let mismatches = 0;
    for (const r of out) {
      const v = JSON.parse(r.value!);
      const p = v.prediction;
      expect(r.key).toBe(`k${v.seq}`);
      expect(r.headers).toMatchObject({ 'kappa.model.id': id, 'kappa.model.version': '1' });
      if (p.label !== stream.labels[v.seq]) mismatches++;
      // the same fields as an ONNX classifier: probabilities keyed by the class labels, summing to 1
      expect(Object.keys(p.probabilities)).toEqual(['1', '2', '3']);
      expect(Math.abs((Object.values(p.probabilities) as number[]).reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    }
    expect(mismatches).toBe(0);
    expect((await worker.api.get(`/models/${id}`)).body.versions[0]).toMatchObject({ format: 'remote', state: 'ready', uri: `${mlserver.url}/v2/models/iris-logreg` });
    // publishing checks the endpoint as it checks artifact URIs: its form, and the worker's allowed hosts
    expectError(await worker.api.post('/models', { ...remoteBody(id, '9'), uri: `${mlserver.url}/models/iris-logreg` }), 400, /'uri' must be its Open Inference Protocol endpoint/);
    expectError(await worker.api.post('/models', { ...remoteBody(id, '9'), uri: 'http://10.0.0.5:8080/v2/models/iris-logreg' }), 403, /host 10\.0\.0\.5:8080 is not allowed .*kappa\.model\.http\.allowed\.hosts/);

    // iris-mismatch declares input-0 FP32 [-1, 3]: it cannot take the 4 features of the mapping
    await publish(worker.api, remoteBody(id, '2', 'iris-mismatch'));
    const reason = /model .*@2 refused: the remote model at .*\/v2\/models\/iris-mismatch does not fit: its input 'input-0' FP32 \[-1, 3\] does not take \[batch, 4\] rows \(input\.features maps 4: x1, x2, x3, x4\)/;
    const refused = await waitFor(async () => {
      const m = (await worker.api.get(`/models/${id}`)).body;
      return m.versions.find((v: { version: string; state?: string }) => v.version === '2' && v.state === 'refused') ? m : undefined;
    }, { timeoutMs: 30_000, description: 'version 2 refused' });
    expect(refused.versions[1].error).toMatch(reason);
    expect(refused.serving_version).toBe('1');
    const status = await waitFor(async () => {
      const st = (await getStatus(worker.api, name)).body;
      return st.tasks[0]?.trace && reason.test(st.tasks[0].trace) ? st : undefined;
    }, { timeoutMs: 30_000, description: 'the refusal in the task status' });
    expect(status.tasks[0].state).toBe('RUNNING');
    await produce(input, [record(n)]);
    const after = await readAll(output, { expected: n + 1, timeoutMs: 30_000 });
    const last = after.map((r) => JSON.parse(r.value!)).find((v) => v.seq === n);
    expect(last.prediction).toMatchObject({ model_version: '1', label: stream.labels[0] });
  });

  it('MLServer down: records go to the DLQ or the task fails per errors.tolerance, an ONNX connector goes on; back up: scoring resumes, nothing lost', async () => {
    const id = `iris-outage-${suffix}`;
    const onnxId = `iris-local-${suffix}`;
    await publish(worker.api, remoteBody(id, '1'));
    await publish(worker.api, modelBody(onnxId, '1', 'iris-logreg-v1'));
    const input = await createTopic(`kappa-it-outage-in-${suffix}`, 2);
    const outAll = await createTopic(`kappa-it-outage-all-${suffix}`, 2);
    const outNone = await createTopic(`kappa-it-outage-none-${suffix}`, 2);
    const outLocal = await createTopic(`kappa-it-outage-local-${suffix}`, 2);
    const dlq = `kappa-it-outage-dlq-${suffix}`;
    topics.push(input, outAll, outNone, outLocal, dlq);
    const tolerant = `remote-all-${suffix}`;
    const strict = `remote-none-${suffix}`;
    const local = `local-onnx-${suffix}`;
    await createConnector(worker.api, tolerant, scoringConnector(input, outAll, { 'model.id': id }, {
      'errors.tolerance': 'all',
      'errors.deadletterqueue.topic.name': dlq,
      'errors.deadletterqueue.topic.replication.factor': '1',
      'errors.deadletterqueue.context.headers.enable': 'true',
    }));
    await createConnector(worker.api, strict, scoringConnector(input, outNone, { 'model.id': id }));
    await createConnector(worker.api, local, scoringConnector(input, outLocal, { 'model.id': onnxId }));
    for (const c of [tolerant, strict, local]) await waitForState(worker.api, c, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });

    const phase = 300;
    await produce(input, Array.from({ length: phase }, (_v, i) => record(i)));
    // both remote connectors have scored and committed the first phase (committed offsets: no consumer to join)
    for (const c of [tolerant, strict]) {
      await waitFor(async () => sumOffsets(await groupOffsets(`connect-${c}`, input)) >= phase, { timeoutMs: 60_000, description: `${c} committed the first phase` });
    }

    await mlserver.stop();
    // in three parts far enough apart to be polled apart: the tolerant task makes at least three
    // failed calls in a row however its records are batched, and the circuit opens
    for (let part = 0; part < 3; part++) {
      await produce(input, Array.from({ length: phase / 3 }, (_v, i) => record(phase + (part * phase) / 3 + i)));
      await sleep(1500);
    }
    // tolerance none: the task fails with the reason in its trace
    const failed = await waitFor(async () => {
      const s = (await getStatus(worker.api, strict)).body;
      return s.tasks[0]?.state === 'FAILED' ? s.tasks[0] : undefined;
    }, { timeoutMs: 60_000, description: `${strict} task FAILED` });
    expect(failed.trace).toMatch(new RegExp(`scoring with model ${id} version 1 failed: .*(ECONNREFUSED|circuit open)`));
    // tolerance all: the second phase ends in the DLQ, with Connect's context headers
    const dead = await readAll(dlq, { expected: phase, timeoutMs: 60_000 });
    expect(dead).toHaveLength(phase);
    expect(dead[0]!.headers).toMatchObject({
      '__connect.errors.topic': input,
      '__connect.errors.connector.name': tolerant,
      '__connect.errors.stage': 'TRANSFORMATION',
      '__connect.errors.class.name': 'io.kappa.connect.ml.Score',
    });
    expect(dead[0]!.headers['__connect.errors.exception.message']).toMatch(/scoring with model .* failed/);
    expect(worker.logs()).toMatch(/circuit open for 1000 ms/);

    await mlserver.start();
    await produce(input, Array.from({ length: phase }, (_v, i) => record(2 * phase + i)));
    // no restart, no republish: the circuit probes the endpoint again and closes
    const scored = await readAll(outAll, { expected: 2 * phase, timeoutMs: 60_000 });
    expect(scored).toHaveLength(2 * phase);
    expect(worker.logs()).toMatch(/circuit closed, scoring again/);
    // the failed task, restarted, resumes at the record it failed on
    expect((await worker.api.post(`/connectors/${strict}/tasks/0/restart`)).status).toBe(204);
    const strictOut = await readAll(outNone, { expected: 3 * phase, timeoutMs: 60_000 });
    const localOut = await readAll(outLocal, { expected: 3 * phase, timeoutMs: 60_000 });

    // every input offset ends in an output or a DLQ record; the strict connector scored every record
    const all = new Set([...scored, ...dead].map((r) => r.key));
    expect(all.size).toBe(3 * phase);
    // ... once each: the restarted task resumed at the offset it failed on, not before it
    expect(strictOut).toHaveLength(3 * phase);
    expect(new Set(strictOut.map((r) => r.key)).size).toBe(3 * phase);
    let mismatches = 0;
    for (const r of [...scored, ...strictOut]) {
      const v = JSON.parse(r.value!);
      if (v.prediction.label !== stream.labels[v.seq % stream.rows.length]) mismatches++;
    }
    expect(mismatches).toBe(0);
    // the ONNX connector never noticed
    expect(localOut).toHaveLength(3 * phase);
    expect((await getStatus(worker.api, local)).body.tasks[0]).toMatchObject({ state: 'RUNNING' });
    expect((await getStatus(worker.api, local)).body.tasks[0].trace).toBeUndefined();
  });
});
