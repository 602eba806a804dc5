/**
 * GET /metrics scraped by a real Prometheus server (Debian's `prometheus`, installed by
 * scripts/prometheus.sh when missing, started here with its own config and storage, scrape interval
 * 1 s). One worker (tasks in threads) runs a Score connector whose bad records go to a DLQ and a
 * Learn connector on banknote; the test asks Prometheus's query API what a dashboard would:
 * read rate, error and DLQ totals equal to what was sent, consumer lag, the inference latency
 * median (histogram_quantile), and the windowed accuracy /learners reports. A second worker with
 * kappa.task.threads=false shows that tasks on the main thread count the same.
 */
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  REPO_ROOT, closeKafka, createConnector, outputFile, createTopic, deleteTopics, endOffsets, freePort, produce, request, startWorker,
  stopAllWorkers, sumOffsets, uniqueName, waitFor, waitForState, type OutRecord, type Worker,
} from './helpers';
import { banknote, delayedSequence, learnConnector, LEARNERS, learnerStatus, order, toRecords, waitLearned } from './learn-support';
import { fixture, modelBody, publish, scoringConnector } from './serving-support';

jest.setTimeout(180_000);

const iris = fixture('iris-logreg-v1');
const GOOD = 600;
const MISSING_FEATURE = 7; // records 40, 120, ..., 520 lack feature x3: they fail in the Score transformation
const NOT_JSON = 6; // after records 50, 150, ..., 550: fail in the value converter
const BAD = MISSING_FEATURE + NOT_JSON;

function scoreRecords(): OutRecord[] {
  const out: OutRecord[] = [];
  for (let i = 0; i < GOOD; i++) {
    const row = iris.expected.rows[i % 150]!;
    out.push({ key: `k${i}`, value: { seq: i, x1: row[0], x2: row[1], x3: row[2], x4: row[3] } });
    if (i % 80 === 40) out.push({ key: `m${i}`, value: { seq: i, x1: 1, x2: 2, x4: 4 } });
    if (i % 100 === 50) out.push({ key: `j${i}`, value: `not json {${i}` });
  }
  return out;
}

interface PromSample { metric: Record<string, string>; value: [number, string] }

class Prometheus {
  private child?: ChildProcess;
  private output = '';
  url = '';

  async start(targets: string[]): Promise<void> {
    const bin = execFileSync('bash', [path.join(REPO_ROOT, 'scripts', 'prometheus.sh'), 'ensure'], { encoding: 'utf8' }).trim();
    const dir = path.join(REPO_ROOT, '.data', uniqueName('prometheus'));
    fs.mkdirSync(dir, { recursive: true });
    const config = path.join(dir, 'prometheus.yml');
    fs.writeFileSync(config, [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: kappa',
      '    static_configs:',
      `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
      '',
    ].join('\n'));
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    this.child = spawn(bin, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => { this.output += d; });
    this.child.stderr!.on('data', (d) => { this.output += d; });
    this.dir = dir;
    await waitFor(async () => (await request('GET', `${this.url}/-/ready`).catch(() => ({ status: 0 }))).status === 200, { timeoutMs: 30_000, description: `prometheus ready; output: ${this.output.slice(-2000)}` });
  }

  private dir = '';

  async query(expr: string): Promise<PromSample[]> {
    const res = await request('GET', `${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    if (res.status !== 200) throw new Error(`query ${expr}: ${res.status} ${res.text}`);
    return (res.body as { data: { result: PromSample[] } }).data.result;
  }

  /** the single value of `expr` once `ok` accepts it (scrapes lag behind the worker by a second or two) */
  async value(expr: string, ok: (v: number) => boolean, timeoutMs = 20_000): Promise<number> {
    let last: number | undefined;
    return waitFor(async () => {
      const r = await this.query(expr);
      last = r.length === 1 ? Number(r[0]!.value[1]) : undefined;
      return last !== undefined && ok(last) ? last : undefined;
    }, { timeoutMs, intervalMs: 500, description: `${expr} (last value ${last})` });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 10_000); })]);
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const prometheus = new Prometheus();
const topics: string[] = [];
let worker: Worker;
let metricsPort: number;

beforeAll(async () => {
  metricsPort = await freePort();
  const modelTopic = uniqueName('it-metrics-models');
  topics.push(modelTopic);
  worker = await startWorker({ props: { 'kappa.model.topic': modelTopic, 'metrics.listener': `http://127.0.0.1:${metricsPort}` } });
  await prometheus.start([`127.0.0.1:${metricsPort}`]);
});

afterAll(async () => {
  await prometheus.stop();
  await stopAllWorkers();
  await deleteTopics(topics);
  await closeKafka();
});

