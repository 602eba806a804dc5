/**
 * Reading and minimally rewriting ONNX model graphs (no dependency on the onnx protobuf schema).
 *
 * The one rewrite we need: skl2onnx exports classifiers with a `ZipMap` node (ai.onnx.ml) that
 * turns the probability tensor [N, k] into a sequence of maps {label → probability}. onnxruntime
 * for Node cannot return non-tensor values, so `prepareModel` turns every ZipMap that feeds a graph
 * output into an `Identity` node and declares that output as a float tensor [N, k]. The output keeps
 * its name; the class labels (the ZipMap's `classlabels_*` attribute) are returned alongside, in
 * the column order of the tensor.
 */
import {
  Field,
  ProtobufError,
  WireType,
  encodeBytesField,
  encodeFields,
  encodeStringField,
  encodeVarintField,
  int64Fields,
  readFields,
  stringField,
  stringFields,
} from './protobuf';

// Field numbers from onnx.proto.
const MODEL = { irVersion: 1, opsetImport: 8, graph: 7 } as const;
const GRAPH = { node: 1, name: 2, input: 11, output: 12, valueInfo: 13, initializer: 5 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTR = { name: 1, s: 4, ints: 8, strings: 9 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE = { tensorType: 1, sequenceType: 4, mapType: 5 } as const;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE = { dim: 1 } as const;
const DIM = { value: 1, param: 2 } as const;
const OPSET = { domain: 1, version: 2 } as const;

/** onnx TensorProto.DataType.FLOAT */
const ONNX_FLOAT = 1;
const ML_DOMAIN = 'ai.onnx.ml';

export type ClassLabels = number[] | string[];

export interface GraphNode {
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: string[];
  readonly outputs: string[];
  /** `classlabels_*` attributes (ai.onnx.ml nodes). */
  readonly classLabels?: ClassLabels;
  /** `post_transform` of ai.onnx.ml classifiers: NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO, PROBIT. */
  readonly postTransform?: string;
  /** names of the node's attributes (ai.onnx.ml nodes), e.g. to see whether an SVM has `prob_a`. */
  readonly attributeNames?: string[];
  readonly raw: Field;
}

export interface GraphSummary {
  readonly irVersion: number;
  readonly opsets: { domain: string; version: number }[];
  readonly nodes: GraphNode[];
  readonly inputs: string[];
  readonly outputs: string[];
  /** Graph outputs whose declared type is a sequence or map (not a tensor). */
  readonly nonTensorOutputs: string[];
}

export interface ZipMapRewrite {
  /** The graph output that used to be a sequence of maps and is now a float tensor. */
  readonly output: string;
  /** The tensor the ZipMap consumed (now the Identity's input). */
  readonly source: string;
  readonly classLabels: ClassLabels;
}

export interface PreparedModel {
  /** Model bytes ready for onnxruntime (the input itself if nothing needed rewriting). */
  readonly bytes: Uint8Array;
  readonly rewrites: ZipMapRewrite[];
  /** Class labels of the classifier, in probability-column order, if the graph names them. */
  readonly classLabels?: ClassLabels;
  readonly summary: GraphSummary;
}

export class OnnxGraphError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxGraphError';
  }
}

function int64sToLabels(values: bigint[]): number[] {
  return values.map((v) => {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new OnnxGraphError(`class label ${v} is not a safe integer`);
    }
    return Number(v);
  });
}

function readClassLabels(attributes: Field[]): ClassLabels | undefined {
  for (const a of attributes) {
    const af = readFields(a.bytes);
    const name = stringField(af, ATTR.name) ?? '';
    if (!name.startsWith('classlabels_')) continue;
    if (name === 'classlabels_strings') {
      const strings = stringFields(af, ATTR.strings);
      if (strings.length > 0) return strings;
    } else {
      // classlabels_int64s (ZipMap, TreeEnsembleClassifier) or classlabels_ints (Linear/SVM).
      const ints = int64Fields(af, ATTR.ints);
      if (ints.length > 0) return int64sToLabels(ints);
    }
  }
  return undefined;
}

function parseNode(f: Field): GraphNode {
  const nf = readFields(f.bytes);
  const opType = stringField(nf, NODE.opType) ?? '';
  const domain = stringField(nf, NODE.domain) ?? '';
  const isMl = domain === ML_DOMAIN;
  const attributes = isMl ? nf.filter((x) => x.no === NODE.attribute).map((a) => readFields(a.bytes)) : [];
  const classLabels = isMl ? readClassLabels(nf.filter((x) => x.no === NODE.attribute)) : undefined;
  const postTransform = attributes.find((a) => stringField(a, ATTR.name) === 'post_transform');
  return {
    name: stringField(nf, NODE.name) ?? '',
    opType,
    domain,
    inputs: stringFields(nf, NODE.input),
    outputs: stringFields(nf, NODE.output),
    ...(classLabels ? { classLabels } : {}),
    ...(postTransform ? { postTransform: stringField(postTransform, ATTR.s) ?? 'NONE' } : {}),
    ...(isMl ? { attributeNames: attributes.map((a) => stringField(a, ATTR.name) ?? '') } : {}),
    raw: f,
  };
}

