/**
 * Model backends: turn verified artifact bytes into a ServingModel that scores rows.
 *
 * - onnx: loaded into the shared InferencePool (worker threads, off the event loop), scored
 *   through a BatchScorer (micro-batches across all tasks using the version).
 * - linear: a `kappa-linear-model` JSON (what the online learners export), evaluated with
 *   evaluateLinearModel on the calling thread (a dot product per row).
 * - remote: an Open Inference Protocol v2 endpoint (remote/oip-backend.ts); no artifact.
 *
 * Loading checks that the model's inputs fit the control message's feature mapping; a model that
 * does not fit is refused (the catalog keeps the previous version).
 */
import { BatchScorer, InferencePool, keyString, type ModelInfo, type Prediction, type ScoreKind } from './onnx';
import { evaluateLinearModel, validateLinearModel } from '../online/linear-model';
import type { LinearModel } from '../online/types';
import type { ModelControl } from './control';

export type { Prediction };

export class ModelRefusedError extends Error {
  override name = 'ModelRefusedError';
}

/**
 * A model that could not be reached at activation (a remote inference server down or still
 * starting): refused for now, and activated again later with backoff, unlike a model that does
 * not fit, which stays refused until a new version is published.
 */
export class ModelNotReachableError extends ModelRefusedError {
  override name = 'ModelNotReachableError';
}

export interface ServingModel {
  readonly id: string;
  readonly version: string;
  readonly control: ModelControl;
  readonly kind: 'classifier' | 'regressor';
  /** class labels in probability-column order (classifiers) */
  readonly classLabels?: readonly (number | string)[];
  /**
   * What the score columns of `score` hold (Prediction.probabilities): class probabilities, or
   * the decision scores of a classifier that has no probabilities; absent when there are none.
   */
  readonly scores?: ScoreKind;
  readonly nFeatures: number;
  /** scores nRows rows (row-major, nFeatures each); may transfer (detach) `rows` */
  score(rows: Float32Array, nRows: number): Promise<Prediction>;
  /** releases the model (after in-flight scoring settles) */
  close(): Promise<void>;
}

export interface ModelBackend {
  /** false: the version's uri is not an artifact, the catalog fetches nothing (load gets no bytes) */
  readonly readsArtifact?: boolean;
  load(control: ModelControl, bytes: Uint8Array): Promise<ServingModel>;
  close?(): Promise<void>;
}

export interface OnnxBackendOptions {
  readonly maxBatchRecords?: number;
  readonly maxWaitMs?: number;
}

export class OnnxBackend implements ModelBackend {
  /** numbers the loads, so every ServingModel owns its pool key (see ModelKey.instance) */
  private loads = 0;

  constructor(private readonly pool: InferencePool, private readonly options: OnnxBackendOptions = {}) {}

  async load(control: ModelControl, bytes: Uint8Array): Promise<ServingModel> {
    const key = { modelId: control.id, version: control.version, instance: ++this.loads };
    const nFeatures = control.input.features.length;
    let info: ModelInfo;
    try {
      info = await this.pool.load(key, bytes, {
        expectedFeatures: nFeatures,
        labelOutput: control.output.label ?? undefined,
        probabilityOutput: control.output.probabilities ?? undefined,
        valueOutput: control.output.value ?? undefined,
      });
    } catch (e) {
      throw new ModelRefusedError(`model ${keyString(key)} refused: ${(e as Error).message} (input.features maps ${nFeatures}: ${control.input.features.join(', ')})`);
    }
    const input = info.inputs[0];
    if (control.input.tensor && input && input.name !== control.input.tensor) {
      await this.pool.unload(key).catch(() => undefined);
      throw new ModelRefusedError(`model ${keyString(key)} refused: its input tensor is '${input.name}', but input.tensor says '${control.input.tensor}'`);
    }
    const scorer = new BatchScorer(this.pool, key, nFeatures, { maxBatchRecords: this.options.maxBatchRecords, maxWaitMs: this.options.maxWaitMs });
    const pool = this.pool;
    return {
      id: control.id,
      version: control.version,
      control,
      kind: info.kind,
      classLabels: info.classLabels,
      ...(info.probabilityOutput !== undefined ? { scores: info.scoreKind ?? 'probabilities' } : {}),
      nFeatures,
      score: (rows, nRows) => scorer.score(rows, nRows),
      close: async () => {
        await scorer.close().catch(() => undefined);
        await pool.unload(key).catch(() => undefined);
      },
    };
  }
}

export class LinearBackend implements ModelBackend {
  async load(control: ModelControl, bytes: Uint8Array): Promise<ServingModel> {
    const tag = `${control.id}@${control.version}`;
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch {
      // JSON.parse's message quotes the start of the input: never echo artifact contents
      throw new ModelRefusedError(`model ${tag} refused: not a linear model: the artifact is not JSON`);
    }
    let model: LinearModel;
    try {
      model = validateLinearModel(json);
    } catch (e) {
      throw new ModelRefusedError(`model ${tag} refused: not a linear model: ${(e as Error).message}`);
    }
    const nFeatures = control.input.features.length;
    if (model.nFeatures !== nFeatures) {
      throw new ModelRefusedError(`model ${tag} refused: the linear model takes ${model.nFeatures} features, but input.features maps ${nFeatures}: ${control.input.features.join(', ')}`);
    }
    const kind = model.task === 'regression' ? 'regressor' : 'classifier';
    return {
      id: control.id,
      version: control.version,
      control,
      kind,
      classLabels: model.classes ? [...model.classes] as (number | string)[] : undefined,
      nFeatures,
      score: async (rows, nRows) => {
        if (kind === 'regressor') {
          const values = new Float32Array(nRows);
          for (let i = 0; i < nRows; i++) values[i] = evaluateLinearModel(model, rows.subarray(i * nFeatures, (i + 1) * nFeatures)).value as number;
          return { nRows, values, valuesPerRow: 1 };
        }
        const labels: (number | string)[] = [];
        for (let i = 0; i < nRows; i++) labels.push(evaluateLinearModel(model, rows.subarray(i * nFeatures, (i + 1) * nFeatures)).label as number | string);
        return { nRows, labels: labels as number[] | string[] };
      },
      close: async () => undefined,
    };
  }
}
