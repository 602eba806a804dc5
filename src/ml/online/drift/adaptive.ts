/**
 * A learner that watches its own prequential error with a drift detector and adapts when the
 * error rises: the foreground learner serves and learns as usual; each label's error (1/0 for a
 * mistake of a classifier, |y − ŷ| for a regressor, both from the learner's prediction just before
 * the update, so a reset learner is judged on its own answers and not on what an older model
 * served) goes to the detector, and on its signal one of these actions runs:
 *
 * - `reset`: a fresh learner (same config, no weights, no scaler statistics).
 * - `inflate` (AROW/SCW): the covariance goes back to a·I, the confidence of a new learner, while
 *   the means are kept (scaled by `inflateMeanScale`, 1 by default): the learner can move fast
 *   again and starts from what it knew.
 * - `background`: a fresh learner trains beside the foreground from the warning (DDM) or the
 *   detection (ADWIN, Page-Hinkley) on; it replaces the foreground when its accuracy (regression:
 *   mean absolute error) over the last `backgroundWindow` labels beats the foreground's over the
 *   same labels, or at DDM's drift. A DDM warning that passes without a drift drops it, and so does
 *   `backgroundMaxAge` labels without a win.
 *
 * A detector that sees a new learner starts over too (its error stream is a new one). The last 50
 * warnings and drifts are kept with their label index, stream time and action, and everything is
 * part of the checkpoint.
 */
import { LinearOnlineLearner } from '../learner';
import type { Label, LearnerConfig, LearnerState, ResolvedConfig, UpdateInfo } from '../types';
import { createDetector, Ddm, detectorFromState, type DetectorOptions, type DetectorState, type DriftDetector } from './index';

export type DetectorName = 'none' | 'adwin' | 'ddm' | 'page_hinkley';
export type DriftActionName = 'none' | 'reset' | 'inflate' | 'background';
/** What was done at a warning or drift. */
export type ActionTaken = 'none' | 'reset' | 'inflate' | 'background-start' | 'background-swap';

export interface DriftConfig extends DetectorOptions {
  detector: DetectorName;
  action: DriftActionName;
  /** inflate: the means are multiplied by this (1 keeps them, 0 forgets them) */
  inflateMeanScale?: number;
  /** background: labels over which background and foreground are compared */
  backgroundWindow?: number;
  /** background: a background learner that has not won after this many labels is dropped */
  backgroundMaxAge?: number;
}

export const DRIFT_EVENTS_KEPT = 50;

export interface DriftEvent {
  /** index of the label that raised it (1 = the first label learned) */
  event: number;
  kind: 'warning' | 'drift';
  action: ActionTaken;
  /** stream time (the record timestamp, epoch ms) of that label; null without timestamps */
  time: number | null;
}

export interface DriftStatus {
  detector: DetectorName;
  action: DriftActionName;
  warnings: number;
  drifts: number;
  events: DriftEvent[];
  /** background action only: the learner in training, and how often one replaced the foreground */
  background?: { active: boolean; since: number | null; swaps: number; dropped: number };
}

interface Background {
  learner: LinearOnlineLearner;
  since: number;
  startedBy: 'warning' | 'drift';
  /** per label since it started: [foreground score, background score] (1/0 correct, or −|error|) */
  scores: [number, number][];
}

export interface DriftAdaptiveState {
  format: 'kappa-drift';
  version: 1;
  detector: DetectorState | null;
  warnings: number;
  drifts: number;
  swaps: number;
  dropped: number;
  events: DriftEvent[];
  background: { learner: LearnerState; since: number; startedBy: 'warning' | 'drift'; scores: [number, number][] } | null;
}

const isCW = (c: ResolvedConfig) => c.algorithm === 'arow' || c.algorithm === 'scw-i' || c.algorithm === 'scw-ii';

