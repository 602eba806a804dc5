package io.kappa.bench.peer;

import ai.onnxruntime.OrtException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Scores records in batches: process() parses the features into the next row of the task's batch
 * and keeps the record; a full batch (256 rows) or the wall-clock punctuator (every 5 ms) runs the
 * model once for all rows and forwards the scored records in the order they came. One instance per
 * task, i.e. per input partition, so the order per partition is the input order.
 *
 * The buffer is plain memory, not a state store: a record is in it for at most 5 ms. The
 * {@link CommitGate} keeps commits from covering records still in it.
 */
final class ScoringProcessor implements Processor<byte[], byte[], byte[], Scored>, CommitGate.Member {
    static final String HEADER_MODEL_ID = "kappa.model.id";
    static final String HEADER_MODEL_VERSION = "kappa.model.version";
    private static final Logger log = LoggerFactory.getLogger(ScoringProcessor.class);

    private final ScoringApp.Settings settings;
    private final OnnxModel model;
    private final byte[] modelId;
    private final byte[] modelVersion;

    private ProcessorContext<byte[], Scored> context;
    private CommitGate gate;
    private ScoringBatch batch;
    private RecordCodec codec;
    private Record<byte[], byte[]>[] pending;
    private int n;
    private int partition;
    /** records processed since the last commit request */
    private boolean dirty;

    ScoringProcessor(ScoringApp.Settings settings, OnnxModel model) {
        this.settings = settings;
        this.model = model;
        this.modelId = settings.modelId.getBytes(StandardCharsets.UTF_8);
        this.modelVersion = settings.modelVersion.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    @SuppressWarnings({"unchecked", "rawtypes"}) // the array of pending records
    public void init(ProcessorContext<byte[], Scored> context) {
        this.context = context;
        // one source topic: task i reads partition i
        this.partition = context.taskId().partition();
        try {
            this.batch = model.newBatch(settings.batchMaxRecords);
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
        this.codec = new RecordCodec(model, settings.features, settings.predictionField, settings.modelId, settings.modelVersion);
        this.pending = new Record[settings.batchMaxRecords];
        this.gate = CommitGate.ofCurrentThread(settings.commitIntervalMs);
        gate.join(this);
        context.schedule(Duration.ofMillis(settings.flushMs), PunctuationType.WALL_CLOCK_TIME, this::punctuate);
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        try {
            codec.readFeatures(record.value(), batch, n);
        } catch (IOException e) {
            throw new UncheckedIOException("partition " + partition + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("partition " + partition + ": record cannot be scored: " + e.getMessage(), e);
        }
        pending[n++] = record;
        gate.buffered(1);
        dirty = true;
        if (n == pending.length || gate.draining(System.currentTimeMillis())) flush();
    }

    private void punctuate(long now) {
        flush();
        gate.maybeCommit(context, dirty, now);
    }

    @Override
    public void commitRequested() {
        dirty = false;
    }

    private void flush() {
        if (n == 0) return;
        try {
            batch.run(n);
        } catch (OrtException e) {
            throw new IllegalStateException("scoring " + n + " rows failed: " + e.getMessage(), e);
        }
        for (int i = 0; i < n; i++) {
            Record<byte[], byte[]> r = pending[i];
            pending[i] = null;
            // provenance headers as Kappa's Score sets them: replaced, at the end
            Headers h = r.headers();
            h.remove(HEADER_MODEL_ID);
            h.remove(HEADER_MODEL_VERSION);
            h.add(HEADER_MODEL_ID, modelId);
            h.add(HEADER_MODEL_VERSION, modelVersion);
            context.forward(r.withValue(new Scored(partition, codec.scored(r.value(), batch, i))));
        }
        gate.forwarded(n);
        n = 0;
    }

    @Override
    public void close() {
        if (gate != null) gate.leave(this, n);
        if (n > 0) log.warn("partition {}: closed with {} records not forwarded (a rebalance or shutdown with records in the batch)", partition, n);
        if (batch != null) batch.close();
    }
}
