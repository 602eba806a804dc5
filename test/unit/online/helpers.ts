import { readFileSync } from 'fs';
import { resolve } from 'path';
import { loadNumericCsv, LabelledData } from '../../../src/ml/online/datasets';

export const FIXTURES = resolve(__dirname, '../../fixtures/online');
export const DATASETS_DIR = process.env.KAPPA_DATASETS_DIR ?? resolve(__dirname, '../../../../shared/datasets');

export function fixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(resolve(FIXTURES, name), 'utf8')) as T;
}

const cache = new Map<string, LabelledData>();
export function dataset(name: string): LabelledData {
  let d = cache.get(name);
  if (!d) {
    d = loadNumericCsv(resolve(DATASETS_DIR, `${name}.csv`));
    cache.set(name, d);
  }
  return d;
}

export interface Orders {
  datasets: Record<string, { sha256: string; rows: number; classes: number[]; orders: Record<string, number[]> }>;
}

/** |a - b| <= tol * max(|a|, |b|, 1e-300) */
export function relClose(a: number, b: number, tol: number): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b), 1e-300);
}
