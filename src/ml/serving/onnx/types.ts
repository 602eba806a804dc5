/** Shared types of the ONNX serving layer (main thread and inference workers). */
import type { ClassLabels, ScoreKind } from './graph';

export type { ClassLabels, ScoreKind };

/**
 * A model in the pool is a (model id, version) pair: versions of one model live side by side.
 * `instance` tells apart separate loads of the same version (the catalog may load a version again
 * while an earlier load of it waits out its unload grace): each load owns its sessions, so
 * releasing one can never remove another's.
 */
export interface ModelKey {
  readonly modelId: string;
  readonly version: string | number;
  readonly instance?: number;
}

/** The key as users know it (`id@version`), for messages. */
export function keyString(key: ModelKey): string {
  return `${key.modelId}@${key.version}`;
}

/** The key the pool and its workers index sessions by (includes the load instance). */
export function slotKey(key: ModelKey): string {
  return key.instance === undefined ? keyString(key) : `${keyString(key)}#${key.instance}`;
}

export interface TensorInfo {
  readonly name: string;
  /** onnxruntime tensor type ('float32', 'int64', 'string', ...) or 'non-tensor'. */
  readonly type: string;
  /** Dimensions: numbers where fixed, null where symbolic/unknown. Empty if unknown rank. */
  readonly dims: (number | null)[];
}

export type ModelKind = 'classifier' | 'regressor';

export interface ModelInfo {
  readonly key: ModelKey;
  readonly kind: ModelKind;
  readonly inputs: TensorInfo[];
  /** Outputs as onnxruntime sees them after the ZipMap rewrite. */
  readonly outputs: TensorInfo[];
  /** Number of features the single float input takes per row, or null if symbolic. */
  readonly nFeatures: number | null;
  /** Class labels in probability-column order (classifiers). */
  readonly classLabels?: ClassLabels;
  /** Graph outputs that were ZipMap sequences of maps and are now [N, k] float tensors. */
  readonly zipMapOutputs: string[];
  /** Which outputs the pool reads. */
  readonly labelOutput?: string;
  readonly probabilityOutput?: string;
  /**
   * What the probability output holds: class probabilities, or decision scores of a classifier
   * that has no probabilities (LinearSVC and friends). Set with probabilityOutput.
   */
  readonly scoreKind?: ScoreKind;
  readonly valueOutput?: string;
  /** Columns of the value output per row (1 for a plain regressor). */
  readonly valuesPerRow?: number;
  /** Size of the model as loaded (after the rewrite) and its sha256 is up to the caller. */
  readonly bytes: number;
}

export interface Prediction {
  readonly nRows: number;
  /** Predicted labels, one per row (classifiers). */
  readonly labels?: number[] | string[];
  /** Row-major probabilities n × k, columns in `classLabels` order (classifiers). */
  readonly probabilities?: Float32Array;
  /** Number of probability columns (k). */
  readonly nClasses?: number;
  /** Row-major regression outputs n × valuesPerRow (regressors). */
  readonly values?: Float32Array;
  readonly valuesPerRow?: number;
}

export interface LoadOptions {
  /** Override the detected output roles. */
  readonly labelOutput?: string;
  readonly probabilityOutput?: string;
  readonly valueOutput?: string;
  /** Refuse the model at load time if its input does not take exactly this many features. */
  readonly expectedFeatures?: number;
}

export type ServingErrorCode =
  | 'MODEL_INVALID'
  | 'MODEL_UNSUPPORTED'
  | 'MODEL_INPUT_MISMATCH'
  | 'MODEL_NOT_LOADED'
  | 'BAD_REQUEST'
  | 'INFERENCE_FAILED'
  | 'WORKER_FAILED'
  | 'POOL_CLOSED'
  | 'BATCHER_CLOSED'
  /** the catalog now resolves the model id to another version (or none) than the one the rows were built for */
  | 'RESOLUTION_CHANGED';

export class ServingError extends Error {
  readonly code: ServingErrorCode;
  constructor(code: ServingErrorCode, message: string) {
    super(message);
    this.name = 'ServingError';
    this.code = code;
  }
}

/** Plain-object form of an error that crosses the thread boundary. */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof ServingError) return { name: e.name, message: e.message, code: e.code };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

export function deserializeError(e: SerializedError): Error {
  if (e.code) return new ServingError(e.code as ServingErrorCode, e.message);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

/** True for a plain (non-shared) ArrayBuffer from any realm (jest runs tests in a vm context). */
export function isPlainArrayBuffer(b: unknown): b is ArrayBuffer {
  return Object.prototype.toString.call(b) === '[object ArrayBuffer]';
}
