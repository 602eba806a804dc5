/** Drift detectors (one module each) and the factory that builds one from its name or its state. */
import { Adwin, type AdwinOptions, type AdwinState } from './adwin';
import { Ddm, type DdmOptions, type DdmState } from './ddm';
import type { DetectorKind, DetectorState, DriftDetector } from './detector';
import { PageHinkley, type PageHinkleyOptions, type PageHinkleyState } from './page-hinkley';

export { Adwin, Ddm, PageHinkley };
export type { AdwinOptions, DdmOptions, PageHinkleyOptions, DetectorKind, DetectorState, DriftDetector };
export type { DetectorSignal } from './detector';

export interface DetectorOptions {
  adwin?: AdwinOptions;
  ddm?: DdmOptions;
  pageHinkley?: PageHinkleyOptions;
}

export function createDetector(kind: DetectorKind, opts: DetectorOptions = {}): DriftDetector {
  switch (kind) {
    case 'adwin': return new Adwin(opts.adwin);
    case 'ddm': return new Ddm(opts.ddm);
    case 'page_hinkley': return new PageHinkley(opts.pageHinkley);
    default: throw new Error(`unknown drift detector '${String(kind)}'`);
  }
}

export function detectorFromState(s: DetectorState): DriftDetector {
  switch (s.kind) {
    case 'adwin': return Adwin.fromState(s as unknown as AdwinState);
    case 'ddm': return Ddm.fromState(s as unknown as DdmState);
    case 'page_hinkley': return PageHinkley.fromState(s as unknown as PageHinkleyState);
    default: throw new Error(`unknown drift detector state '${String(s.kind)}'`);
  }
}
