/** Shared bits of the serving integration tests (model fixtures, publishing, scoring connectors). */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Api, describeResponse, KAFKA_TOPIC_SINK } from './helpers';

export const MODELS_DIR = path.join(__dirname, '..', 'fixtures', 'models');

export interface Fixture {
  id: string;
  features: string[];
  classLabels: (number | string)[] | null;
  expected: { rows: number[][]; labels?: (number | string)[]; probabilities?: number[][]; decisionScores?: (number | number[])[]; values?: number[] };
}

export function fixture(name: string): Fixture {
  return JSON.parse(fs.readFileSync(path.join(MODELS_DIR, `${name}.json`), 'utf8')) as Fixture;
}

export function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function onnxUri(name: string): string {
  return `file://${path.join(MODELS_DIR, `${name}.onnx`)}`;
}

/** A publish body for a fixture model under `id`/`version`. */
export function modelBody(id: string, version: string, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const f = fixture(name);
  return {
    id,
    version,
    algorithm: name,
    format: 'onnx',
    uri: onnxUri(name),
    sha256: sha256(path.join(MODELS_DIR, `${name}.onnx`)),
    input: { features: f.features },
    ...extra,
  };
}

export async function publish(api: Api, body: Record<string, unknown>): Promise<void> {
  const res = await api.post('/models', body);
  if (res.status !== 201) throw new Error(`publish failed: ${describeResponse(res)}`);
}

/** A KafkaTopicSink connector config that scores with the Score transform. */
export function scoringConnector(input: string, output: string, score: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  const cfg: Record<string, string> = {
    'connector.class': KAFKA_TOPIC_SINK,
    'tasks.max': '1',
    topics: input,
    'target.topic': output,
    transforms: 'score',
    'transforms.score.type': 'Score',
    ...extra,
  };
  for (const [k, v] of Object.entries(score)) cfg[`transforms.score.${k}`] = v;
  return cfg;
}
