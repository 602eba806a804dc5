package io.kappa.bench.peer;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.SequenceInfo;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * One ONNX classifier shared by every stream task of the JVM: OrtSession.run is thread-safe, and a
 * session per task would only multiply the memory. Each task scores through its own
 * {@link ScoringBatch}, which owns the tensors.
 *
 * The session runs on the calling stream thread (one intra-op thread, sequential execution): the
 * batches are at most a few hundred rows of a tiny model, where a thread pool only adds hand-offs.
 *
 * Outputs, as skl2onnx exports classifiers: a label tensor (int64 or string) and the class
 * probabilities, either a float tensor [N, k] (exported with zipmap=False) or a sequence of maps
 * label → probability (the default export, with the ZipMap operator).
 */
final class OnnxModel implements AutoCloseable {
    enum LabelType { INT64, STRING }

    final OrtEnvironment env;
    final OrtSession session;
    final String inputName;
    final int nFeatures;
    final String labelOutput;
    final LabelType labelType;
    final String probabilityOutput;
    /** true for the ZipMap export: the probabilities come as a sequence of maps */
    final boolean zipMap;
    /** class labels in the column order of the probability tensor, as the model's classifier lists them */
    final String[] classLabels;

    OnnxModel(Path file, String[] classLabels) throws Exception {
        this.env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            opts.setInterOpNumThreads(1);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            this.session = env.createSession(Files.readAllBytes(file), opts);
        }
        Map<String, NodeInfo> inputs = session.getInputInfo();
        if (inputs.size() != 1) throw new IllegalArgumentException(file + ": expected one input, got " + inputs.keySet());
        NodeInfo in = inputs.values().iterator().next();
        TensorInfo inInfo = (TensorInfo) in.getInfo();
        long[] shape = inInfo.getShape();
        if (inInfo.type != OnnxJavaType.FLOAT || shape.length != 2 || shape[1] <= 0) {
            throw new IllegalArgumentException(file + ": expected a float input [N, d], got " + inInfo);
        }
        this.inputName = in.getName();
        this.nFeatures = (int) shape[1];

        String label = null;
        LabelType labelKind = null;
        String probs = null;
        boolean seq = false;
        for (NodeInfo out : session.getOutputInfo().values()) {
            ValueInfo info = out.getInfo();
            if (info instanceof TensorInfo) {
                TensorInfo t = (TensorInfo) info;
                if (label == null && t.type == OnnxJavaType.INT64) { label = out.getName(); labelKind = LabelType.INT64; }
                else if (label == null && t.type == OnnxJavaType.STRING) { label = out.getName(); labelKind = LabelType.STRING; }
                else if (probs == null && t.type == OnnxJavaType.FLOAT) probs = out.getName();
            } else if (info instanceof SequenceInfo && ((SequenceInfo) info).isSequenceOfMaps() && probs == null) {
                probs = out.getName();
                seq = true;
            }
        }
        if (label == null || probs == null) {
            throw new IllegalArgumentException(file + ": not a classifier with a label and a probability output: " + session.getOutputInfo());
        }
        this.labelOutput = label;
        this.labelType = labelKind;
        this.probabilityOutput = probs;
        this.zipMap = seq;
        this.classLabels = classLabels;
    }

    ScoringBatch newBatch(int maxRows) throws OrtException {
        return new ScoringBatch(this, maxRows);
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }

    @Override
    public String toString() {
        return "input " + inputName + " [N, " + nFeatures + "], label " + labelOutput + " (" + labelType + "), probabilities "
            + probabilityOutput + (zipMap ? " (sequence of maps: ZipMap)" : " (tensor)") + ", classes " + String.join(",", classLabels);
    }
}
