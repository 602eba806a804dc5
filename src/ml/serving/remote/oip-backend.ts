/**
 * `format: remote`: a model version served by an Open Inference Protocol v2 server (MLServer,
 * KServe, Triton, ...) at `uri` = `http(s)://host:port/v2/models/<name>[/versions/<v>]`.
 *
 * Activation (instead of fetching an artifact): the URI must follow the worker's allowed hosts
 * (kappa.model.http.allowed.hosts, as artifact downloads), the model must say it is ready, and its
 * metadata must fit the control message's mapping: one input tensor (named as `input.tensor` when
 * given), FP32 or FP64, shape [batch, number of input.features]. A model that does not fit is
 * refused with the reason, exactly like an ONNX model whose inputs do not fit (ModelRefusedError:
 * the catalog keeps the previous version, the tasks show the refusal, GET /models/<id> its error).
 *
 * Scoring: each call of `score` (a batch of one task) becomes one infer request per
 * `batchMaxRecords` rows, at most `maxInFlight` requests per model at once, each with a timeout
 * and retries with exponential backoff; a circuit breaker stops calling an endpoint that keeps
 * failing and probes it again later, so scoring resumes by itself once it is back. A failed call
 * rejects: the Score transform sends the batch's records to the connector's error path
 * (errors.tolerance / DLQ, or the task fails and resumes at them when restarted). Outputs are
 * mapped to the same prediction fields as ONNX models (label, probabilities or value).
 */
import type { Logger } from '../../../api';
import type { ArtifactPolicy } from '../artifact-policy';
import { ModelNotReachableError, ModelRefusedError, type ModelBackend, type Prediction, type ServingModel } from '../backends';
import type { ModelControl } from '../control';
import { CircuitBreaker, CircuitOpenError } from './circuit-breaker';
import { OipClient, OipError, type OipModelMetadata, type OipOutput, type OipTensorMetadata } from './oip-client';

export interface RemoteSettings {
  /** one HTTP call (kappa.model.remote.timeout.ms) */
  readonly timeoutMs: number;
  /** retries of a failed infer call (kappa.model.remote.retries) */
  readonly retries: number;
  /** first backoff, doubled per retry (kappa.model.remote.retry.backoff.ms) */
  readonly retryBackoffMs: number;
  /** the longest backoff (kappa.model.remote.retry.backoff.max.ms) */
  readonly retryBackoffMaxMs: number;
  /** infer requests in flight per model version (kappa.model.remote.max.in.flight) */
  readonly maxInFlight: number;
  /** rows per infer request (kappa.model.remote.batch.max.records) */
  readonly batchMaxRecords: number;
  /** consecutive failed calls that open the circuit (kappa.model.remote.circuit.failures) */
  readonly circuitFailures: number;
  /** how long the circuit stays open before a probe (kappa.model.remote.circuit.open.ms) */
  readonly circuitOpenMs: number;
}

export const DEFAULT_REMOTE_SETTINGS: RemoteSettings = {
  timeoutMs: 10_000,
  retries: 3,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 2_000,
  maxInFlight: 4,
  batchMaxRecords: 1024,
  circuitFailures: 5,
  circuitOpenMs: 5_000,
};

/** Output names detected when the control message names none (MLServer's scikit-learn runtime, skl2onnx, generic). */
const LABEL_OUTPUTS = ['predict', 'label', 'output_label', 'labels'];
const PROBABILITY_OUTPUTS = ['predict_proba', 'probabilities', 'output_probability', 'probability'];
const VALUE_OUTPUTS = ['predict', 'variable', 'value', 'output'];

