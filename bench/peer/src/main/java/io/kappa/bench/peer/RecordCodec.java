package io.kappa.bench.peer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads the features out of a JSON record value and writes the scored value, without building a
 * tree of either.
 *
 * In: a JSON object with the features as top-level fields (numbers, or booleans as 1/0, as Kappa's
 * Score reads them), parsed with Jackson's streaming parser; a value that is not an object, or
 * lacks a feature, fails the record (the stream stops, as Kappa's task does with
 * errors.tolerance=none). Numbers are read as doubles and then narrowed to float, the two steps
 * JavaScript takes (JSON.parse, then a Float32Array), so the model sees the same float32 rows.
 *
 * Out: the input object with one more field, {@code "prediction":{"model_id","model_version",
 * "label","probabilities":{label: p, ...}}}, as Kappa's Score + JsonConverter write it. The input's
 * bytes are copied up to its closing brace and the prediction appended: for compact JSON input
 * (what JSON.stringify and the benchmark's producers write) that is byte for byte Kappa's output;
 * other layouts of the same JSON value would differ in whitespace or number spelling only. An
 * input that already has the prediction field is refused rather than rewritten.
 */
final class RecordCodec {
    private final JsonFactory json = JsonFactory.builder().build();
    private final String[] features;
    private final String predictionField;
    /** {@code "prediction":{"model_id":"…","model_version":"…","label":} */
    private final byte[] head;
    /** {@code ,"probabilities":{} */
    private final byte[] probsOpen;
    /** per class: {@code "label":} (with a leading comma after the first) */
    private final byte[][] probKeys;
    /** the JSON of each class label as the label field's value: a number for int64 labels, a string otherwise */
    private final Map<String, byte[]> stringLabels = new HashMap<>();
    private final Map<Long, byte[]> intLabels = new HashMap<>();
    private final JsonOut out = new JsonOut(512);

    RecordCodec(OnnxModel model, String[] features, String predictionField, String modelId, String modelVersion) {
        if (features.length != model.nFeatures) {
            throw new IllegalArgumentException("the model takes " + model.nFeatures + " features, " + features.length + " are mapped");
        }
        // (the features seen are tracked in an int's bits)
        if (features.length > 31) throw new IllegalArgumentException("at most 31 features");
        this.features = features;
        this.predictionField = predictionField;
        String h = new String(JsonOut.quote(predictionField), StandardCharsets.UTF_8) + ":{\"model_id\":"
            + new String(JsonOut.quote(modelId), StandardCharsets.UTF_8) + ",\"model_version\":"
            + new String(JsonOut.quote(modelVersion), StandardCharsets.UTF_8) + ",\"label\":";
        this.head = h.getBytes(StandardCharsets.UTF_8);
        this.probsOpen = ",\"probabilities\":{".getBytes(StandardCharsets.UTF_8);
        this.probKeys = new byte[model.classLabels.length][];
        for (int c = 0; c < probKeys.length; c++) {
            String key = (c > 0 ? "," : "") + new String(JsonOut.quote(model.classLabels[c]), StandardCharsets.UTF_8) + ":";
            probKeys[c] = key.getBytes(StandardCharsets.UTF_8);
            String label = model.classLabels[c];
            if (model.labelType == OnnxModel.LabelType.INT64) intLabels.put(Long.parseLong(label), label.getBytes(StandardCharsets.US_ASCII));
            else stringLabels.put(label, JsonOut.quote(label));
        }
    }

    /** Puts the record's features into row {@code row} of the batch. */
    void readFeatures(byte[] value, ScoringBatch batch, int row) throws IOException {
        if (value == null) throw new IllegalArgumentException("a null value cannot be scored");
        int found = 0; // bit j set: feature j seen
        try (JsonParser p = json.createParser(value)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new IllegalArgumentException("the value is not a JSON object");
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                int j = indexOf(name);
                if (j < 0) {
                    if (name.equals(predictionField)) throw new IllegalArgumentException("the value already has a field '" + predictionField + "'");
                    p.skipChildren();
                    continue;
                }
                double x;
                if (v == JsonToken.VALUE_NUMBER_INT || v == JsonToken.VALUE_NUMBER_FLOAT) x = p.getDoubleValue();
                else if (v == JsonToken.VALUE_TRUE) x = 1;
                else if (v == JsonToken.VALUE_FALSE) x = 0;
                else throw new IllegalArgumentException("feature '" + name + "' is not a number: " + v);
                batch.setFeature(row, j, (float) x); // double → float32, as a Float32Array stores it
                found |= 1 << j;
            }
            if (t != JsonToken.END_OBJECT) throw new IllegalArgumentException("malformed JSON object");
        }
        if (found != (1 << features.length) - 1) {
            for (int j = 0; j < features.length; j++) {
                if ((found & (1 << j)) == 0) throw new IllegalArgumentException("missing feature '" + features[j] + "'");
            }
        }
    }

    private int indexOf(String name) {
        for (int j = 0; j < features.length; j++) if (features[j].equals(name)) return j;
        return -1;
    }

    /** The scored value of {@code value}, whose answers are in row {@code row} of the batch. */
    byte[] scored(byte[] value, ScoringBatch batch, int row) {
        int close = value.length - 1;
        while (close > 0 && value[close] != '}') close--;
        int last = close - 1;
        while (last > 0 && isSpace(value[last])) last--;
        boolean empty = value[last] == '{';
        out.reset();
        out.raw(value, 0, close);
        if (!empty) out.ascii(',');
        out.raw(head);
        if (batch.stringLabels()) {
            String label = batch.stringLabel(row);
            byte[] known = stringLabels.get(label);
            if (known != null) out.raw(known);
            else out.string(label);
        } else {
            long label = batch.intLabel(row);
            byte[] known = intLabels.get(label);
            if (known != null) out.raw(known);
            else out.number(label);
        }
        out.raw(probsOpen);
        for (int c = 0; c < probKeys.length; c++) {
            out.raw(probKeys[c]);
            // the float32 probability as JavaScript sees it: widened to a double, printed shortest
            out.number((double) batch.probability(row, c));
        }
        out.ascii("}}}");
        return out.toByteArray();
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }
}
