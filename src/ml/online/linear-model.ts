import { Label, LinearModel, Prediction } from './types';

/**
 * Evaluate an exported linear model on raw input x:
 *   z = (x - mean) / scale (when standardisation is present), s_k = w_k . z + b_k.
 * Binary: label classes[1] when s_0 > 0, else classes[0]. Multiclass: argmax (first on ties).
 * Regression: value s_0.
 */
export function evaluateLinearModel(model: LinearModel, x: ArrayLike<number>): Prediction {
  const d = model.nFeatures;
  if (x.length !== d) throw new Error(`expected ${d} features, got ${x.length}`);
  const z = new Float64Array(d);
  const st = model.standardisation;
  for (let j = 0; j < d; j++) z[j] = st ? ((x[j] as number) - (st.mean[j] as number)) / (st.scale[j] as number) : (x[j] as number);
  const scores: number[] = [];
  for (let k = 0; k < model.weights.length; k++) {
    const w = model.weights[k] as number[];
    let s = 0;
    for (let j = 0; j < d; j++) s += (w[j] as number) * (z[j] as number);
    scores.push(s + (model.intercepts[k] as number));
  }
  if (model.task === 'regression') return { value: scores[0] as number, scores };
  const classes = model.classes as Label[];
  let idx = 0;
  if (model.task === 'binary') idx = (scores[0] as number) > 0 ? 1 : 0;
  else for (let k = 1; k < scores.length; k++) if ((scores[k] as number) > (scores[idx] as number)) idx = k;
  return { label: classes[idx] as Label, classIndex: idx, scores };
}

/** Light structural validation of a linear model object (e.g. after JSON.parse). */
export function validateLinearModel(m: unknown): LinearModel {
  const o = m as LinearModel;
  if (!o || o.format !== 'kappa-linear-model' || o.version !== 1) throw new Error('not a kappa-linear-model v1');
  if (!Array.isArray(o.weights) || !Array.isArray(o.intercepts) || o.weights.length !== o.intercepts.length) {
    throw new Error('weights and intercepts must be arrays of equal length');
  }
  for (const row of o.weights) if (!Array.isArray(row) || row.length !== o.nFeatures) throw new Error('each weight row needs nFeatures values');
  if (o.task === 'binary' && (o.weights.length !== 1 || o.classes?.length !== 2)) throw new Error('binary models have one row and two classes');
  if (o.task === 'multiclass' && o.classes?.length !== o.weights.length) throw new Error('multiclass models have one row per class');
  if (o.task === 'regression' && o.weights.length !== 1) throw new Error('regression models have one row');
  return o;
}