function valueInfoName(f: Field): string {
  return stringField(readFields(f.bytes), VALUE_INFO.name) ?? '';
}

function isTensorValueInfo(f: Field): boolean {
  const type = readFields(f.bytes).find((x) => x.no === VALUE_INFO.type);
  if (!type) return true; // untyped: let onnxruntime decide
  return readFields(type.bytes).some((x) => x.no === TYPE.tensorType);
}

function splitModel(bytes: Uint8Array): { model: Field[]; graph: Field; graphFields: Field[] } {
  let model: Field[];
  try {
    model = readFields(bytes);
  } catch (e) {
    throw new OnnxGraphError(`not an ONNX model (protobuf: ${(e as Error).message})`);
  }
  const graphs = model.filter((f) => f.no === MODEL.graph && f.wireType === WireType.LengthDelimited);
  if (graphs.length !== 1) throw new OnnxGraphError('not an ONNX model: expected exactly one graph');
  const graph = graphs[0]!;
  let graphFields: Field[];
  try {
    graphFields = readFields(graph.bytes);
  } catch (e) {
    throw new OnnxGraphError(`not an ONNX model (graph protobuf: ${(e as Error).message})`);
  }
  return { model, graph, graphFields };
}

export function summarize(bytes: Uint8Array): GraphSummary {
  if (bytes.length === 0) throw new OnnxGraphError('empty model file');
  const { model, graphFields } = splitModel(bytes);
  return summaryOf(model, graphFields);
}

function summaryOf(model: Field[], graphFields: Field[]): GraphSummary {
  const irField = model.find((f) => f.no === MODEL.irVersion && f.wireType === WireType.Varint);
  const opsets = model
    .filter((f) => f.no === MODEL.opsetImport && f.wireType === WireType.LengthDelimited)
    .map((f) => {
      const of = readFields(f.bytes);
      const v = of.find((x) => x.no === OPSET.version && x.wireType === WireType.Varint);
      return { domain: stringField(of, OPSET.domain) ?? '', version: v ? Number(v.varint) : 0 };
    });
  const outputs = graphFields.filter((f) => f.no === GRAPH.output);
  const initializerNames = new Set<string>(); // graph inputs that are initializers are not feeds
  for (const f of graphFields) {
    if (f.no !== GRAPH.initializer) continue;
    const name = stringField(readFields(f.bytes), 8); // TensorProto.name = 8
    if (name) initializerNames.add(name);
  }
  return {
    irVersion: irField ? Number(irField.varint) : 0,
    opsets,
    nodes: graphFields.filter((f) => f.no === GRAPH.node).map(parseNode),
    inputs: graphFields
      .filter((f) => f.no === GRAPH.input)
      .map(valueInfoName)
      .filter((n) => !initializerNames.has(n)),
    outputs: outputs.map(valueInfoName),
    nonTensorOutputs: outputs.filter((f) => !isTensorValueInfo(f)).map(valueInfoName),
  };
}

/** ValueInfoProto for a float tensor [?, k] (k omitted when unknown). */
function floatTensorValueInfo(name: string, k: number | undefined): Uint8Array {
  const dims = [encodeBytesField(SHAPE.dim, encodeStringField(DIM.param, 'N'))];
  if (k !== undefined) dims.push(encodeBytesField(SHAPE.dim, encodeVarintField(DIM.value, k)));
  const tensorType = encodeFields([
    encodeVarintField(TENSOR_TYPE.elemType, ONNX_FLOAT),
    encodeBytesField(TENSOR_TYPE.shape, encodeFields(dims)),
  ]);
  const type = encodeBytesField(TYPE.tensorType, tensorType);
  return encodeBytesField(GRAPH.output, encodeFields([encodeStringField(VALUE_INFO.name, name), encodeBytesField(VALUE_INFO.type, type)]));
}

function identityNode(name: string, input: string, output: string): Uint8Array {
  return encodeBytesField(
    GRAPH.node,
    encodeFields([
      encodeStringField(NODE.input, input),
      encodeStringField(NODE.output, output),
      encodeStringField(NODE.name, name),
      encodeStringField(NODE.opType, 'Identity'),
      // default domain: empty string, written explicitly for readability of dumps
      encodeStringField(NODE.domain, ''),
    ]),
  );
}

/**
 * Makes a model servable by onnxruntime-node: replaces ZipMap nodes that produce graph outputs by
 * Identity nodes (the output becomes the float probability tensor) and reports the class labels.
 * Returns the input bytes untouched when there is no ZipMap.
 */
