import { prepareModel, summarize, OnnxGraphError } from '../../../src/ml/serving/onnx/graph';
import {
  encodeBytesField as bytesF,
  encodeFields as msg,
  encodeStringField as strF,
  encodeVarintField as varF,
  int64Fields,
  readFields,
} from '../../../src/ml/serving/onnx/protobuf';
import { InferencePool } from '../../../src/ml/serving/onnx/pool';
import { inspectModel } from '../../../src/ml/serving/onnx/session';
import { meta, modelBytes } from './fixtures';

/** A hand-built model: input p float [N, 2] -> ZipMap(int64 labels) -> out, ai.onnx.ml opset only. */
function zipMapOnlyModel(labels: bigint[], packed: boolean): Uint8Array {
  const labelAttr = packed
    ? bytesF(8, msg(labels.map((l) => varF(0, l)).map((b) => b.subarray(1)))) // packed varints
    : msg(labels.map((l) => varF(8, l)));
  const attr = msg([strF(1, 'classlabels_int64s'), varF(20, 7 /* INTS */), labelAttr]);
  const node = msg([strF(1, 'p'), strF(2, 'out'), strF(3, 'zm'), strF(4, 'ZipMap'), bytesF(5, attr), strF(7, 'ai.onnx.ml')]);
  const floatTensor = (dims: Uint8Array[]) => bytesF(1, msg([varF(1, 1), bytesF(2, msg(dims.map((d) => bytesF(1, d))))]));
  const input = msg([strF(1, 'p'), bytesF(2, floatTensor([strF(2, 'N'), varF(1, 2)]))]);
  const mapType = msg([varF(1, 7 /* int64 key */), bytesF(2, msg([bytesF(1, msg([varF(1, 1)]))]))]);
  const seqType = bytesF(4, msg([bytesF(1, msg([bytesF(5, mapType)]))]));
  const output = msg([strF(1, 'out'), bytesF(2, seqType)]);
  const graph = msg([bytesF(1, node), strF(2, 'g'), bytesF(11, input), bytesF(12, output)]);
  return msg([varF(1, 8), strF(2, 'hand'), bytesF(7, graph), bytesF(8, msg([strF(1, 'ai.onnx.ml'), varF(2, 1)]))]);
}

describe('ZipMap handling', () => {
  it('turns the skl2onnx ZipMap into an Identity and keeps the output name and labels', () => {
    const original = modelBytes('iris-logreg-v1');
    const before = summarize(original);
    expect(before.nonTensorOutputs).toEqual(['output_probability']);
    expect(before.nodes.map((n) => n.opType)).toEqual(['LinearClassifier', 'Cast', 'Normalizer', 'ZipMap']);

    const p = prepareModel(original);
    expect(p.rewrites).toEqual([{ output: 'output_probability', source: 'probabilities', classLabels: [1, 2, 3] }]);
    expect(p.classLabels).toEqual([1, 2, 3]);
    const after = summarize(p.bytes);
    expect(after.nonTensorOutputs).toEqual([]);
    expect(after.outputs).toEqual(['output_label', 'output_probability']);
    expect(after.nodes.map((n) => n.opType)).toEqual(['LinearClassifier', 'Cast', 'Normalizer', 'Identity']);
    // Everything else is carried over byte for byte.
    for (let i = 0; i < 3; i++) expect(Buffer.from(after.nodes[i]!.raw.raw)).toEqual(Buffer.from(before.nodes[i]!.raw.raw));
    expect(after.opsets).toEqual(before.opsets);
    expect(after.irVersion).toBe(before.irVersion);
  });

  it('reads string class labels (random forest)', () => {
    const p = prepareModel(modelBytes('iris-rf'));
    expect(p.classLabels).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(p.rewrites.map((r) => r.output)).toEqual(['output_probability']);
  });

  it('leaves models without ZipMap untouched and still finds the classifier labels', () => {
    const bytes = modelBytes('iris-logreg-nozipmap');
    const p = prepareModel(bytes);
    expect(p.bytes).toBe(bytes);
    expect(p.rewrites).toEqual([]);
    expect(p.classLabels).toEqual([1, 2, 3]);
    const r = prepareModel(modelBytes('wine-alcohol-ridge'));
    expect(r.classLabels).toBeUndefined();
    expect(r.rewrites).toEqual([]);
  });

  it('refuses bytes that are not an ONNX model', () => {
    expect(() => prepareModel(new Uint8Array(0))).toThrow(OnnxGraphError);
    expect(() => prepareModel(new TextEncoder().encode('{"not":"onnx"}'))).toThrow(/not an ONNX model/);
    expect(() => prepareModel(modelBytes('iris-rf').subarray(0, 100))).toThrow(/not an ONNX model/);
  });

  it('decodes packed and unpacked int64 labels, negative ones included', () => {
    const labels = [-1n, 7n, 300n];
    for (const packed of [false, true]) {
      const p = prepareModel(zipMapOnlyModel(labels, packed));
      expect(p.classLabels).toEqual([-1, 7, 300]);
    }
    expect(int64Fields(readFields(msg([varF(3, -5n)])), 3)).toEqual([-5n]);
  });

  it('adds the default operator set when the graph only imports ai.onnx.ml, and onnxruntime runs it', async () => {
    const p = prepareModel(zipMapOnlyModel([-1n, 7n], false));
    expect(summarize(p.bytes).opsets).toEqual([
      { domain: 'ai.onnx.ml', version: 1 },
      { domain: '', version: 13 },
    ]);
    const d = await inspectModel(zipMapOnlyModel([-1n, 7n], false));
    expect(d.originalNonTensorOutputs).toEqual(['out']);
    expect(d.outputs).toEqual([{ name: 'out', type: 'float32', dims: [null, 2] }]);
    expect(d.classLabels).toEqual([-1, 7]);
  });

  it('inspection lists inputs and outputs as onnxruntime sees them', async () => {
    const d = await inspectModel(modelBytes('iris-rf'));
    expect(d.inputs).toEqual([{ name: 'float_input', type: 'float32', dims: [null, 4] }]);
    expect(d.outputs).toEqual([
      { name: 'output_label', type: 'string', dims: [null] },
      { name: 'output_probability', type: 'float32', dims: [null, 3] },
    ]);
    expect(d.zipMapOutputs).toEqual(['output_probability']);
    expect(d.originalNonTensorOutputs).toEqual(['output_probability']);
  });

  it('a model that is only ZipMap serves its probabilities through the pool', async () => {
    const pool = new InferencePool({ threads: 1 });
    try {
      const key = { modelId: 'hand', version: 1 };
      const info = await pool.load(key, zipMapOnlyModel([-1n, 7n], true));
      expect(info.kind).toBe('classifier');
      expect(info.probabilityOutput).toBe('out');
      expect(info.labelOutput).toBeUndefined();
      const res = await pool.run(key, new Float32Array([0.25, 0.75, 1, 0]), 2, 2);
      expect(Array.from(res.probabilities!)).toEqual([0.25, 0.75, 1, 0]);
      expect(res.labels).toBeUndefined();
    } finally {
      await pool.close();
    }
  });

  it('the fixture metadata records the ZipMap output as it was exported', () => {
    expect(meta('iris-logreg-v1').outputs).toEqual([
      { name: 'output_label', kind: 'tensor', type: 'int64' },
      { name: 'output_probability', kind: 'sequence<map>' },
    ]);
  });
});
