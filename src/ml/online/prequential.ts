/** Test-then-train runs over an in-memory labelled sequence. */
import { ClassificationMetrics, ClassificationReport } from './metrics';
import { Label, OnlineLearner } from './types';

export interface PrequentialResult {
  report: ClassificationReport;
  /** Class index predicted before each update. */
  predictions: number[];
  /** Windowed accuracy after each event (only with a window). */
  windowedAccuracy?: Float64Array;
}

/** For each i in order: predict x[order[i]] with the current state, score it, then update. */
export function prequentialClassification(
  learner: OnlineLearner,
  X: ArrayLike<number>[],
  y: Label[],
  classes: Label[],
  opts: { order?: number[]; window?: number } = {},
): PrequentialResult {
  const order = opts.order ?? X.map((_, i) => i);
  const metrics = new ClassificationMetrics(classes, opts.window ?? 0);
  const predictions: number[] = [];
  const wacc = opts.window ? new Float64Array(order.length) : undefined;
  order.forEach((idx, t) => {
    const info = learner.update(X[idx] as ArrayLike<number>, y[idx] as Label);
    predictions.push(info.prediction.classIndex as number);
    metrics.add(y[idx] as Label, info.prediction.label as Label);
    if (wacc) wacc[t] = metrics.windowed().accuracy;
  });
  return { report: metrics.cumulative(), predictions, windowedAccuracy: wacc };
}
