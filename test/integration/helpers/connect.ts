/** Connect-specific helpers: fixture connector configs, status polling, error-body checks. */
import * as fs from 'fs';
import * as path from 'path';
import { Api, describeResponse, HttpResponse } from './http';
import { tmpDir } from './worker';
import { waitFor } from './wait';

export const RECORDING_SINK = 'io.kappa.test.RecordingSinkConnector';
export const RECORDING_TASK = 'io.kappa.test.RecordingSinkTask';
export const FAILING_SINK = 'io.kappa.test.FailingSinkConnector';
export const FAILING_TASK = 'io.kappa.test.FailingSinkTask';
export const PACKAGE_JSON_SINK = 'io.kappa.test.PackageJsonSinkConnector';
export const FILE_SINK = 'io.kappa.connect.file.FileStreamSinkConnector';
export const KAFKA_TOPIC_SINK = 'io.kappa.connect.kafka.KafkaTopicSinkConnector';

export const VALIDATE_HINT = 'You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`';

/** A fresh output file path for a recording sink. */
export function outputFile(prefix = 'out'): string {
  return path.join(tmpDir('kappa-it-out-'), `${prefix}.jsonl`);
}

export interface RecordedRecord {
  task: number;
  topic: string;
  partition: number;
  offset: number;
  key: unknown;
  value: unknown;
  headers: Record<string, string | null>;
  timestamp: number | null;
}

/** Lines the recording (or failing) sink appended to its `output.file` so far. */
export function readRecorded(file: string): RecordedRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as RecordedRecord);
}

export function readLines(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
}

export async function waitForRecorded(file: string, count: number, timeoutMs = 30_000): Promise<RecordedRecord[]> {
  return waitFor(
    () => {
      const recs = readRecorded(file);
      return recs.length >= count ? recs : undefined;
    },
    { timeoutMs, description: `${count} records in ${file} (have ${readRecorded(file).length})` },
  );
}

export function recordingSinkConfig(topic: string, file: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { 'connector.class': RECORDING_SINK, 'tasks.max': '1', topics: topic, 'output.file': file, ...extra };
}

export interface TaskStatus {
  id: number;
  state: string;
  worker_id: string;
  trace?: string;
}
export interface ConnectorStatus {
  name: string;
  connector: { state: string; worker_id: string; trace?: string };
  tasks: TaskStatus[];
  type: string;
}

export async function getStatus(api: Api, name: string): Promise<HttpResponse<ConnectorStatus>> {
  return api.get<ConnectorStatus>(`/connectors/${encodeURIComponent(name)}/status`);
}

/**
 * Waits until the connector has state `connectorState` and (if given) exactly `taskCount` tasks,
 * all in `taskState`. Returns the status body.
 */
export async function waitForState(
  api: Api,
  name: string,
  connectorState: string,
  opts: { taskState?: string; taskCount?: number; timeoutMs?: number } = {},
): Promise<ConnectorStatus> {
  let last = '';
  try {
    return await waitFor(
      async () => {
        const res = await getStatus(api, name);
        last = describeResponse(res);
        if (res.status !== 200) return undefined;
        const s = res.body;
        if (s.connector?.state !== connectorState) return undefined;
        if (opts.taskCount !== undefined && s.tasks.length !== opts.taskCount) return undefined;
        if (opts.taskState !== undefined && (s.tasks.length === 0 || s.tasks.some((t) => t.state !== opts.taskState))) return undefined;
        return s;
      },
      { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 300 },
    );
  } catch {
    throw new Error(
      `connector ${name} did not reach ${connectorState}` +
        (opts.taskState ? ` with ${opts.taskCount ?? 'all'} task(s) ${opts.taskState}` : '') +
        `; last status: ${last}`,
    );
  }
}

export async function waitForTaskState(api: Api, name: string, taskId: number, state: string, timeoutMs = 30_000): Promise<TaskStatus> {
  let last = '';
  try {
    return await waitFor(
      async () => {
        const res = await getStatus(api, name);
        last = describeResponse(res);
        if (res.status !== 200) return undefined;
        const t = res.body.tasks.find((x) => x.id === taskId);
        return t && t.state === state ? t : undefined;
      },
      { timeoutMs, intervalMs: 300 },
    );
  } catch {
    throw new Error(`task ${name}-${taskId} did not reach ${state}; last status: ${last}`);
  }
}

/** Asserts the Connect error shape `{"error_code": status, "message": ...}` and the status. */
export function expectError(res: HttpResponse, status: number, message?: string | RegExp): void {
  const ctx = describeResponse(res);
  if (res.status !== status) throw new Error(`expected HTTP ${status}, got ${ctx}`);
  expect(res.body).toEqual(expect.objectContaining({ error_code: status, message: expect.any(String) }));
  if (typeof message === 'string') expect(res.body.message).toBe(message);
  else if (message instanceof RegExp) expect(res.body.message).toMatch(message);
}

/** Asserts the HTTP status, with the response in the failure message. */
export function expectStatus(res: HttpResponse, status: number): void {
  if (res.status !== status) throw new Error(`expected HTTP ${status}, got ${describeResponse(res)}`);
}

/** Creates a connector via POST /connectors and asserts 201. */
export async function createConnector(
  api: Api,
  name: string,
  config: Record<string, unknown>,
  initialState?: string,
): Promise<HttpResponse> {
  const body: Record<string, unknown> = { name, config };
  if (initialState !== undefined) body.initial_state = initialState;
  const res = await api.post('/connectors', body);
  expectStatus(res, 201);
  return res;
}
