/**
 * One ONNX model in one onnxruntime InferenceSession: inspection, output-role detection and a
 * `run` that turns rows of float32 features into labels / probabilities / values.
 *
 * This module blocks the thread it runs on while inferring; the pool runs it in worker threads.
 */
import * as ort from 'onnxruntime-node';
import { OnnxGraphError, PreparedModel, prepareModel, scoreKindOf } from './graph';
import { ClassLabels, LoadOptions, ModelInfo, ModelKey, Prediction, ServingError, TensorInfo, isPlainArrayBuffer, keyString } from './types';

export interface SessionTuning {
  /** Threads onnxruntime may use inside one operator (default 1: the pool parallelises). */
  readonly intraOpNumThreads?: number;
  /** onnxruntime log level: 0 verbose .. 4 fatal (default 3: errors only). */
  readonly logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

const LABEL_NAMES = ['output_label', 'label'];
const PROBABILITY_NAMES = ['output_probability', 'probabilities', 'output_probabilities'];
const VALUE_NAMES = ['variable', 'output', 'predictions'];

function toTensorInfo(m: ort.InferenceSession.ValueMetadata): TensorInfo {
  if (!m.isTensor) return { name: m.name, type: 'non-tensor', dims: [] };
  return { name: m.name, type: m.type, dims: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : null)) };
}

function describeShape(t: TensorInfo): string {
  return `[${t.dims.map((d) => (d === null ? 'N' : String(d))).join(', ')}]`;
}

function pick(outputs: TensorInfo[], override: string | undefined, what: string, accept: (t: TensorInfo) => boolean,
  preferred: readonly string[], fallback?: (t: TensorInfo) => boolean): string | undefined {
  if (override !== undefined) {
    const o = outputs.find((t) => t.name === override);
    if (!o) throw new ServingError('MODEL_UNSUPPORTED', `${what} output '${override}' is not an output of the model (outputs: ${outputs.map((t) => t.name).join(', ')})`);
    if (!accept(o)) throw new ServingError('MODEL_UNSUPPORTED', `${what} output '${override}' has unsupported type ${o.type}`);
    return o.name;
  }
  for (const name of preferred) {
    const o = outputs.find((t) => t.name === name && accept(t));
    if (o) return o.name;
  }
  return fallback ? outputs.find((t) => accept(t) && fallback(t))?.name : undefined;
}

const isFloat = (t: TensorInfo): boolean => t.type === 'float32';
const isLabel = (t: TensorInfo): boolean => t.type === 'int64' || t.type === 'int32' || t.type === 'string';

export class LoadedModel {
  private constructor(
    readonly info: ModelInfo,
    private readonly session: ort.InferenceSession,
    private readonly inputName: string,
    private readonly fetches: string[],
  ) {}

