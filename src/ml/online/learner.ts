import { decodeF64, encodeF64 } from './encoding';
import { normalQuantile } from './normal';
import { OnlineStandardizer } from './standardizer';
import {
  Algorithm,
  Label,
  LearnerConfig,
  LearnerState,
  LinearModel,
  OnlineLearner,
  Prediction,
  ResolvedConfig,
  UpdateInfo,
} from './types';

const ALGORITHMS: Algorithm[] = ['perceptron', 'pa', 'pa-i', 'pa-ii', 'arow', 'scw-i', 'scw-ii'];
const isPA = (a: Algorithm): boolean => a === 'pa' || a === 'pa-i' || a === 'pa-ii';
const isCW = (a: Algorithm): boolean => a === 'arow' || a === 'scw-i' || a === 'scw-ii';

function positive(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive finite number, got ${v}`);
  return v;
}

/** Fill in the defaults (see docs/online-learning.md for where each default comes from) and validate. */
export function resolveConfig(c: LearnerConfig): ResolvedConfig {
  if (!c || typeof c !== 'object') throw new Error('learner config must be an object');
  if (!ALGORITHMS.includes(c.algorithm)) throw new Error(`unknown algorithm '${String(c.algorithm)}'`);
  if (c.task !== 'binary' && c.task !== 'multiclass' && c.task !== 'regression') throw new Error(`unknown task '${String(c.task)}'`);
  if (!Number.isInteger(c.nFeatures) || c.nFeatures < 1) throw new Error('nFeatures must be a positive integer');
  let classes: Label[] | null = null;
  if (c.task === 'regression') {
    if (!isPA(c.algorithm)) throw new Error(`algorithm '${c.algorithm}' does not support regression (PA family only)`);
  } else {
    classes = c.classes ? [...c.classes] : c.task === 'binary' ? [0, 1] : null;
    if (!classes) throw new Error('multiclass learners need classes');
    if (new Set(classes).size !== classes.length) throw new Error('classes must be distinct');
    if (c.task === 'binary' && classes.length !== 2) throw new Error('binary learners need exactly 2 classes');
    if (c.task === 'multiclass' && classes.length < 2) throw new Error('multiclass learners need at least 2 classes');
  }
  const cw = isCW(c.algorithm);
  const bias = c.bias ?? (cw ? 'feature' : 'intercept');
  if (!['intercept', 'feature', 'none'].includes(bias)) throw new Error(`unknown bias mode '${bias}'`);
  if (cw && bias === 'intercept') {
    throw new Error("AROW/SCW keep the bias inside the Gaussian: use bias 'feature' (or 'none'), not 'intercept'");
  }
  const multiclass = c.multiclass ?? 'max-score';
  if (multiclass !== 'max-score' && multiclass !== 'ovr') throw new Error(`unknown multiclass mode '${multiclass}'`);
  const covariance = c.covariance ?? 'full';
  if (covariance !== 'full' && covariance !== 'diagonal') throw new Error(`unknown covariance mode '${covariance}'`);
  const defaultEta = c.algorithm === 'scw-ii' && c.task === 'binary' ? 0.9 : 0.75;
  const eta = c.eta ?? defaultEta;
  if (!(eta > 0.5 && eta < 1)) throw new Error(`eta must be in (0.5, 1), got ${eta}`);
  const s = c.standardize;
  const standardize = s === undefined || s === false ? 'off' : s === true ? 'before' : s;
  if (standardize !== 'off' && standardize !== 'before' && standardize !== 'include') throw new Error(`unknown standardize '${String(s)}'`);
  const epsilon = c.epsilon ?? 0.1;
  if (!(epsilon >= 0) || !Number.isFinite(epsilon)) throw new Error('epsilon must be >= 0');
  return {
    algorithm: c.algorithm,
    task: c.task,
    nFeatures: c.nFeatures,
    classes,
    C: positive('C', c.C ?? 1),
    epsilon,
    eta,
    r: positive('r', c.r ?? 1),
    a: positive('a', c.a ?? 1),
    bias,
    multiclass,
    covariance,
    standardize,
  };
}

/**
 * One linear online learner; the algorithm, task and conventions come from the config.
 *
 * Layout: K weight rows of length D (K = 1 for binary/regression, K = #classes for multiclass;
 * D = d, plus 1 with bias 'feature'), K intercepts (bias 'intercept'), and for AROW/SCW a
 * covariance per row (binary, one-vs-rest) or one shared by all rows (multiclass max-score), full
 * (D x D) or diagonal (D).
 */
export class LinearOnlineLearner implements OnlineLearner {
  readonly config: Readonly<ResolvedConfig>;
  private readonly K: number;
  private readonly D: number;
  private readonly W: Float64Array;
  private readonly b: Float64Array;
  private readonly cov: Float64Array | null;
  private readonly covBlock: number;
  private readonly scaler: OnlineStandardizer | null;
  private readonly classIndex: Map<Label, number>;
  private readonly phi: number;
  private samples = 0;
  private updates = 0;
  // scratch buffers
  private readonly z: Float64Array;
  private readonly sz: Float64Array;
  private readonly scores: Float64Array;

  constructor(config: LearnerConfig | ResolvedConfig) {
    const c = resolveConfig(config as LearnerConfig);
    this.config = Object.freeze(c);
    this.K = c.task === 'multiclass' ? (c.classes as Label[]).length : 1;
    this.D = c.nFeatures + (c.bias === 'feature' ? 1 : 0);
    this.W = new Float64Array(this.K * this.D);
    this.b = new Float64Array(this.K);
    this.classIndex = new Map((c.classes ?? []).map((l, i) => [l, i]));
    if (isCW(c.algorithm)) {
      this.covBlock = c.covariance === 'full' ? this.D * this.D : this.D;
      const blocks = c.task === 'multiclass' && c.multiclass === 'max-score' ? 1 : this.K;
      this.cov = new Float64Array(blocks * this.covBlock);
      for (let k = 0; k < blocks; k++) {
        for (let i = 0; i < this.D; i++) this.cov[k * this.covBlock + (c.covariance === 'full' ? i * this.D + i : i)] = c.a;
      }
    } else {
      this.covBlock = 0;
      this.cov = null;
    }
    this.phi = c.algorithm === 'scw-i' || c.algorithm === 'scw-ii' ? normalQuantile(c.eta) : 0;
    this.scaler = c.standardize === 'off' ? null : new OnlineStandardizer(c.nFeatures, c.standardize);
    this.z = new Float64Array(this.D);
    this.sz = new Float64Array(this.D);
    this.scores = new Float64Array(this.K);
  }

  static fromState(state: LearnerState): LinearOnlineLearner {
    if (!state || state.format !== 'kappa-learner') throw new Error("not a learner state (format must be 'kappa-learner')");
    if (state.version !== 1) throw new Error(`unsupported learner state version ${String(state.version)}`);
    const l = new LinearOnlineLearner(state.config);
    l.W.set(decodeF64(state.weights, l.W.length));
    l.b.set(decodeF64(state.intercepts, l.b.length));
    if (l.cov) {
      if (!state.covariance) throw new Error('learner state lacks the covariance');
      l.cov.set(decodeF64(state.covariance, l.cov.length));
    }
    if (l.scaler) {
      if (!state.scaler) throw new Error('learner state lacks the scaler statistics');
      l.scaler.n = state.scaler.n;
      l.scaler.mean.set(decodeF64(state.scaler.mean, l.config.nFeatures));
      l.scaler.m2.set(decodeF64(state.scaler.m2, l.config.nFeatures));
    }
    l.samples = state.samples;
    l.updates = state.updates;
    return l;
  }

  toState(): LearnerState {
    const c = this.config;
    return {
      format: 'kappa-learner',
      version: 1,
      config: {
        algorithm: c.algorithm,
        task: c.task,
        nFeatures: c.nFeatures,
        classes: c.classes ? [...c.classes] : null,
        C: c.C,
        epsilon: c.epsilon,
        eta: c.eta,
        r: c.r,
        a: c.a,
        bias: c.bias,
        multiclass: c.multiclass,
        covariance: c.covariance,
        standardize: c.standardize,
      },
      samples: this.samples,
      updates: this.updates,
      weights: encodeF64(this.W),
      intercepts: encodeF64(this.b),
      covariance: this.cov ? encodeF64(this.cov) : null,
      scaler: this.scaler ? { n: this.scaler.n, mean: encodeF64(this.scaler.mean), m2: encodeF64(this.scaler.m2) } : null,
    };
  }

  /** Copies of the raw parameters (for tests and diagnostics). */
  parameters(): { weights: Float64Array; intercepts: Float64Array; covariance: Float64Array | null; rows: number; dim: number } {
    return { weights: this.W.slice(), intercepts: this.b.slice(), covariance: this.cov ? this.cov.slice() : null, rows: this.K, dim: this.D };
  }

  /**
   * Gives an AROW/SCW learner its initial confidence back after a concept change: every covariance
   * block becomes a·I again, as at construction, and the means (and intercepts) are multiplied by
   * `meanScale` (1 keeps what was learnt as the starting point, 0 forgets it). The scaler and the
   * counters stay. Learners without a covariance refuse: for them only a reset makes sense.
   */
  restoreConfidence(meanScale: number): void {
    if (!this.cov) throw new Error(`algorithm '${this.config.algorithm}' has no covariance to restore (AROW/SCW only)`);
    if (!(meanScale >= 0 && meanScale <= 1)) throw new Error(`meanScale must be in [0, 1], got ${meanScale}`);
    const full = this.config.covariance === 'full';
    this.cov.fill(0);
    for (let k = 0; k < this.cov.length / this.covBlock; k++) {
      for (let i = 0; i < this.D; i++) this.cov[k * this.covBlock + (full ? i * this.D + i : i)] = this.config.a;
    }
    if (meanScale !== 1) {
      for (let i = 0; i < this.W.length; i++) this.W[i] = (this.W[i] as number) * meanScale;
      for (let i = 0; i < this.b.length; i++) this.b[i] = (this.b[i] as number) * meanScale;
    }
  }

  // ---- features and scores ------------------------------------------------------------------

  /** Fill this.z with the learner's view of x (standardised, bias feature appended). */
  private features(x: ArrayLike<number>, commitIncluding: boolean): void {
    const d = this.config.nFeatures;
    if (x.length !== d) throw new Error(`expected ${d} features, got ${x.length}`);
    if (this.scaler) {
      if (this.scaler.timing === 'include') {
        if (commitIncluding) {
          this.scaler.observe(x);
          this.scaler.transform(x, this.z);
        } else {
          this.scaler.transformIncluding(x, this.z);
        }
      } else {
        this.scaler.transform(x, this.z);
      }
    } else {
      for (let j = 0; j < d; j++) this.z[j] = x[j] as number;
    }
    if (this.config.bias === 'feature') this.z[d] = 1;
  }

  /** scores[k] = (sum_j W[k,j] z[j], summed left to right) + b[k] when bias is 'intercept'. */
  private computeScores(): void {
    const D = this.D;
    const withB = this.config.bias === 'intercept';
    for (let k = 0; k < this.K; k++) {
      let s = 0;
      const o = k * D;
      for (let j = 0; j < D; j++) s += (this.W[o + j] as number) * (this.z[j] as number);
      this.scores[k] = withB ? s + (this.b[k] as number) : s;
    }
  }

  private makePrediction(): Prediction {
    const c = this.config;
    const scores = Array.from(this.scores);
    if (c.task === 'regression') return { value: scores[0] as number, scores };
    const classes = c.classes as Label[];
    let idx: number;
    if (c.task === 'binary') idx = (scores[0] as number) > 0 ? 1 : 0;
    else idx = argmax(this.scores, -1);
    return { label: classes[idx] as Label, classIndex: idx, scores };
  }

  predict(x: ArrayLike<number>): Prediction {
    this.features(x, false);
    this.computeScores();
    return this.makePrediction();
  }

  update(x: ArrayLike<number>, y: Label): UpdateInfo {
    const c = this.config;
    let yi = -1;
    let yv = 0;
    if (c.task === 'regression') {
      yv = typeof y === 'number' ? y : Number(y);
      if (!Number.isFinite(yv)) throw new Error(`regression target must be a finite number, got ${String(y)}`);
    } else {
      const found = this.classIndex.get(y);
      if (found === undefined) throw new Error(`unknown class label ${JSON.stringify(y)}`);
      yi = found;
    }
    this.features(x, true);
    this.computeScores();
    const prediction = this.makePrediction();
    let loss = 0;
    let updated = false;
    if (c.task === 'regression') {
      [loss, updated] = this.paRegressionStep(yv);
    } else if (c.task === 'binary' || c.multiclass === 'ovr') {
      for (let k = 0; k < this.K; k++) {
        const yk = c.task === 'binary' ? (yi === 1 ? 1 : -1) : yi === k ? 1 : -1;
        const [l, u] = this.binaryStep(k, yk, this.scores[k] as number);
        loss += l;
        updated = updated || u;
      }
    } else {
      [loss, updated] = this.maxScoreStep(yi);
    }
    if (this.scaler && this.scaler.timing === 'before') this.scaler.observe(x);
    this.samples++;
    if (updated) this.updates++;
    const mistake = c.task === 'regression' ? false : prediction.classIndex !== yi;
    return { prediction, loss, updated, mistake };
  }

  // ---- update rules --------------------------------------------------------------------------

  private sqnormZ(): number {
    let s = 0;
    for (let j = 0; j < this.D; j++) s += (this.z[j] as number) * (this.z[j] as number);
    return s;
  }

  /** PA step size from loss and (joint) squared norm; null means "skip this sample". */
  private paTau(loss: number, sq: number): number | null {
    const { algorithm, C } = this.config;
    if (algorithm === 'pa') return sq === 0 ? 0 : loss / sq;
    if (algorithm === 'pa-i') return sq === 0 ? null : Math.min(C, loss / sq);
    return loss / (sq + 0.5 / C); // pa-ii
  }

  private addRow(k: number, scale: number, v: Float64Array): void {
    const o = k * this.D;
    for (let j = 0; j < this.D; j++) this.W[o + j] = (this.W[o + j] as number) + (v[j] as number) * scale;
  }

  /** Binary update of row k with y in {-1,+1} and its pre-update score f. Returns [loss, updated]. */
  private binaryStep(k: number, y: number, f: number): [number, boolean] {
    const alg = this.config.algorithm;
    const m = y * f;
    if (alg === 'perceptron') {
      if (m > 0) return [0, false];
      this.addRow(k, y, this.z);
      if (this.config.bias === 'intercept') this.b[k] = (this.b[k] as number) + y;
      return [-m, true];
    }
    if (isPA(alg)) {
      // hinge loss as scikit-learn computes it: 1 - m when m <= 1, else 0
      const loss = m <= 1 ? 1 - m : 0;
      const tau = this.paTau(loss, this.sqnormZ());
      if (tau === null) return [loss, false];
      const upd = tau * y;
      if (upd !== 0) {
        this.addRow(k, upd, this.z);
        if (this.config.bias === 'intercept') this.b[k] = (this.b[k] as number) + upd;
      }
      return [loss, upd !== 0];
    }
    // AROW / SCW
    const block = this.config.task === 'multiclass' && this.config.multiclass === 'max-score' ? 0 : k;
    const v = this.covTimesZ(block);
    const [loss, alpha, beta] = this.cwCoefficients(m, v);
    if (!(alpha > 0)) return [loss, false];
    this.addRow(k, alpha * y, this.sz);
    this.covDowndate(block, beta);
    return [loss, true];
  }

  /** Crammer-Singer coupled update: true class yi against the best-scoring wrong class. */
  private maxScoreStep(yi: number): [number, boolean] {
    const alg = this.config.algorithm;
    const s = argmax(this.scores, yi);
    const margin = (this.scores[yi] as number) - (this.scores[s] as number);
    if (alg === 'perceptron') {
      const p = argmax(this.scores, -1);
      if (p === yi) return [0, false];
      this.addRow(yi, 1, this.z);
      this.addRow(p, -1, this.z);
      if (this.config.bias === 'intercept') {
        this.b[yi] = (this.b[yi] as number) + 1;
        this.b[p] = (this.b[p] as number) - 1;
      }
      return [(this.scores[p] as number) - (this.scores[yi] as number), true];
    }
    if (isPA(alg)) {
      const loss = margin <= 1 ? 1 - margin : 0;
      const tau = this.paTau(loss, 2 * this.sqnormZ());
      if (tau === null || tau === 0) return [loss, false];
      this.addRow(yi, tau, this.z);
      this.addRow(s, -tau, this.z);
      if (this.config.bias === 'intercept') {
        this.b[yi] = (this.b[yi] as number) + tau;
        this.b[s] = (this.b[s] as number) - tau;
      }
      return [loss, true];
    }
    // AROW / SCW with a shared covariance. The joint feature difference (+z in row y, -z in row s)
    // has variance 2v; alpha and beta come from the binary rule with v -> 2v and m = f_y - f_s.
    // Keeping a single shared block, Sigma <- Sigma - 2 beta (Sigma z)(Sigma z)^T shrinks the
    // variance along the joint direction exactly as the joint-space rule would (2v - 4 beta v^2).
    const v = this.covTimesZ(0);
    const [loss, alpha, beta] = this.cwCoefficients(margin, 2 * v);
    if (!(alpha > 0)) return [loss, false];
    this.addRow(yi, alpha, this.sz);
    this.addRow(s, -alpha, this.sz);
    this.covDowndate(0, 2 * beta);
    return [loss, true];
  }

  private paRegressionStep(y: number): [number, boolean] {
    const f = this.scores[0] as number;
    const r = Math.abs(y - f) - this.config.epsilon;
    const loss = r > 0 ? r : 0;
    const tau = this.paTau(loss, this.sqnormZ());
    if (tau === null) return [loss, false];
    const upd = y - f < 0 ? -tau : tau;
    if (upd !== 0) {
      this.addRow(0, upd, this.z);
      if (this.config.bias === 'intercept') this.b[0] = (this.b[0] as number) + upd;
    }
    return [loss, upd !== 0];
  }

  /** this.sz = Sigma z for a covariance block; returns v = z . Sigma z. */
  private covTimesZ(block: number): number {
    const D = this.D;
    const cov = this.cov as Float64Array;
    const o = block * this.covBlock;
    let v = 0;
    if (this.config.covariance === 'full') {
      for (let i = 0; i < D; i++) {
        let s = 0;
        const ro = o + i * D;
        for (let j = 0; j < D; j++) s += (cov[ro + j] as number) * (this.z[j] as number);
        this.sz[i] = s;
      }
    } else {
      for (let i = 0; i < D; i++) this.sz[i] = (cov[o + i] as number) * (this.z[i] as number);
    }
    for (let i = 0; i < D; i++) v += (this.z[i] as number) * (this.sz[i] as number);
    return v;
  }

  /** Sigma <- Sigma - beta (Sigma z)(Sigma z)^T (diagonal: only the diagonal terms). */
  private covDowndate(block: number, beta: number): void {
    const D = this.D;
    const cov = this.cov as Float64Array;
    const o = block * this.covBlock;
    if (this.config.covariance === 'full') {
      for (let i = 0; i < D; i++) {
        const bi = beta * (this.sz[i] as number);
        const ro = o + i * D;
        for (let j = 0; j < D; j++) cov[ro + j] = (cov[ro + j] as number) - bi * (this.sz[j] as number);
      }
    } else {
      for (let i = 0; i < D; i++) cov[o + i] = (cov[o + i] as number) - beta * (this.sz[i] as number) * (this.sz[i] as number);
    }
  }

  /** [loss, alpha, beta] for AROW / SCW-I / SCW-II from margin m and variance v (alpha 0: no update). */
  private cwCoefficients(m: number, v: number): [number, number, number] {
    const { algorithm, C, r } = this.config;
    if (algorithm === 'arow') {
      if (m >= 1) return [0, 0, 0];
      const beta = 1 / (v + r);
      return [1 - m, (1 - m) * beta, beta];
    }
    const phi = this.phi;
    const loss = phi * Math.sqrt(v) - m;
    if (!(loss > 0) || v <= 0) return [Math.max(0, loss), 0, 0];
    const phi2 = phi * phi;
    let alpha: number;
    if (algorithm === 'scw-i') {
      const psi = 1 + phi2 / 2;
      const zeta = 1 + phi2;
      const raw = (-m * psi + Math.sqrt((m * m * phi2 * phi2) / 4 + v * phi2 * zeta)) / (v * zeta);
      alpha = Math.min(C, Math.max(0, raw));
    } else {
      const n = v + 1 / (2 * C);
      const gamma = phi * Math.sqrt(phi2 * m * m * v * v + 4 * n * v * (n + v * phi2));
      alpha = Math.max(0, (-(2 * m * n + phi2 * m * v) + gamma) / (2 * (n * n + n * v * phi2)));
    }
    if (!(alpha > 0)) return [loss, 0, 0];
    const avp = alpha * v * phi;
    const sq = -avp + Math.sqrt(avp * avp + 4 * v);
    const u = (sq * sq) / 4;
    const beta = (alpha * phi) / (Math.sqrt(u) + avp);
    return [loss, alpha, beta];
  }

  // ---- export --------------------------------------------------------------------------------

  toLinearModel(): LinearModel {
    const c = this.config;
    const d = c.nFeatures;
    const weights: number[][] = [];
    const intercepts: number[] = [];
    for (let k = 0; k < this.K; k++) {
      const row: number[] = [];
      for (let j = 0; j < d; j++) row.push(this.W[k * this.D + j] as number);
      weights.push(row);
      let b = c.bias === 'intercept' ? (this.b[k] as number) : 0;
      if (c.bias === 'feature') b += this.W[k * this.D + d] as number;
      intercepts.push(b);
    }
    const model: LinearModel = {
      format: 'kappa-linear-model',
      version: 1,
      task: c.task,
      classes: c.classes ? [...c.classes] : null,
      nFeatures: d,
      weights,
      intercepts,
    };
    if (this.scaler) model.standardisation = { mean: Array.from(this.scaler.mean), scale: Array.from(this.scaler.scales()) };
    return model;
  }
}

/** Index of the largest value (first one on ties), skipping index `skip`. */
function argmax(a: Float64Array, skip: number): number {
  let best = -1;
  let bv = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (i === skip) continue;
    const v = a[i] as number;
    if (best < 0 || v > bv) {
      best = i;
      bv = v;
    }
  }
  return best;
}
