/**
 * Shared by the learn*.test.ts files: the shuffled banknote stream as Kafka records (events and
 * labels held back by D events on one topic), a learning connector config, and an in-memory
 * reference that runs the same sequence through the pure learner (src/ml/online, no Kafka).
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseNumericCsv } from '../../src/ml/online/datasets';
import { Api, FILE_SINK, OutRecord, REPO_ROOT, outputFile, waitFor } from './helpers';

export interface Banknote { X: number[][]; y: number[] }

export function banknote(): Banknote {
  const dir = process.env.KAPPA_DATASETS_DIR ?? path.join(REPO_ROOT, 'test', 'fixtures', 'datasets');
  const d = parseNumericCsv(fs.readFileSync(path.join(dir, 'banknote.csv'), 'utf8'));
  return { X: d.X.map((x) => Array.from(x)), y: d.y };
}

export function order(seed: number): number[] {
  const o = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'online', 'orders.json'), 'utf8'));
  return o.datasets.banknote.orders[String(seed)] as number[];
}

export type Step = { id: string; x?: number[]; label?: number };

/** Event t, and its label after event t + delay (delay 0: right after the event). */
export function delayedSequence(d: Banknote, ord: number[], delay: number): Step[] {
  const out: Step[] = [];
  const queue: number[] = [];
  ord.forEach((i, t) => {
    out.push({ id: `e${t}`, x: d.X[i]! });
    queue.push(t);
    while (queue.length > delay) {
      const u = queue.shift()!;
      out.push({ id: `e${u}`, label: d.y[ord[u]!]! });
    }
  });
  for (const u of queue) out.push({ id: `e${u}`, label: d.y[ord[u]!]! });
  return out;
}

export function toRecords(steps: Step[], t0 = Date.now()): OutRecord[] {
  return steps.map((s, i) => ({
    key: s.id,
    value: s.x ? { id: s.id, f1: s.x[0], f2: s.x[1], f3: s.x[2], f4: s.x[3] } : { id: s.id, label: s.label },
    timestamp: t0 + i,
  }));
}

export const LEARNERS: Record<string, Record<string, string>> = {
  'pa-i': { algorithm: 'pa-i' }, // sklearn parity: intercept outside the norm
  'scw-i': { algorithm: 'scw-i' },
  'scw-ii': { algorithm: 'scw-ii' },
};

/** A FileStreamSink connector with the Learn transform in front. */
export function learnConnector(topic: string, learner: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  const conf: Record<string, string> = {
    'connector.class': FILE_SINK,
    'tasks.max': '1',
    topics: topic,
    file: outputFile('learn'),
    transforms: 'learn',
    'transforms.learn.type': 'Learn',
    'transforms.learn.classes': '0,1',
    'transforms.learn.features': 'f1,f2,f3,f4',
    'transforms.learn.metrics.window': '200',
  };
  for (const [k, v] of Object.entries({ ...learner, ...extra })) conf[`transforms.learn.${k}`] = v;
  return conf;
}

export interface LearnerStatus {
  learned: number;
  cumulative: { n: number; accuracy: number; precision: number; recall: number; f1: number };
  windowed: { accuracy: number } | null;
  counters: Record<string, number>;
  runtime: { skippedReplayed: number; invalidRecords: number };
  state: { epoch: number; restoredFrom: { epoch: number; pending: number; orphans: number } | null } | null;
  pending: { events: number; feedback: number };
}

export async function learnerStatus(api: Api, name: string): Promise<LearnerStatus | undefined> {
  const res = await api.get<LearnerStatus>(`/learners/${encodeURIComponent(name)}`);
  return res.status === 200 ? res.body : undefined;
}

export async function waitLearned(api: Api, name: string, count: number, timeoutMs = 60_000): Promise<LearnerStatus> {
  let last: LearnerStatus | undefined;
  return waitFor(async () => {
    last = await learnerStatus(api, name);
    return last && last.learned >= count ? last : undefined;
  }, { timeoutMs, intervalMs: 300, description: `${name} learned ${count} (at ${last?.learned})` });
}

/** The same sequence through the pure learner: predict on events, learn on labels (shared oracle). */
export { referenceRun } from '../unit/online/learn-helpers';

export function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}
