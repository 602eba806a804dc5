/** Shared types of the online-learning core (pure maths, no Kafka). */

export type Label = string | number;
export type Algorithm = 'perceptron' | 'pa' | 'pa-i' | 'pa-ii' | 'arow' | 'scw-i' | 'scw-ii';
export type Task = 'binary' | 'multiclass' | 'regression';
/**
 * How the bias is learnt.
 * - 'intercept': a separate intercept per weight row, updated with the same step as the weights but
 *   left out of ||x||^2 (scikit-learn / River convention). PA family and perceptron only.
 * - 'feature': a constant 1 is appended to x, so the bias is an ordinary weight and counts in the
 *   norm / covariance (the papers' and LIBOL's convention).
 * - 'none': no bias.
 */
export type BiasMode = 'intercept' | 'feature' | 'none';
/** 'max-score': Crammer-Singer coupled update (true class vs best wrong class); 'ovr': one-vs-rest. */
export type MulticlassMode = 'max-score' | 'ovr';
export type CovarianceMode = 'full' | 'diagonal';
/**
 * Online z-score timing.
 * - 'before': predict and update with the statistics of the samples seen so far (excluding x), then
 *   add x to the statistics at the end of update(). Nothing about x leaks into its own prediction.
 * - 'include': x is added to the statistics first and then standardised (scikit-learn's
 *   StandardScaler.partial_fit-then-transform order); predict() uses the would-be statistics
 *   without committing them.
 */
export type StandardizeTiming = 'before' | 'include';

export interface LearnerConfig {
  algorithm: Algorithm;
  task: Task;
  /** Input dimension d (without the bias feature). */
  nFeatures: number;
  /** Class labels, required for binary/multiclass. Binary: classes[1] is the positive class. */
  classes?: Label[];
  /** Aggressiveness (PA-I/PA-II, SCW-I/SCW-II). Default 1. */
  C?: number;
  /** Insensitivity of the regression loss. Default 0.1. */
  epsilon?: number;
  /** SCW confidence level, phi = Phi^-1(eta). Default 0.75 (SCW-I; multiclass SCW-II), 0.9 (binary SCW-II). */
  eta?: number;
  /** AROW regulariser. Default 1. */
  r?: number;
  /** Initial covariance Sigma = a I (AROW/SCW). Default 1. */
  a?: number;
  /** Default: 'intercept' for PA family / perceptron, 'feature' for AROW/SCW. */
  bias?: BiasMode;
  /** Default 'max-score'. */
  multiclass?: MulticlassMode;
  /** Default 'full'. */
  covariance?: CovarianceMode;
  /** false (default), true (= 'before') or a timing. */
  standardize?: boolean | StandardizeTiming;
}

/** A config with every default filled in; this is what a learner state carries. */
export interface ResolvedConfig {
  algorithm: Algorithm;
  task: Task;
  nFeatures: number;
  classes: Label[] | null;
  C: number;
  epsilon: number;
  eta: number;
  r: number;
  a: number;
  bias: BiasMode;
  multiclass: MulticlassMode;
  covariance: CovarianceMode;
  standardize: 'off' | StandardizeTiming;
}

export interface Prediction {
  /** Predicted label (classification). */
  label?: Label;
  /** Index of the predicted label in classes (classification). */
  classIndex?: number;
  /** Predicted value (regression). */
  value?: number;
  /** Decision values: one per class (multiclass), [w.x+b] (binary, > 0 means classes[1]), [w.x+b] (regression). */
  scores: number[];
}

export interface UpdateInfo {
  /** The prediction made with the state before this update (prequential: test, then train). */
  prediction: Prediction;
  /** The algorithm's loss before the update (sum over rows for one-vs-rest). */
  loss: number;
  /** Whether any parameter changed. */
  updated: boolean;
  /** Classification: predicted label != true label. Regression: false. */
  mistake: boolean;
}

export interface OnlineLearner {
  readonly config: Readonly<ResolvedConfig>;
  predict(x: ArrayLike<number>): Prediction;
  update(x: ArrayLike<number>, y: Label): UpdateInfo;
  toState(): LearnerState;
  toLinearModel(): LinearModel;
}

/** Float64 arrays are stored as base64 of their little-endian IEEE-754 bytes (exact, -0 and NaN too). */
export type EncodedArray = { f64: string };

export interface LearnerState {
  format: 'kappa-learner';
  version: 1;
  config: ResolvedConfig;
  /** Number of update() calls. */
  samples: number;
  /** Number of updates that changed parameters. */
  updates: number;
  /** K x D row-major (K = 1 for binary/regression; D = nFeatures (+1 with bias 'feature')). */
  weights: EncodedArray;
  /** K intercepts (zeros unless bias 'intercept'). */
  intercepts: EncodedArray;
  /** AROW/SCW: covariance, per row or shared (full: D x D each; diagonal: D each). */
  covariance: EncodedArray | null;
  scaler: { n: number; mean: EncodedArray; m2: EncodedArray } | null;
}

/** A plain linear model that a scoring transform can evaluate without the learner. */
export interface LinearModel {
  format: 'kappa-linear-model';
  version: 1;
  task: Task;
  /** null for regression. Binary: one row, score > 0 means classes[1]. Multiclass: argmax over rows. */
  classes: Label[] | null;
  nFeatures: number;
  /** One row per class (multiclass) or a single row (binary, regression), in input feature space. */
  weights: number[][];
  intercepts: number[];
  /** When present, the model applies to z = (x - mean) / scale. */
  standardisation?: { mean: number[]; scale: number[] };
}