const INTEGER_TYPES = new Set(['INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'BOOL']);
const FLOAT_TYPES = new Set(['FP16', 'FP32', 'FP64']);

/** Waits `ms` (the retry backoff). */
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

/** At most `limit` calls at once; the others wait their turn in order. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await f();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** How the model's outputs become a Prediction; decided once, at activation. */
interface OutputPlan {
  readonly kind: 'classifier' | 'regressor';
  readonly label?: string;
  readonly probabilities?: string;
  readonly value?: string;
  readonly nClasses?: number;
}

function describeTensor(t: OipTensorMetadata): string {
  return `'${t.name}' ${t.datatype} [${t.shape.join(', ')}]`;
}

/** Checks the model's metadata against the control message; returns the input and output plan or throws the reason. */
export function planFor(control: ModelControl, meta: OipModelMetadata): { input: { name: string; datatype: 'FP32' | 'FP64' }; outputs: OutputPlan } {
  const nFeatures = control.input.features.length;
  const mapping = `input.features maps ${nFeatures}: ${control.input.features.join(', ')}`;
  if (meta.inputs.length === 0) throw new Error(`its metadata declares no inputs, so they cannot be checked against the mapping (declare them on the server, e.g. "inputs" in MLServer's model-settings.json) (${mapping})`);
  if (meta.inputs.length !== 1) throw new Error(`it takes ${meta.inputs.length} input tensors (${meta.inputs.map(describeTensor).join(', ')}), but the Score transform sends one tensor of all features (${mapping})`);
  const input = meta.inputs[0]!;
  if (control.input.tensor && input.name !== control.input.tensor) throw new Error(`its input tensor is '${input.name}', but input.tensor says '${control.input.tensor}'`);
  if (input.datatype !== 'FP32' && input.datatype !== 'FP64') throw new Error(`its input ${describeTensor(input)} is not a float tensor (FP32 or FP64) (${mapping})`);
  const width = input.shape.length === 2 ? input.shape[1]! : NaN;
  if (!(width === nFeatures || width === -1)) throw new Error(`its input ${describeTensor(input)} does not take [batch, ${nFeatures}] rows (${mapping})`);

  const declared = new Map(meta.outputs.map((o) => [o.name, o]));
  const pick = (given: string | null, candidates: readonly string[], role: string): string | undefined => {
    if (given !== null) {
      if (declared.size > 0 && !declared.has(given)) throw new Error(`output.${role} names '${given}', but its outputs are ${[...declared.values()].map(describeTensor).join(', ')}`);
      return given;
    }
    return candidates.find((c) => declared.has(c));
  };
  const o = control.output;
  const probabilities = pick(o.probabilities, PROBABILITY_OUTPUTS, 'probabilities');
  const nClassesOf = (name: string | undefined) => {
    const k = name ? declared.get(name)?.shape[1] : undefined;
    return k !== undefined && k > 0 ? k : undefined;
  };
  if (o.value !== null) return { input: { name: input.name, datatype: input.datatype }, outputs: { kind: 'regressor', value: pick(o.value, [], 'value') } };
  const label = pick(o.label, LABEL_OUTPUTS, 'label');
  const labelType = label ? declared.get(label)?.datatype : undefined;
  if (probabilities || o.label !== null || (labelType !== undefined && !FLOAT_TYPES.has(labelType))) {
    if (!label && !probabilities) throw new Error(`none of its outputs is a label or probabilities (${meta.outputs.map(describeTensor).join(', ')}); name them in output.label / output.probabilities`);
    return { input: { name: input.name, datatype: input.datatype }, outputs: { kind: 'classifier', label, probabilities, nClasses: nClassesOf(probabilities) } };
  }
  const value = pick(null, VALUE_OUTPUTS, 'value') ?? (meta.outputs.length === 1 ? meta.outputs[0]!.name : undefined);
  if (!value) throw new Error(`its outputs (${meta.outputs.map(describeTensor).join(', ') || 'none declared'}) name no label, probabilities or value; name them in output.label, output.probabilities or output.value`);
  return { input: { name: input.name, datatype: input.datatype }, outputs: { kind: 'regressor', value } };
}

/** The class labels of the probability columns (output.classes), as numbers when the labels are integers. */
function classLabelsOf(control: ModelControl): (number | string)[] | undefined {
  const classes = control.output.classes;
  if (!classes || classes.length === 0) return undefined;
  return classes.every((c) => /^-?\d+$/.test(String(c))) ? classes.map(Number) : classes.map(String);
}

/** Turns one infer response into the rows' Prediction (checks that every row got its outputs). */
export function toPrediction(plan: OutputPlan, outputs: ReadonlyMap<string, OipOutput>, nRows: number): Prediction {
  const get = (name: string): OipOutput => {
    const out = outputs.get(name);
    if (!out) throw new OipError(`the answer has no output '${name}' (it has ${[...outputs.keys()].join(', ') || 'none'})`, false);
    return out;
  };
  if (plan.kind === 'regressor') {
    const v = get(plan.value!);
    if (v.data.length % nRows !== 0 || v.data.length === 0) throw new OipError(`output '${v.name}' has ${v.data.length} values for ${nRows} rows`, false);
    return { nRows, values: Float32Array.from(v.data as ArrayLike<number>, Number), valuesPerRow: v.data.length / nRows };
  }
  let labels: number[] | string[] | undefined;
  if (plan.label) {
    const l = get(plan.label);
    if (l.data.length !== nRows) throw new OipError(`output '${l.name}' has ${l.data.length} labels for ${nRows} rows`, false);
    labels = INTEGER_TYPES.has(l.datatype) || FLOAT_TYPES.has(l.datatype) ? Array.from(l.data as ArrayLike<number>, Number) : Array.from(l.data as ArrayLike<unknown>, String);
  }
  if (!plan.probabilities) return { nRows, labels };
  const p = get(plan.probabilities);
  const k = p.data.length / nRows;
  if (!Number.isInteger(k) || k === 0) throw new OipError(`output '${p.name}' has ${p.data.length} values for ${nRows} rows`, false);
  const probabilities = Float32Array.from(p.data as ArrayLike<number>, Number);
  if (!labels) {
    // no label output: the most probable column
    labels = Array.from({ length: nRows }, (_v, r) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (probabilities[r * k + c]! > probabilities[r * k + best]!) best = c;
      return best;
    });
  }
  return { nRows, labels, probabilities, nClasses: k };
}

/**
 * Scoring with a version the catalog has released (superseded or retired, after the grace): the
 * same code as an ONNX model whose sessions are gone, so the Score transform has the catalog
 * load it again instead of failing the records (ModelCatalog.recover).
 */
class ModelReleasedError extends Error {
  override name = 'ModelReleasedError';
  readonly code = 'MODEL_NOT_LOADED';
}

/** Errors that say the endpoint is failing (and count for the circuit): the network, timeouts, 5xx, 429. */
function isOutage(e: unknown): boolean {
  return !(e instanceof OipError) || e.retriable;
}

export class OipBackend implements ModelBackend {
  /** a remote version has no artifact: the catalog does not fetch one */
  readonly readsArtifact = false;

  constructor(
    private readonly policy: Pick<ArtifactPolicy, 'checkUri'>,
    private readonly settings: RemoteSettings = DEFAULT_REMOTE_SETTINGS,
    private readonly logger?: Logger,
  ) {}

  async load(control: ModelControl): Promise<ServingModel> {
    const tag = `${control.id}@${control.version}`;
    const refuse = (why: string): never => {
      throw new ModelRefusedError(`model ${tag} refused: ${why}`);
    };
    let client: OipClient;
    try {
      this.policy.checkUri(control.uri);
      client = new OipClient(control.uri, { timeoutMs: this.settings.timeoutMs });
    } catch (e) {
      return refuse((e as Error).message);
    }
    let meta: OipModelMetadata;
    try {
      await client.ready();
      meta = await client.metadata();
    } catch (e) {
      // down or still starting: the catalog tries again later
      throw new ModelNotReachableError(`model ${tag} refused: the remote model is not ready: ${(e as Error).message}`);
    }
    let plan: ReturnType<typeof planFor>;
    try {
      plan = planFor(control, meta);
    } catch (e) {
      return refuse(`the remote model at ${client.base} does not fit: ${(e as Error).message}`);
    }
    const binary = (await client.extensions()).includes('binary_tensor_data');
    const s = this.settings;
    const limiter = new Limiter(s.maxInFlight);
    const breaker = new CircuitBreaker({
      failureThreshold: s.circuitFailures,
      openMs: s.circuitOpenMs,
      isOutage,
      onStateChange: (state, reason) => {
        if (state === 'open') this.logger?.warn(`remote model ${tag} at ${client.base}: circuit open for ${s.circuitOpenMs} ms after failed calls (${reason}); its records go to the error path until a probe succeeds`);
        else if (state === 'closed') this.logger?.info(`remote model ${tag} at ${client.base}: circuit closed, scoring again`);
      },
    });
    const outputs = [plan.outputs.label, plan.outputs.probabilities, plan.outputs.value].filter((n): n is string => n !== undefined);
    const nFeatures = control.input.features.length;
    let closed = false;

    /** one request, retried with exponential backoff while the failure may pass */
    const inferWithRetries = async (rows: Float32Array, nRows: number): Promise<Prediction> => {
      for (let attempt = 0; ; attempt++) {
        try {
          const answer = await client.infer(plan.input, rows, nRows, nFeatures, outputs, binary);
          return toPrediction(plan.outputs, answer, nRows);
        } catch (e) {
          if (closed || !isOutage(e) || attempt >= s.retries) throw e;
          await sleep(Math.min(s.retryBackoffMaxMs, s.retryBackoffMs * 2 ** attempt));
        }
      }
    };
    const scoreChunk = (rows: Float32Array, nRows: number) => limiter.run(() => {
      if (closed) throw new ModelReleasedError(`remote model ${tag} was released`);
      return breaker.run(() => inferWithRetries(rows, nRows));
    });

    this.logger?.info(`remote model ${tag} at ${client.base}: ready, input '${plan.input.name}' ${plan.input.datatype} [-1, ${nFeatures}], outputs ${outputs.join(', ')}, ${binary ? 'binary' : 'JSON'} tensors`);
    return {
      id: control.id,
      version: control.version,
      control,
      kind: plan.outputs.kind,
      classLabels: classLabelsOf(control),
      ...(plan.outputs.probabilities ? { scores: 'probabilities' as const } : {}),
      nFeatures,
      score: async (rows, nRows) => {
        if (closed) throw new ModelReleasedError(`remote model ${tag} was released`);
        if (nRows <= s.batchMaxRecords) return scoreChunk(rows, nRows);
        const parts: Promise<Prediction>[] = [];
        for (let from = 0; from < nRows; from += s.batchMaxRecords) {
          const n = Math.min(s.batchMaxRecords, nRows - from);
          parts.push(scoreChunk(rows.subarray(from * nFeatures, (from + n) * nFeatures), n));
        }
        return concatPredictions(await Promise.all(parts), nRows);
      },
      close: async () => {
        closed = true;
      },
    };
  }
}

function concatPredictions(parts: readonly Prediction[], nRows: number): Prediction {
  const first = parts[0]!;
  const floats = (pick: (p: Prediction) => Float32Array | undefined): Float32Array | undefined => {
    if (!pick(first)) return undefined;
    const out = new Float32Array(parts.reduce((n, p) => n + pick(p)!.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(pick(p)!, at);
      at += pick(p)!.length;
    }
    return out;
  };
  return {
    nRows,
    ...(first.labels ? { labels: parts.flatMap((p) => p.labels as (number | string)[]) as number[] | string[] } : {}),
    ...(first.probabilities ? { probabilities: floats((p) => p.probabilities), nClasses: first.nClasses } : {}),
    ...(first.values ? { values: floats((p) => p.values), valuesPerRow: first.valuesPerRow } : {}),
  };
}

export { CircuitOpenError };
