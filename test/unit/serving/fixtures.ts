/** Loads the ONNX fixtures written by scripts/models/make_models.py. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ArtifactPolicy, type ArtifactPolicyOptions } from '../../../src/ml/serving/artifact-policy';

export const MODELS_DIR = path.join(__dirname, '..', '..', 'fixtures', 'models');

export interface FixtureMeta {
  id: string;
  version: number;
  file: string;
  sha256: string;
  task: 'classification' | 'regression';
  input: { name: string; type: string; shape: (number | null)[] };
  outputs: { name: string; kind: string; type?: string }[];
  features: string[];
  classLabels: (number | string)[] | null;
  expected: {
    rows: number[][];
    labels?: (number | string)[];
    probabilities?: number[][];
    /** classifiers without probabilities: decision_function (one value per row for two classes) */
    decisionScores?: number[] | number[][];
    values?: number[];
  };
}

export const FIXTURES = [
  'iris-logreg-v1',
  'iris-logreg-v2',
  'iris-logreg-nozipmap',
  'iris-rf',
  'iris-rf-nozipmap',
  'iris-mismatch-3f',
  'wine-alcohol-ridge',
  'banknote-logreg',
  'banknote-linearsvc',
  'iris-linearsvc',
] as const;
export type FixtureName = (typeof FIXTURES)[number];

export function meta(name: FixtureName): FixtureMeta {
  return JSON.parse(fs.readFileSync(path.join(MODELS_DIR, `${name}.json`), 'utf8')) as FixtureMeta;
}

export function modelBytes(name: FixtureName): Uint8Array {
  return new Uint8Array(fs.readFileSync(path.join(MODELS_DIR, `${name}.onnx`)));
}

/** Rows of the fixture as one row-major Float32Array. */
export function rowsOf(m: FixtureMeta, nFeatures = m.expected.rows[0]!.length): Float32Array {
  const out = new Float32Array(m.expected.rows.length * nFeatures);
  m.expected.rows.forEach((r, i) => out.set(r.slice(0, nFeatures), i * nFeatures));
  return out;
}

/** An artifact policy for tests: the fixtures and temporary directories, plus `extra`. */
export function testPolicy(extra: Partial<ArtifactPolicyOptions> = {}): ArtifactPolicy {
  return new ArtifactPolicy({
    fileDirs: [MODELS_DIR, os.tmpdir(), ...(extra.fileDirs ?? [])],
    httpHosts: extra.httpHosts ?? [],
    maxRedirects: extra.maxRedirects ?? 3,
    maxBytes: extra.maxBytes ?? 64 * 1024 * 1024,
    timeoutMs: extra.timeoutMs ?? 5000,
  });
}
