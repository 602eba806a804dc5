/**
 * Deterministic synthetic streams with concept drift, written from the published definitions
 * (SEA: Street & Kim 2001; rotating hyperplane: Hulten, Spencer & Domingos 2001; RandomRBF with
 * moving centroids as in MOA). Every random draw comes from Mulberry32 (./prng), in the order
 * documented on each class, so a seed fixes the whole stream. Labels are class indices 0..K-1.
 */
import { Mulberry32 } from './prng';

export interface StreamSample {
  x: Float64Array;
  y: number;
}

export interface DriftingStream {
  readonly nFeatures: number;
  readonly nClasses: number;
  /** Number of samples produced so far. */
  readonly position: number;
  next(): StreamSample;
}

export function take(stream: DriftingStream, n: number): StreamSample[] {
  const out: StreamSample[] = [];
  for (let i = 0; i < n; i++) out.push(stream.next());
  return out;
}

export const SEA_THRESHOLDS = [8, 9, 7, 9.5] as const;

/**
 * SEA concepts: x in U[0,10]^3 (x2 irrelevant), y = 1 iff x0 + x1 > theta(variant), labels flipped
 * with probability `noise`. Abrupt drift: `drifts` lists {at, variant}; from sample index `at` on,
 * the variant changes. Draw order per sample: x0, x1, x2, then one uniform for the noise flip
 * (always drawn, so the noise level does not shift the feature stream).
 */
export class SEAStream implements DriftingStream {
  readonly nFeatures = 3;
  readonly nClasses = 2;
  position = 0;
  private readonly rng: Mulberry32;
  private readonly drifts: { at: number; variant: number }[];

  constructor(private readonly opts: { seed: number; variant?: number; noise?: number; drifts?: { at: number; variant: number }[] }) {
    this.rng = new Mulberry32(opts.seed);
    this.drifts = [...(opts.drifts ?? [])].sort((a, b) => a.at - b.at);
    for (const v of [opts.variant ?? 0, ...this.drifts.map((d) => d.variant)]) {
      if (!(v >= 0 && v < SEA_THRESHOLDS.length)) throw new Error(`SEA variant must be 0..3, got ${v}`);
    }
  }

  variantAt(t: number): number {
    let v = this.opts.variant ?? 0;
    for (const d of this.drifts) if (t >= d.at) v = d.variant;
    return v;
  }

  next(): StreamSample {
    const x = new Float64Array(3);
    for (let j = 0; j < 3; j++) x[j] = 10 * this.rng.next();
    const theta = SEA_THRESHOLDS[this.variantAt(this.position)] as number;
    let y = (x[0] as number) + (x[1] as number) > theta ? 1 : 0;
    if (this.rng.next() < (this.opts.noise ?? 0)) y = 1 - y;
    this.position++;
    return { x, y };
  }
}

/**
 * Rotating hyperplane: weights w_i ~ U[0,1] drawn at construction; x ~ U[0,1]^d;
 * y = 1 iff sum w_i x_i >= (1/2) sum w_i; label flipped with probability `noise`.
 * Drift after each sample: for the first `nDriftFeatures` weights, w_i += dir_i * magChange, and
 * with probability `sigma` dir_i reverses (dir_i starts at +1). Draw order per sample: x_0..x_{d-1},
 * noise uniform, then one uniform per drifting weight for the reversal.
 * Defaults: d = 10, noise 0.05, nDriftFeatures 2, magChange 0.001, sigma 0.1.
 * Abrupt drift: `drifts` lists {at, seed}; right before sample index `at` all d weights are drawn
 * anew as U[0,1] from their own Mulberry32(seed), so the sample stream's draws are not shifted
 * (an abrupt rotation of the hyperplane; with magChange 0 it is the only change).
 */
export class HyperplaneStream implements DriftingStream {
  readonly nFeatures: number;
  readonly nClasses = 2;
  position = 0;
  readonly weights: Float64Array;
  private readonly dir: Float64Array;
  private readonly rng: Mulberry32;
  private readonly noise: number;
  private readonly nDrift: number;
  private readonly mag: number;
  private readonly sigma: number;
  private readonly drifts: { at: number; seed: number }[];

  constructor(opts: {
    seed: number;
    nFeatures?: number;
    noise?: number;
    nDriftFeatures?: number;
    magChange?: number;
    sigma?: number;
    drifts?: { at: number; seed: number }[];
  }) {
    this.nFeatures = opts.nFeatures ?? 10;
    this.noise = opts.noise ?? 0.05;
    this.nDrift = Math.min(opts.nDriftFeatures ?? 2, this.nFeatures);
    this.mag = opts.magChange ?? 0.001;
    this.sigma = opts.sigma ?? 0.1;
    this.rng = new Mulberry32(opts.seed);
    this.weights = new Float64Array(this.nFeatures);
    for (let i = 0; i < this.nFeatures; i++) this.weights[i] = this.rng.next();
    this.dir = new Float64Array(this.nFeatures).fill(1);
    this.drifts = [...(opts.drifts ?? [])].sort((a, b) => a.at - b.at);
  }