  static async load(key: ModelKey, bytes: Uint8Array, options: LoadOptions = {}, tuning: SessionTuning = {}): Promise<LoadedModel> {
    const id = keyString(key);
    let prepared: PreparedModel;
    try {
      prepared = prepareModel(bytes);
    } catch (e) {
      const msg = e instanceof OnnxGraphError || (e as Error).name === 'ProtobufError' ? (e as Error).message : String(e);
      throw new ServingError('MODEL_INVALID', `model ${id}: ${msg}`);
    }
    // onnxruntime-node only accepts bytes backed by a plain ArrayBuffer (not a SharedArrayBuffer).
    const modelBytes = isPlainArrayBuffer(prepared.bytes.buffer) ? prepared.bytes : new Uint8Array(prepared.bytes);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelBytes, {
        executionProviders: ['cpu'],
        intraOpNumThreads: tuning.intraOpNumThreads ?? 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
        logSeverityLevel: tuning.logSeverityLevel ?? 3,
      });
    } catch (e) {
      throw new ServingError('MODEL_INVALID', `model ${id}: onnxruntime refused the model: ${(e as Error).message}`);
    }
    try {
      const { info, inputName, fetches } = describe(key, session, prepared, options);
      return new LoadedModel(info, session, inputName, fetches);
    } catch (e) {
      await session.release().catch(() => undefined);
      throw e;
    }
  }

  /** Checks that rows of `nFeatures` fit the model; throws MODEL_INPUT_MISMATCH if not. */
  static checkFeatures(info: ModelInfo, nFeatures: number): void {
    if (info.nFeatures !== null && info.nFeatures !== nFeatures) {
      const input = info.inputs[0]!;
      throw new ServingError(
        'MODEL_INPUT_MISMATCH',
        `model ${keyString(info.key)} expects ${info.nFeatures} features per row on input '${input.name}' ` +
          `(float32 ${describeShape(input)}), but the request has ${nFeatures}`,
      );
    }
  }

  async run(rows: Float32Array, nRows: number, nFeatures: number): Promise<Prediction> {
    const info = this.info;
    if (!Number.isInteger(nRows) || nRows < 0 || !Number.isInteger(nFeatures) || nFeatures <= 0) {
      throw new ServingError('BAD_REQUEST', `nRows (${nRows}) and nFeatures (${nFeatures}) must be non-negative integers`);
    }
    LoadedModel.checkFeatures(info, nFeatures);
    if (rows.length !== nRows * nFeatures) {
      throw new ServingError('BAD_REQUEST', `got ${rows.length} values for ${nRows} rows × ${nFeatures} features`);
    }
    if (nRows === 0) return emptyPrediction(info);

    const feeds = { [this.inputName]: new ort.Tensor('float32', rows, [nRows, nFeatures]) };
    let out: ort.InferenceSession.OnnxValueMapType;
    try {
      out = await this.session.run(feeds, this.fetches);
    } catch (e) {
      throw new ServingError('INFERENCE_FAILED', `model ${keyString(info.key)}: ${(e as Error).message}`);
    }
    const result: { -readonly [K in keyof Prediction]: Prediction[K] } = { nRows };
    if (info.labelOutput) result.labels = labelsOf(out[info.labelOutput]!, nRows, info);
    if (info.probabilityOutput) {
      const t = out[info.probabilityOutput]!;
      const k = t.dims.length === 2 ? t.dims[1]! : nRows > 0 ? t.size / nRows : 0;
      if (t.dims[0] !== nRows || t.size !== nRows * k) {
        throw new ServingError('INFERENCE_FAILED', `model ${keyString(info.key)}: probability output has shape [${t.dims.join(', ')}] for ${nRows} rows`);
      }
      result.probabilities = t.data as Float32Array;
      result.nClasses = k;
    }
    if (info.valueOutput) {
      const t = out[info.valueOutput]!;
      const m = nRows > 0 ? t.size / nRows : 0;
      if (t.dims[0] !== nRows || !Number.isInteger(m)) {
        throw new ServingError('INFERENCE_FAILED', `model ${keyString(info.key)}: value output has shape [${t.dims.join(', ')}] for ${nRows} rows`);
      }
      result.values = t.data as Float32Array;
      result.valuesPerRow = m;
    }
    for (const t of Object.values(out)) t.dispose();
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function emptyPrediction(info: ModelInfo): Prediction {
  const k = info.classLabels?.length ?? 0;
  return {
    nRows: 0,
    ...(info.labelOutput ? { labels: [] as number[] } : {}),
    ...(info.probabilityOutput ? { probabilities: new Float32Array(0), nClasses: k } : {}),
    ...(info.valueOutput ? { values: new Float32Array(0), valuesPerRow: info.valuesPerRow ?? 1 } : {}),
  };
}

function labelsOf(t: ort.Tensor, nRows: number, info: ModelInfo): number[] | string[] {
  if (t.size !== nRows) {
    throw new ServingError('INFERENCE_FAILED', `model ${keyString(info.key)}: label output has ${t.size} values for ${nRows} rows`);
  }
  if (t.type === 'string') return Array.from(t.data as string[]);
  if (t.type === 'int64') return Array.from(t.data as BigInt64Array, (v) => Number(v));
  return Array.from(t.data as Int32Array);
}

function describe(key: ModelKey, session: ort.InferenceSession, prepared: PreparedModel, options: LoadOptions) {
  const id = keyString(key);
  const inputs = session.inputMetadata.map(toTensorInfo);
  const outputs = session.outputMetadata.map(toTensorInfo);

  if (inputs.length !== 1) {
    throw new ServingError('MODEL_UNSUPPORTED',
      `model ${id} has ${inputs.length} inputs (${inputs.map((i) => `'${i.name}'`).join(', ')}); ` +
        'the pool feeds exactly one float32 [N, features] tensor');
  }
  const input = inputs[0]!;
  if (input.type !== 'float32') {
    throw new ServingError('MODEL_UNSUPPORTED', `model ${id}: input '${input.name}' is ${input.type}; only float32 inputs are supported (export with FloatTensorType)`);
  }
  if (input.dims.length !== 0 && input.dims.length !== 2) {
    throw new ServingError('MODEL_UNSUPPORTED', `model ${id}: input '${input.name}' has shape ${describeShape(input)}; expected [N, features]`);
  }
  const nFeatures = input.dims.length === 2 ? input.dims[1]! : null;
  if (options.expectedFeatures !== undefined && nFeatures !== null && nFeatures !== options.expectedFeatures) {
    throw new ServingError('MODEL_INPUT_MISMATCH',
      `model ${id} expects ${nFeatures} features per row on input '${input.name}' (float32 ${describeShape(input)}), ` +
        `but ${options.expectedFeatures} are mapped`);
  }

  const classLabels: ClassLabels | undefined = prepared.classLabels;
  const zipMapOutputs = prepared.rewrites.map((r) => r.output);
  const k = classLabels?.length;
  let labelOutput: string | undefined;
  let probabilityOutput: string | undefined;
  let valueOutput: string | undefined;
  let valuesPerRow: number | undefined;
  if (classLabels || options.labelOutput || options.probabilityOutput) {
    probabilityOutput = pick(outputs, options.probabilityOutput, 'probability', isFloat, [...zipMapOutputs, ...PROBABILITY_NAMES],
      (t) => t.dims.length === 2 && t.dims[1] === k);
    labelOutput = pick(outputs, options.labelOutput, 'label', isLabel, LABEL_NAMES, () => true);
  }
  const kind = labelOutput || probabilityOutput ? 'classifier' : 'regressor';
  if (kind === 'regressor') {
    valueOutput = pick(outputs, options.valueOutput, 'value', isFloat, VALUE_NAMES, () => true);
    if (!valueOutput) {
      throw new ServingError('MODEL_UNSUPPORTED',
        `model ${id}: no float32 tensor output to read (outputs: ${outputs.map((o) => `${o.name}:${o.type}`).join(', ')})`);
    }
    const vo = outputs.find((o) => o.name === valueOutput)!;
    valuesPerRow = vo.dims.length === 2 && vo.dims[1] !== null ? vo.dims[1] : 1;
  }
  const info: ModelInfo = {
    key: { modelId: key.modelId, version: key.version, ...(key.instance !== undefined ? { instance: key.instance } : {}) },
    kind,
    inputs,
    outputs,
    nFeatures,
    ...(classLabels ? { classLabels } : {}),
    zipMapOutputs,
    ...(labelOutput ? { labelOutput } : {}),
    ...(probabilityOutput ? { probabilityOutput, scoreKind: scoreKindOf(prepared.summary, probabilityOutput) } : {}),
    ...(valueOutput ? { valueOutput, valuesPerRow } : {}),
    bytes: prepared.bytes.length,
  };
  const fetches = [labelOutput, probabilityOutput, valueOutput].filter((x): x is string => x !== undefined);
  return { info, inputName: input.name, fetches };
}

export interface ModelDescription {
  readonly inputs: TensorInfo[];
  /** Outputs as onnxruntime sees them after the ZipMap rewrite. */
  readonly outputs: TensorInfo[];
  /** Outputs as declared in the original file that are not tensors (before the rewrite). */
  readonly originalNonTensorOutputs: string[];
  readonly zipMapOutputs: string[];
  readonly classLabels?: ClassLabels;
  readonly opsets: { domain: string; version: number }[];
}

/**
 * Loads any ONNX model just long enough to describe it: inputs, outputs, class labels and what
 * the ZipMap rewrite changed. Unlike `LoadedModel.load` it does not require the model to be
 * servable by the pool (several inputs, double inputs, ... are described, not refused).
 */
export async function inspectModel(bytes: Uint8Array): Promise<ModelDescription> {
  let prepared: PreparedModel;
  try {
    prepared = prepareModel(bytes);
  } catch (e) {
    throw new ServingError('MODEL_INVALID', (e as Error).message);
  }
  let session: ort.InferenceSession;
  try {
    const modelBytes = isPlainArrayBuffer(prepared.bytes.buffer) ? prepared.bytes : new Uint8Array(prepared.bytes);
    session = await ort.InferenceSession.create(modelBytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 });
  } catch (e) {
    throw new ServingError('MODEL_INVALID', `onnxruntime refused the model: ${(e as Error).message}`);
  }
  try {
    return {
      inputs: session.inputMetadata.map(toTensorInfo),
      outputs: session.outputMetadata.map(toTensorInfo),
      originalNonTensorOutputs: prepared.summary.nonTensorOutputs,
      zipMapOutputs: prepared.rewrites.map((r) => r.output),
      ...(prepared.classLabels ? { classLabels: prepared.classLabels } : {}),
      opsets: prepared.summary.opsets,
    };
  } finally {
    await session.release();
  }
}