/** Fills the defaults and refuses combinations that cannot work; returns the config to use. */
export function resolveDriftConfig(d: DriftConfig | undefined, learner: ResolvedConfig): Required<Pick<DriftConfig, 'detector' | 'action' | 'inflateMeanScale' | 'backgroundWindow' | 'backgroundMaxAge'>> & DetectorOptions {
  const detector = d?.detector ?? 'none';
  if (!['none', 'adwin', 'ddm', 'page_hinkley'].includes(detector)) throw new Error(`unknown drift detector '${detector}'`);
  const action = d?.action ?? 'none';
  if (!['none', 'reset', 'inflate', 'background'].includes(action)) throw new Error(`unknown drift action '${action}'`);
  if (detector === 'none' && action !== 'none') throw new Error(`drift action '${action}' needs a drift detector`);
  if (detector === 'ddm' && learner.task === 'regression') throw new Error('DDM watches 0/1 mistakes: use adwin or page_hinkley for regression');
  if (action === 'inflate' && !isCW(learner)) throw new Error(`drift action 'inflate' restores a covariance: only AROW/SCW have one (use reset or background for ${learner.algorithm})`);
  const inflateMeanScale = d?.inflateMeanScale ?? 1;
  if (!(inflateMeanScale >= 0 && inflateMeanScale <= 1)) throw new Error(`inflate mean scale must be in [0, 1], got ${inflateMeanScale}`);
  const backgroundWindow = d?.backgroundWindow ?? 100;
  if (!Number.isInteger(backgroundWindow) || backgroundWindow < 1) throw new Error(`background window must be a positive integer, got ${backgroundWindow}`);
  const backgroundMaxAge = d?.backgroundMaxAge ?? 2000;
  if (!Number.isInteger(backgroundMaxAge) || backgroundMaxAge < backgroundWindow) throw new Error(`background max age must be an integer >= the background window, got ${backgroundMaxAge}`);
  const out = { detector, action, inflateMeanScale, backgroundWindow, backgroundMaxAge, adwin: d?.adwin, ddm: d?.ddm, pageHinkley: d?.pageHinkley };
  if (detector !== 'none') createDetector(detector, out); // validates the detector parameters
  return out;
}

export interface AdaptiveUpdate {
  info: UpdateInfo;
  /** set when this label raised a warning or a drift */
  event?: DriftEvent;
}

export class DriftAdaptiveLearner {
  private fg: LinearOnlineLearner;
  private bg: Background | null = null;
  private readonly detector: DriftDetector | null;
  readonly settings: ReturnType<typeof resolveDriftConfig>;
  private warningsSeen = 0;
  private driftsSeen = 0;
  private swaps = 0;
  private dropped = 0;
  private readonly log: DriftEvent[] = [];

  constructor(learner: LinearOnlineLearner, drift?: DriftConfig, restored?: DriftAdaptiveState | null) {
    this.fg = learner;
    this.settings = resolveDriftConfig(drift, learner.config);
    const s = this.settings;
    // a checkpoint's detector is used only when it is the configured kind (a changed config starts over)
    this.detector = s.detector === 'none' ? null
      : restored?.detector && restored.detector.kind === s.detector ? detectorFromState(restored.detector)
        : createDetector(s.detector, s);
    if (restored && this.detector) {
      if (restored.format !== 'kappa-drift' || restored.version !== 1) throw new Error('not a kappa-drift v1 state');
      this.warningsSeen = restored.warnings;
      this.driftsSeen = restored.drifts;
      this.swaps = restored.swaps;
      this.dropped = restored.dropped;
      this.log.push(...restored.events.slice(-DRIFT_EVENTS_KEPT));
      if (restored.background && s.action === 'background') {
        const b = restored.background;
        this.bg = { learner: LinearOnlineLearner.fromState(b.learner), since: b.since, startedBy: b.startedBy, scores: b.scores.map(([f, g]) => [f, g]) };
      }
    }
  }

  get learner(): LinearOnlineLearner {
    return this.fg;
  }

  get enabled(): boolean {
    return this.detector !== null;
  }

  /** For metrics: warnings and drifts detected so far (also before a restart). */
  get warnings(): number {
    return this.warningsSeen;
  }

  get drifts(): number {
    return this.driftsSeen;
  }

  /** Background learners that replaced the foreground. */
  get backgroundSwaps(): number {
    return this.swaps;
  }

