/**
 * What every drift detector offers: it is fed one number per learned label (the learner's
 * prequential error: 1/0 for a mistake of a classifier, the absolute error of a regressor) and
 * answers whether the stream still looks stationary. Detectors watch for a rise of the error only:
 * an error that falls (a learner still learning) is good news, not a drift.
 *
 * State is plain JSON (numbers and arrays) so it can ride in the learner checkpoint.
 */
export type DetectorKind = 'adwin' | 'ddm' | 'page_hinkley';
export type DetectorSignal = 'none' | 'warning' | 'drift';

export interface DriftDetector {
  readonly kind: DetectorKind;
  /** Takes the next error value; 'drift' when a rise of the error is detected. */
  update(error: number): DetectorSignal;
  /** Forgets everything seen (a fresh detector with the same parameters). */
  reset(): void;
  toState(): DetectorState;
}

/** The common part of every detector's JSON state (each module extends it). */
export interface DetectorState {
  kind: DetectorKind;
}

export function finiteIn(name: string, v: number, lo: number, hi: number, loOpen = false, hiOpen = false): number {
  const okLo = loOpen ? v > lo : v >= lo;
  const okHi = hiOpen ? v < hi : v <= hi;
  if (typeof v !== 'number' || !Number.isFinite(v) || !okLo || !okHi) {
    throw new Error(`${name} must be in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${v}`);
  }
  return v;
}
