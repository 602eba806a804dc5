package io.kappa.bench.peer;

import ai.onnxruntime.OnnxMap;
import ai.onnxruntime.OnnxSequence;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The rows of one task's batch and the model's answers for them, in buffers allocated once.
 *
 * The feature rows live in one direct FloatBuffer; ORT wraps a direct buffer without copying, so
 * the input tensor of a batch of n rows is a view of its first n rows. ORT's tensors have a fixed
 * shape, so there is one such view (and one set of output tensors) per batch size, created the
 * first time that size occurs and reused from then on: a full batch is always 256 rows, the
 * punctuator's partial batches take few distinct sizes. Numeric outputs (int64 labels, the
 * probability tensor) are pinned: ORT writes them straight into our direct buffers, so reading an
 * answer is an absolute get. String labels and ZipMap's maps cannot be pinned; ORT allocates
 * them per run and they are copied out before the result is closed.
 */
final class ScoringBatch implements AutoCloseable {
    private final OnnxModel model;
    final int maxRows;
    final int nFeatures;
    final int nClasses;

    private final FloatBuffer rows;
    private final LongBuffer intLabels;
    private final FloatBuffer probs;
    /** outputs ORT allocates on every run (string labels, ZipMap); empty when everything is pinned */
    private final Set<String> unpinned;

    private final List<Map<String, OnnxTensor>> inputsBySize;
    private final List<Map<String, OnnxValue>> pinnedBySize;
    private final List<OnnxTensor> owned = new ArrayList<>();

    /** copied out of the result for the outputs that are not pinned */
    private final String[] stringLabels;
    private final float[] zipProbs;
    /** ZipMap keys in column order: Long or String, as the map's key type */
    private final Object[] zipKeys;

    ScoringBatch(OnnxModel model, int maxRows) {
        this.model = model;
        this.maxRows = maxRows;
        this.nFeatures = model.nFeatures;
        this.nClasses = model.classLabels.length;
        this.rows = direct(maxRows * nFeatures * 4).asFloatBuffer();
        this.intLabels = model.labelType == OnnxModel.LabelType.INT64 ? direct(maxRows * 8).asLongBuffer() : null;
        this.probs = model.zipMap ? null : direct(maxRows * nClasses * 4).asFloatBuffer();
        Set<String> u = new HashSet<>();
        if (intLabels == null) u.add(model.labelOutput);
        if (probs == null) u.add(model.probabilityOutput);
        this.unpinned = Collections.unmodifiableSet(u);
        this.inputsBySize = new ArrayList<>(Collections.nCopies(maxRows + 1, null));
        this.pinnedBySize = new ArrayList<>(Collections.nCopies(maxRows + 1, null));
        this.stringLabels = intLabels == null ? new String[maxRows] : null;
        this.zipProbs = probs == null ? new float[maxRows * nClasses] : null;
        this.zipKeys = new Object[nClasses];
        for (int c = 0; c < nClasses; c++) {
            zipKeys[c] = model.labelType == OnnxModel.LabelType.INT64 ? (Object) Long.valueOf(model.classLabels[c]) : model.classLabels[c];
        }
    }

    private static ByteBuffer direct(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }

    void setFeature(int row, int feature, float x) {
        rows.put(row * nFeatures + feature, x);
    }

    /** Scores rows 0..n-1; the answers are readable until the next run. */
    void run(int n) throws OrtException {
        Map<String, OnnxTensor> inputs = inputsBySize.get(n);
        if (inputs == null) inputs = createTensors(n);
        Map<String, OnnxValue> pinned = pinnedBySize.get(n);
        try (OrtSession.Result result = model.session.run(inputs, unpinned, pinned)) {
            if (stringLabels != null) {
                String[] labels = (String[]) result.get(model.labelOutput).orElseThrow().getValue();
                System.arraycopy(labels, 0, stringLabels, 0, n);
            }
            if (zipProbs != null) {
                List<? extends OnnxValue> maps = ((OnnxSequence) result.get(model.probabilityOutput).orElseThrow()).getValue();
                for (int r = 0; r < n; r++) {
                    Map<? extends Object, ? extends Object> m = ((OnnxMap) maps.get(r)).getValue();
                    for (int c = 0; c < nClasses; c++) {
                        Object p = m.get(zipKeys[c]);
                        if (p == null) throw new IllegalStateException("ZipMap output has no class " + zipKeys[c] + ": " + m.keySet());
                        zipProbs[r * nClasses + c] = (Float) p;
                    }
                }
            }
        }
    }

    private Map<String, OnnxTensor> createTensors(int n) throws OrtException {
        OnnxTensor in = OnnxTensor.createTensor(model.env, view(rows, n * nFeatures), new long[] {n, nFeatures});
        owned.add(in);
        Map<String, OnnxTensor> inputs = Map.of(model.inputName, in);
        Map<String, OnnxValue> pinned = new HashMap<>();
        if (intLabels != null) {
            LongBuffer v = intLabels.duplicate();
            v.position(0).limit(n);
            OnnxTensor t = OnnxTensor.createTensor(model.env, v.slice(), new long[] {n});
            owned.add(t);
            pinned.put(model.labelOutput, t);
        }
        if (probs != null) {
            OnnxTensor t = OnnxTensor.createTensor(model.env, view(probs, n * nClasses), new long[] {n, nClasses});
            owned.add(t);
            pinned.put(model.probabilityOutput, t);
        }
        inputsBySize.set(n, inputs);
        pinnedBySize.set(n, Collections.unmodifiableMap(pinned));
        return inputs;
    }

    private static FloatBuffer view(FloatBuffer buf, int n) {
        FloatBuffer v = buf.duplicate();
        v.position(0).limit(n);
        return v.slice();
    }

    boolean stringLabels() {
        return stringLabels != null;
    }

    long intLabel(int row) {
        return intLabels.get(row);
    }

    String stringLabel(int row) {
        return stringLabels[row];
    }

    float probability(int row, int c) {
        return probs != null ? probs.get(row * nClasses + c) : zipProbs[row * nClasses + c];
    }

    @Override
    public void close() {
        for (OnnxTensor t : owned) t.close();
        owned.clear();
    }
}