export function prepareModel(bytes: Uint8Array): PreparedModel {
  if (bytes.length === 0) throw new OnnxGraphError('empty model file');
  const { model, graph, graphFields } = splitModel(bytes);
  const summary = summaryOf(model, graphFields);
  const graphOutputs = new Set(summary.outputs);

  const zipmaps = summary.nodes.filter(
    (n) => n.opType === 'ZipMap' && n.domain === ML_DOMAIN && n.outputs.length === 1 && graphOutputs.has(n.outputs[0]!),
  );
  // Labels in probability-column order: from the ZipMap if any, else from the classifier node.
  const classifier = summary.nodes.find((n) => n.classLabels !== undefined && n.opType !== 'ZipMap');
  let classLabels: ClassLabels | undefined = zipmaps.find((z) => z.classLabels)?.classLabels ?? classifier?.classLabels;

  if (zipmaps.length === 0) {
    return { bytes, rewrites: [], ...(classLabels ? { classLabels } : {}), summary };
  }

  const rewrites: ZipMapRewrite[] = [];
  const byRaw = new Map<Field, Uint8Array>();
  const replacedOutputs = new Map<string, number | undefined>();
  for (const z of zipmaps) {
    if (z.inputs.length !== 1) throw new OnnxGraphError(`ZipMap node '${z.name}' has ${z.inputs.length} inputs`);
    const labels = z.classLabels ?? classifier?.classLabels;
    if (!labels) throw new OnnxGraphError(`ZipMap node '${z.name}' has no classlabels_* attribute`);
    const output = z.outputs[0]!;
    byRaw.set(z.raw, identityNode(z.name || `zipmap_to_tensor_${output}`, z.inputs[0]!, output));
    replacedOutputs.set(output, labels.length);
    rewrites.push({ output, source: z.inputs[0]!, classLabels: labels });
    classLabels = classLabels ?? labels;
  }

  const newGraph: (Field | Uint8Array)[] = [];
  for (const f of graphFields) {
    if (f.no === GRAPH.node && byRaw.has(f)) newGraph.push(byRaw.get(f)!);
    else if (f.no === GRAPH.output && replacedOutputs.has(valueInfoName(f))) {
      const name = valueInfoName(f);
      newGraph.push(floatTensorValueInfo(name, replacedOutputs.get(name)));
    } else if (f.no === GRAPH.valueInfo && replacedOutputs.has(valueInfoName(f))) {
      // a stale sequence<map> annotation of the rewritten value: drop it
    } else newGraph.push(f);
  }

  const newModel: (Field | Uint8Array)[] = [];
  const hasDefaultDomain = summary.opsets.some((o) => o.domain === '' || o.domain === 'ai.onnx');
  for (const f of model) {
    if (f === graph) newModel.push(encodeBytesField(MODEL.graph, encodeFields(newGraph)));
    else newModel.push(f);
  }
  if (!hasDefaultDomain) {
    // Identity needs the default operator set; opset 13 is supported by every onnxruntime we target.
    newModel.push(
      encodeBytesField(MODEL.opsetImport, encodeFields([encodeStringField(OPSET.domain, ''), encodeVarintField(OPSET.version, 13)])),
    );
  }
  return { bytes: encodeFields(newModel), rewrites, classLabels: classLabels ?? rewrites[0]!.classLabels, summary };
}

/**
 * What the score tensor of a classifier holds. scikit-learn classifiers without predict_proba
 * (LinearSVC, RidgeClassifier, SVC without probability=True) are exported by skl2onnx with an
 * output named `probabilities` that carries decision-function values; presenting those as
 * probabilities would be a lie (negative "probabilities", a single column for two classes).
 */
export type ScoreKind = 'probabilities' | 'decision_scores';

/** Operators that pass a score tensor on unchanged in meaning (selection, type, shape, ZipMap). */
const PASS_THROUGH = new Set(['Identity', 'Cast', 'ArrayFeatureExtractor', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'ZipMap']);

/**
 * Follows `output` back to the ai.onnx.ml classifier that produced it and reads what it emits:
 * a LinearClassifier or SVMClassifier with post_transform NONE (and, for SVMs, no Platt
 * calibration `prob_a`) emits decision scores; any squashing (LOGISTIC, SOFTMAX, ...), a Platt
 * calibration, a tree ensemble (class vote fractions) or a Normalizer on the way yields
 * probabilities. A graph that reaches no such classifier is taken at its word (probabilities).
 */
export function scoreKindOf(summary: GraphSummary, output: string): ScoreKind {
  const producer = new Map<string, GraphNode>();
  for (const n of summary.nodes) for (const o of n.outputs) producer.set(o, n);
  let current = output;
  for (let hops = 0; hops < summary.nodes.length; hops++) {
    const node = producer.get(current);
    if (!node) return 'probabilities';
    if (node.domain === ML_DOMAIN && (node.opType === 'LinearClassifier' || node.opType === 'SVMClassifier')) {
      const squashed = (node.postTransform ?? 'NONE') !== 'NONE';
      const calibrated = node.opType === 'SVMClassifier' && (node.attributeNames ?? []).includes('prob_a');
      return squashed || calibrated ? 'probabilities' : 'decision_scores';
    }
    if (node.opType === 'Normalizer' || !PASS_THROUGH.has(node.opType) || node.inputs.length === 0) return 'probabilities';
    current = node.inputs[0]!;
  }
  return 'probabilities';
}

export { ProtobufError };
