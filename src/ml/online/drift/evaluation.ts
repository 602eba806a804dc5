/**
 * The measuring runs behind the drift-adaptation numbers in docs/online-learning.md, in process:
 * a drifting stream through a drift-adaptive learner (how fast the windowed accuracy recovers after
 * an abrupt change), and a stationary data set in a fixed order (what detection costs when nothing
 * changes). Tests and the report script share them so that both measure the same thing.
 */
import { ClassificationMetrics, recoveryEvents } from '../metrics';
import type { DriftingStream } from '../streams';
import type { Label, LearnerConfig } from '../types';
import { createAdaptiveLearner, type DriftConfig, type DriftEvent } from './adaptive';

export interface RecoveryResult {
  /** mean windowed accuracy over the 1000 labels before the change */
  pre: number;
  /** lowest windowed accuracy after the change */
  min: number;
  /** labels after the change until the windowed accuracy is back within `tolerance` of `pre` (-1: never) */
  recovery: number;
  /** detections (warnings and drifts) after the change, first one first */
  events: DriftEvent[];
  /** drifts signalled before the change (false alarms) */
  falseAlarms: number;
}

/**
 * Test-then-train over `total` samples of `stream`, whose concept changes abruptly at `driftAt`.
 * Windowed accuracy over `window` labels; the pre-drift level is its mean over the 1000 labels
 * before the change.
 */
export function driftRecovery(opts: {
  stream: DriftingStream;
  driftAt: number;
  total: number;
  learner: LearnerConfig;
  drift?: DriftConfig;
  window?: number;
  tolerance?: number;
}): RecoveryResult {
  const { stream, driftAt, total } = opts;
  const learner = createAdaptiveLearner(opts.learner, opts.drift);
  const metrics = new ClassificationMetrics(opts.learner.classes ?? [0, 1], opts.window ?? 200);
  const series = new Float64Array(total);
  const events: DriftEvent[] = [];
  let falseAlarms = 0;
  for (let t = 0; t < total; t++) {
    const { x, y } = stream.next();
    const { info, event } = learner.update(x, y, t + 1, null);
    metrics.add(y, info.prediction.label as Label);
    series[t] = metrics.windowed().accuracy;
    if (event && t >= driftAt) events.push(event);
    else if (event?.kind === 'drift') falseAlarms++;
  }
  const from = Math.max(0, driftAt - 1000);
  let pre = 0;
  for (let t = from; t < driftAt; t++) pre += (series[t] as number) / (driftAt - from);
  let min = 1;
  for (let t = driftAt; t < total; t++) min = Math.min(min, series[t] as number);
  return { pre, min, recovery: recoveryEvents(series, driftAt, opts.tolerance ?? 0.02, pre), events, falseAlarms };
}

/** Prequential accuracy of one pass over X/y in `order`, and the drifts signalled on the way. */
export function stationaryAccuracy(opts: {
  X: ArrayLike<number>[];
  y: Label[];
  order: number[];
  learner: LearnerConfig;
  drift?: DriftConfig;
}): { accuracy: number; drifts: number; warnings: number } {
  const learner = createAdaptiveLearner(opts.learner, opts.drift);
  let correct = 0;
  opts.order.forEach((i, t) => {
    const { info } = learner.update(opts.X[i] as ArrayLike<number>, opts.y[i] as Label, t + 1, null);
    if (!info.mistake) correct++;
  });
  return { accuracy: correct / opts.order.length, drifts: learner.drifts, warnings: learner.warnings };
}