  update(x: ArrayLike<number>, y: Label, index: number, time: number | null): AdaptiveUpdate {
    const info = this.fg.update(x, y);
    if (!this.detector) return { info };
    const regression = this.fg.config.task === 'regression';
    const error = regression ? Math.abs((y as number) - (info.prediction.value as number)) : info.mistake ? 1 : 0;
    if (this.bg) {
      const b = this.bg.learner.update(x, y);
      const bgScore = regression ? -Math.abs((y as number) - (b.prediction.value as number)) : b.mistake ? 0 : 1;
      this.bg.scores.push([regression ? -error : 1 - error, bgScore]);
      if (this.bg.scores.length > this.settings.backgroundWindow) this.bg.scores.shift();
    }
    const signal = this.detector.update(error);
    let event: DriftEvent | undefined;
    if (signal === 'warning') {
      this.warningsSeen++;
      let action: ActionTaken = 'none';
      if (this.settings.action === 'background' && !this.bg) {
        this.startBackground(index, 'warning');
        action = 'background-start';
      }
      event = this.record({ event: index, kind: 'warning', action, time });
    } else if (signal === 'drift') {
      this.driftsSeen++;
      event = this.record({ event: index, kind: 'drift', action: this.onDrift(index), time });
    } else if (this.bg) {
      this.backgroundStep(index);
    }
    return { info, event };
  }

  private onDrift(index: number): ActionTaken {
    switch (this.settings.action) {
      case 'reset':
        this.replaceForeground(new LinearOnlineLearner(this.fg.config));
        return 'reset';
      case 'inflate':
        this.fg.restoreConfidence(this.settings.inflateMeanScale);
        return 'inflate';
      case 'background':
        // DDM's drift confirms its warning: the learner trained since then takes over. ADWIN and
        // Page-Hinkley have no warning: the detection starts the background learner.
        if (this.bg && this.bg.startedBy === 'warning') {
          this.swap();
          return 'background-swap';
        }
        if (this.bg) return 'none';
        this.startBackground(index, 'drift');
        return 'background-start';
      default:
        return 'none';
    }
  }

  private backgroundStep(index: number): void {
    const b = this.bg!;
    const w = this.settings.backgroundWindow;
    if (b.scores.length >= w) {
      let f = 0;
      let g = 0;
      for (const [fs, gs] of b.scores) {
        f += fs;
        g += gs;
      }
      if (g > f) {
        this.swap();
        return;
      }
    }
    const passedWarning = b.startedBy === 'warning' && this.detector instanceof Ddm && !this.detector.warning;
    if (passedWarning || index - b.since >= this.settings.backgroundMaxAge) {
      this.bg = null;
      this.dropped++;
    }
  }

  private startBackground(index: number, startedBy: 'warning' | 'drift'): void {
    this.bg = { learner: new LinearOnlineLearner(this.fg.config), since: index, startedBy, scores: [] };
  }

  private swap(): void {
    const b = this.bg!;
    this.bg = null;
    this.swaps++;
    this.replaceForeground(b.learner);
  }

  /** A new foreground learner is a new error stream: the detector starts over with it. */
  private replaceForeground(l: LinearOnlineLearner): void {
    this.fg = l;
    this.detector?.reset();
  }

  private record(e: DriftEvent): DriftEvent {
    this.log.push(e);
    if (this.log.length > DRIFT_EVENTS_KEPT) this.log.shift();
    return e;
  }

  status(): DriftStatus {
    const s: DriftStatus = {
      detector: this.settings.detector,
      action: this.settings.action,
      warnings: this.warningsSeen,
      drifts: this.driftsSeen,
      events: this.log.map((e) => ({ ...e })),
    };
    if (this.settings.action === 'background') s.background = { active: this.bg !== null, since: this.bg?.since ?? null, swaps: this.swaps, dropped: this.dropped };
    return s;
  }

  /** null when no detector runs (the checkpoint then looks as it did before drift detection existed). */
  toState(): DriftAdaptiveState | null {
    if (!this.detector) return null;
    return {
      format: 'kappa-drift',
      version: 1,
      detector: this.detector.toState(),
      warnings: this.warningsSeen,
      drifts: this.driftsSeen,
      swaps: this.swaps,
      dropped: this.dropped,
      events: this.log.map((e) => ({ ...e })),
      background: this.bg ? { learner: this.bg.learner.toState(), since: this.bg.since, startedBy: this.bg.startedBy, scores: this.bg.scores.map(([f, g]) => [f, g]) } : null,
    };
  }
}

/** Convenience for in-process runs: a drift-adaptive learner from a plain learner config. */
export function createAdaptiveLearner(learner: LearnerConfig, drift?: DriftConfig): DriftAdaptiveLearner {
  return new DriftAdaptiveLearner(new LinearOnlineLearner(learner), drift);
}
