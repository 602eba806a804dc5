/** Small helpers to read the numeric CSV data sets (last column = class label) used by tests and runs. */
import { createHash } from 'crypto';
import { readFileSync } from 'fs';

export interface LabelledData {
  X: Float64Array[];
  y: number[];
  classes: number[];
  sha256: string;
}

/** Parse a CSV with a header row, numeric features and a numeric label in the last column. */
export function parseNumericCsv(text: string): Omit<LabelledData, 'sha256'> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const X: Float64Array[] = [];
  const y: number[] = [];
  for (const line of lines.slice(1)) {
    const cells = line.split(',').map((c) => Number(c.trim().replace(/^"|"$/g, '')));
    if (cells.some((v) => !Number.isFinite(v))) throw new Error(`non-numeric CSV row: ${line}`);
    X.push(Float64Array.from(cells.slice(0, -1)));
    y.push(cells[cells.length - 1] as number);
  }
  const classes = [...new Set(y)].sort((a, b) => a - b);
  return { X, y, classes };
}

export function loadNumericCsv(path: string): LabelledData {
  const buf = readFileSync(path);
  return { ...parseNumericCsv(buf.toString('utf8')), sha256: createHash('sha256').update(buf).digest('hex') };
}