  next(): StreamSample {
    const d = this.nFeatures;
    for (const change of this.drifts) {
      if (change.at !== this.position) continue;
      const rng = new Mulberry32(change.seed);
      for (let i = 0; i < d; i++) this.weights[i] = rng.next();
    }
    const x = new Float64Array(d);
    let s = 0;
    let wsum = 0;
    for (let i = 0; i < d; i++) {
      x[i] = this.rng.next();
      s += (this.weights[i] as number) * (x[i] as number);
      wsum += this.weights[i] as number;
    }
    let y = s >= 0.5 * wsum ? 1 : 0;
    if (this.rng.next() < this.noise) y = 1 - y;
    for (let i = 0; i < this.nDrift; i++) {
      this.weights[i] = (this.weights[i] as number) + (this.dir[i] as number) * this.mag;
      if (this.rng.next() < this.sigma) this.dir[i] = -(this.dir[i] as number);
    }
    this.position++;
    return { x, y };
  }
}

/**
 * RandomRBF with drift. Model generator (modelSeed), per centroid in order: centre U[0,1]^d,
 * class = floor(U * nClasses), std U[0,1], weight U[0,1]; then, for the first nDriftCentroids
 * centroids, a speed direction U[-1,1]^d normalised to unit length.
 * Sample generator (sampleSeed), per sample: a uniform to pick a centroid with probability
 * proportional to its weight, d uniforms for a direction in [-1,1]^d (normalised), and one
 * Gaussian (two uniforms) for the length, scaled by the centroid's std; x = centre + length * dir.
 * After each sample the drifting centres move by speed * changeSpeed and reflect at 0 and 1.
 * Defaults: d = 10, nClasses 2, nCentroids 50, nDriftCentroids 0, changeSpeed 0.
 */
export class RandomRBFStream implements DriftingStream {
  readonly nFeatures: number;
  readonly nClasses: number;
  position = 0;
  readonly centres: Float64Array[] = [];
  readonly labels: number[] = [];
  readonly stds: number[] = [];
  private readonly cumWeights: number[] = [];
  private readonly speeds: Float64Array[] = [];
  private readonly rng: Mulberry32;
  private readonly changeSpeed: number;

  constructor(opts: {
    modelSeed: number;
    sampleSeed: number;
    nFeatures?: number;
    nClasses?: number;
    nCentroids?: number;
    nDriftCentroids?: number;
    changeSpeed?: number;
  }) {
    const d = (this.nFeatures = opts.nFeatures ?? 10);
    this.nClasses = opts.nClasses ?? 2;
    const nc = opts.nCentroids ?? 50;
    const nDrift = Math.min(opts.nDriftCentroids ?? 0, nc);
    this.changeSpeed = opts.changeSpeed ?? 0;
    const mrng = new Mulberry32(opts.modelSeed);
    let total = 0;
    for (let c = 0; c < nc; c++) {
      const centre = new Float64Array(d);
      for (let j = 0; j < d; j++) centre[j] = mrng.next();
      this.centres.push(centre);
      this.labels.push(Math.floor(mrng.next() * this.nClasses));
      this.stds.push(mrng.next());
      total += mrng.next();
      this.cumWeights.push(total);
    }
    for (let c = 0; c < nDrift; c++) this.speeds.push(unitVector(mrng, d));
    this.rng = new Mulberry32(opts.sampleSeed);
  }

  next(): StreamSample {
    const d = this.nFeatures;
    const total = this.cumWeights[this.cumWeights.length - 1] as number;
    const u = this.rng.next() * total;
    let c = 0;
    while (c < this.cumWeights.length - 1 && u >= (this.cumWeights[c] as number)) c++;
    const dir = unitVector(this.rng, d);
    const len = this.rng.gaussian() * (this.stds[c] as number);
    const centre = this.centres[c] as Float64Array;
    const x = new Float64Array(d);
    for (let j = 0; j < d; j++) x[j] = (centre[j] as number) + len * (dir[j] as number);
    const y = this.labels[c] as number;
    for (let k = 0; k < this.speeds.length; k++) {
      const ck = this.centres[k] as Float64Array;
      const sp = this.speeds[k] as Float64Array;
      for (let j = 0; j < d; j++) {
        let v = (ck[j] as number) + (sp[j] as number) * this.changeSpeed;
        if (v < 0) {
          v = -v;
          sp[j] = -(sp[j] as number);
        } else if (v > 1) {
          v = 2 - v;
          sp[j] = -(sp[j] as number);
        }
        ck[j] = v;
      }
    }
    this.position++;
    return { x, y };
  }
}

/** d uniforms in [-1, 1], normalised (a zero vector, which has probability ~0, stays zero). */
function unitVector(rng: Mulberry32, d: number): Float64Array {
  const v = new Float64Array(d);
  let n = 0;
  for (let j = 0; j < d; j++) {
    v[j] = rng.uniform(-1, 1);
    n += (v[j] as number) * (v[j] as number);
  }
  n = Math.sqrt(n);
  if (n > 0) for (let j = 0; j < d; j++) v[j] = (v[j] as number) / n;
  return v;
}
