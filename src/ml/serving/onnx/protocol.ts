/** Messages between the inference pool (main thread) and its worker threads. */
import type { LoadOptions, ModelInfo, ModelKey, Prediction, SerializedError } from './types';
import type { SessionTuning } from './session';

export interface WorkerInit {
  readonly tuning: SessionTuning;
}

export type WorkerRequest =
  | { readonly id: number; readonly op: 'load'; readonly key: ModelKey; readonly bytes: Uint8Array; readonly options: LoadOptions }
  | { readonly id: number; readonly op: 'run'; readonly key: ModelKey; readonly rows: Float32Array; readonly nRows: number; readonly nFeatures: number }
  | { readonly id: number; readonly op: 'unload'; readonly key: ModelKey }
  | { readonly id: number; readonly op: 'close' };

export type WorkerResult = ModelInfo | Prediction | null;

export type WorkerReply =
  | { readonly id: number; readonly ok: true; readonly result: WorkerResult }
  | { readonly id: number; readonly ok: false; readonly error: SerializedError };