it('Prometheus scrapes Connect and ML metrics: read rate, errors and DLQ as sent, lag, latency quantile, windowed accuracy as /learners', async () => {
  const model = uniqueName('metrics-iris');
  await publish(worker.api, modelBody(model, '1', 'iris-logreg-v1'));
  const input = await createTopic(uniqueName('it-metrics-in'), 1);
  const output = await createTopic(uniqueName('it-metrics-out'), 1);
  const dlq = uniqueName('it-metrics-dlq');
  const learnTopic = await createTopic(uniqueName('it-metrics-learn'), 1);
  topics.push(input, output, dlq, learnTopic);
  const score = uniqueName('score');
  const learn = uniqueName('learn');
  await createConnector(worker.api, score, scoringConnector(input, output, { 'model.id': model }, {
    'errors.tolerance': 'all',
    'errors.deadletterqueue.topic.name': dlq,
    'errors.deadletterqueue.topic.replication.factor': '1',
  }));
  const d = banknote();
  await createConnector(worker.api, learn, learnConnector(learnTopic, LEARNERS['scw-i']!, { 'model.topic': '', 'metrics.topic': '', 'state.enabled': 'false' }));
  await waitForState(worker.api, score, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
  await waitForState(worker.api, learn, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });

  const records = scoreRecords();
  expect(records).toHaveLength(GOOD + BAD);
  await produce(input, records);
  await produce(learnTopic, toRecords(delayedSequence(d, order(0), 10)));
  await waitFor(async () => sumOffsets(await endOffsets(output)) >= GOOD, { timeoutMs: 60_000, description: `${GOOD} scored records` });
  await waitFor(async () => sumOffsets(await endOffsets(dlq).catch(() => new Map())) >= BAD, { timeoutMs: 30_000, description: `${BAD} DLQ records` });
  const learned = await waitLearned(worker.api, learn, d.y.length, 60_000);
  expect(sumOffsets(await endOffsets(dlq))).toBe(BAD);

  const task = `{connector="${score}",task="0"}`;
  // the read rate is a 30 s window: still > 0 right after the stream
  const rate = await prometheus.value(`kafka_connect_sink_task_metrics_sink_record_read_rate${task}`, (v) => v > 0);
  expect(await prometheus.value(`kafka_connect_sink_task_metrics_sink_record_read_total${task}`, (v) => v === GOOD + BAD)).toBe(GOOD + BAD);
  expect(await prometheus.value(`kafka_connect_sink_task_metrics_sink_record_send_total${task}`, (v) => v === GOOD)).toBe(GOOD);
  expect(await prometheus.value(`kafka_connect_task_error_metrics_total_record_errors${task}`, (v) => v === BAD)).toBe(BAD);
  expect(await prometheus.value(`kafka_connect_task_error_metrics_total_record_failures${task}`, (v) => v === BAD)).toBe(BAD);
  expect(await prometheus.value(`kafka_connect_task_error_metrics_total_records_skipped${task}`, (v) => v === BAD)).toBe(BAD);
  expect(await prometheus.value(`kafka_connect_task_error_metrics_deadletterqueue_produce_requests${task}`, (v) => v === BAD)).toBe(BAD);
  expect(await prometheus.value(`kafka_connect_task_error_metrics_deadletterqueue_produce_failures${task}`, (v) => v === 0)).toBe(0);
  expect(await prometheus.value(`kafka_consumer_fetch_manager_metrics_records_lag{client_id="connector-consumer-${score}-0",topic="${input}",partition="0"}`, (v) => v === 0)).toBe(0);
  expect(await prometheus.value('kafka_connect_connect_worker_metrics_connector_count', (v) => v === 2)).toBe(2);
  expect(await prometheus.value('kafka_connect_connect_worker_metrics_task_count', (v) => v === 2)).toBe(2);
  expect(await prometheus.value(`kafka_connect_connector_metrics_status{connector="${score}",status="running"}`, (v) => v === 1)).toBe(1);
  expect(await prometheus.value(`kafka_connect_connector_task_metrics_status{connector="${learn}",task="0",status="running"}`, (v) => v === 1)).toBe(1);

  // the ML plane
  expect(await prometheus.value(`kappa_model_records_scored_total{connector="${score}",model="${model}",version="1"}`, (v) => v === GOOD)).toBe(GOOD);
  expect(await prometheus.value(`kappa_model_version_in_use{connector="${score}",model="${model}"}`, (v) => v === 1)).toBe(1);
  const inUse = await prometheus.query(`kappa_model_version_in_use{connector="${score}",model="${model}"}`);
  expect(inUse.map((s) => s.metric.version)).toEqual(['1']);
  const p50 = await prometheus.value(`histogram_quantile(0.5, sum by (le) (kappa_model_inference_seconds_bucket{model="${model}",version="1"}))`, (v) => Number.isFinite(v));
  expect(p50).toBeGreaterThan(0);
  expect(p50).toBeLessThan(10); // the largest finite bucket: anything above would mean the buckets are wrong
  const calls = await prometheus.value(`kappa_model_inference_seconds_count{model="${model}",version="1"}`, (v) => v > 0);
  expect(calls).toBeLessThanOrEqual(GOOD); // observed per call (a batch), never more than once per record

  const learner = `{connector="${learn}",task="0"}`;
  expect(await prometheus.value(`kappa_learner_labels_learned_total${learner}`, (v) => v === d.y.length)).toBe(d.y.length);
  const accuracy = await prometheus.value(`kappa_learner_windowed_accuracy${learner}`, (v) => v > 0 && v <= 1);
  const rest = (await learnerStatus(worker.api, learn))!;
  expect(rest.windowed).not.toBeNull();
  expect(Math.abs(accuracy - rest.windowed!.accuracy)).toBeLessThan(0.01);
  expect(learned.windowed!.accuracy).toBeGreaterThan(0.9);
  expect(await prometheus.value(`kappa_learner_mistakes_total${learner}`, (v) => v === rest.counters.mistakes)).toBe(rest.counters.mistakes);
  expect(await prometheus.value(`kappa_learner_pending_events${learner}`, (v) => v === rest.pending.events)).toBe(rest.pending.events);
  // eslint-disable-next-line no-console
  console.log(`[metrics] read rate ${rate.toFixed(1)}/s, inference p50 ${(p50 * 1000).toFixed(2)} ms over ${calls} calls, windowed accuracy ${accuracy} (/learners ${rest.windowed!.accuracy})`);

  // the same text on the REST listener
  const viaRest = await request('GET', `${worker.url}/metrics`);
  expect(viaRest.status).toBe(200);
  expect(viaRest.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(viaRest.text).toContain(`kafka_connect_sink_task_metrics_sink_record_read_total{connector="${score}",task="0"} ${GOOD + BAD}`);
  // a scraper asking for text only (no */*) gets it too: the JSON-only Accept rule of the REST API does not apply
  const textOnly = await request('GET', `${worker.url}/metrics`, { headers: { Accept: 'text/plain;version=0.0.4' } });
  expect(textOnly.status).toBe(200);
  // the metrics listener serves nothing else
  expect((await request('GET', `http://127.0.0.1:${metricsPort}/connectors`)).status).toBe(404);
});

it('tasks on the main thread (kappa.task.threads=false) count the same; a deleted connector leaves no task series; log.format=json', async () => {
  const inline = await startWorker({ props: { 'kappa.task.threads': 'false', 'log.format': 'json' } });
  const input = await createTopic(uniqueName('it-metrics-inline'), 1);
  topics.push(input);
  const name = uniqueName('inline');
  await createConnector(inline.api, name, {
    'connector.class': 'io.kappa.connect.file.FileStreamSinkConnector', 'tasks.max': '1', topics: input, file: outputFile('metrics-inline'),
    'errors.tolerance': 'all',
  });
  await waitForState(inline.api, name, 'RUNNING', { taskState: 'RUNNING', taskCount: 1 });
  await produce(input, [{ value: { a: 1 } }, { value: 'not json' }, { value: { a: 2 } }]);
  const line = (m: string) => `${m}{connector="${name}",task="0"}`;
  // read is counted when a batch is taken, send once it was put: wait for the batch to be through
  const expected = [
    `${line('kafka_connect_sink_task_metrics_sink_record_read_total')} 3`,
    `${line('kafka_connect_sink_task_metrics_sink_record_send_total')} 2`,
    `${line('kafka_connect_task_error_metrics_total_records_skipped')} 1`,
  ];
  let text = '';
  await waitFor(async () => {
    text = (await request('GET', `${inline.url}/metrics`)).text;
    return expected.every((e) => text.includes(e));
  }, { timeoutMs: 30_000, description: `${expected.join(', ')} on the inline worker` });
  expect(expected.filter((e) => !text.includes(e))).toEqual([]);
  expect((await inline.api.delete(`/connectors/${encodeURIComponent(name)}`)).status).toBe(204);
  await waitFor(async () => !(await request('GET', `${inline.url}/metrics`)).text.includes(`connector="${name}"`), { timeoutMs: 30_000, description: 'series of the deleted connector gone' });
  // every line the worker printed is a JSON object with a log4j level, a logger and a message
  const lines = inline.logs().split('\n').filter((l) => l.trim() !== '');
  const events = lines.map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return l; } });
  expect(events.filter((e) => typeof e === 'string')).toEqual([]);
  expect(events).toContainEqual(expect.objectContaining({ level: 'INFO', logger: 'io.kappa.connect.Worker', message: 'Worker started' }));
  // the record that failed in the converter was tolerated and not logged (errors.log.enable is false): no ERROR
  expect(events.filter((e) => (e as { level?: string }).level === 'ERROR')).toEqual([]);
});
