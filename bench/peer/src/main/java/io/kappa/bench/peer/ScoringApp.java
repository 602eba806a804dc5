package io.kappa.bench.peer;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

/**
 * The benchmark's Kafka Streams peer of Kappa's Score connector: reads JSON records from one
 * topic, scores them with an ONNX classifier (ONNX Runtime for Java) in batches of up to 256 rows,
 * and writes each record with its prediction appended to another topic, at least once.
 *
 * <pre>
 * java -jar kappa-peer.jar --bootstrap-servers 127.0.0.1:9092 --application-id peer-1 \
 *   --input in --output out --model iris-logreg-nozipmap.onnx --model-id iris-logreg --model-version 1 \
 *   --class-labels 1,2,3 --features x1,x2,x3,x4 [--threads 1] [--batch-max-records 256] [--flush-ms 5] \
 *   [--commit-interval-ms 1000] [--prediction-field prediction] [--state-dir DIR] [--config key=value ...]
 * </pre>
 *
 * Topology: source (byte[] key and value) → {@link ScoringProcessor} → sink to the output topic,
 * same partition as the input record. No state store, no repartition. One stream thread per
 * --threads; each input partition is one task. Prints its state changes on stdout; exits 1 when a
 * stream thread fails (a record that cannot be scored stops it, like Kappa's errors.tolerance=none).
 */
public final class ScoringApp {
    /** What the processors need to know; from the command line. */
    static final class Settings {
        String bootstrapServers;
        String applicationId;
        String input;
        String output;
        Path model;
        String modelId;
        String modelVersion;
        String[] classLabels;
        String[] features;
        int threads = 1;
        int batchMaxRecords = 256;
        long flushMs = 5;
        long commitIntervalMs = 1000;
        String predictionField = "prediction";
        String stateDir = System.getProperty("java.io.tmpdir") + "/kappa-peer";
        final Map<String, String> extra = new LinkedHashMap<>();
    }

    public static void main(String[] args) throws Exception {
        // Kafka's INFO logging prints every config at start-up; warnings and errors are enough here
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", System.getProperty("peer.log.level", "warn"));
        Settings s = parse(args);

        OnnxModel model = new OnnxModel(s.model, s.classLabels);
        if (model.classLabels.length == 0) throw new IllegalArgumentException("--class-labels is empty");
        System.out.println("peer: model " + s.model.getFileName() + ": " + model);

        Topology topology = new Topology();
        topology.addSource("records", new ByteArrayDeserializer(), new ByteArrayDeserializer(), s.input);
        topology.addProcessor("score", () -> new ScoringProcessor(s, model), "records");
        topology.addSink("scored", s.output, new ByteArraySerializer(), new Scored.JsonSerializer(), new Scored.SamePartition(1024), "score");

        KafkaStreams streams = new KafkaStreams(topology, config(s));
        CountDownLatch done = new CountDownLatch(1);
        int[] exitCode = {0};
        streams.setStateListener((now, before) -> {
            System.out.println("peer: state " + before + " -> " + now);
            if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) done.countDown();
        });
        streams.setUncaughtExceptionHandler(e -> {
            System.err.println("peer: stream thread failed: " + e);
            e.printStackTrace();
            exitCode[0] = 1;
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(30));
            done.countDown();
        }, "peer-shutdown"));
        streams.start();
        done.await();
        streams.close(Duration.ofSeconds(30));
        model.close();
        System.exit(exitCode[0]);
    }

    static Properties config(Settings s) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, s.applicationId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, s.bootstrapServers);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, s.threads);
        // commits are requested by the processors through CommitGate, every commit-interval-ms
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.MAX_VALUE);
        p.put(StreamsConfig.STATE_DIR_CONFIG, s.stateDir);
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        // Throughput settings of the producer: Kafka Streams' defaults (16 KB batches, linger 100 ms)
        // are for many small streams; here one partition gets thousands of records per second.
        // 256 KB is also the size at which Kappa splits its produce requests.
        p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 256 * 1024);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.ACKS_CONFIG), "all");
        p.putAll(s.extra);
        return p;
    }

    static Settings parse(String[] args) {
        Settings s = new Settings();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) throw new IllegalArgumentException("missing value after " + a);
            String v = args[++i];
            switch (a) {
                case "--bootstrap-servers": s.bootstrapServers = v; break;
                case "--application-id": s.applicationId = v; break;
                case "--input": s.input = v; break;
                case "--output": s.output = v; break;
                case "--model": s.model = Path.of(v); break;
                case "--model-id": s.modelId = v; break;
                case "--model-version": s.modelVersion = v; break;
                case "--class-labels": s.classLabels = v.split(","); break;
                case "--features": s.features = v.split(","); break;
                case "--threads": s.threads = Integer.parseInt(v); break;
                case "--batch-max-records": s.batchMaxRecords = Integer.parseInt(v); break;
                case "--flush-ms": s.flushMs = Long.parseLong(v); break;
                case "--commit-interval-ms": s.commitIntervalMs = Long.parseLong(v); break;
                case "--prediction-field": s.predictionField = v; break;
                case "--state-dir": s.stateDir = v; break;
                case "--config": {
                    int eq = v.indexOf('=');
                    if (eq <= 0) throw new IllegalArgumentException("--config takes key=value, got " + v);
                    s.extra.put(v.substring(0, eq), v.substring(eq + 1));
                    break;
                }
                default: throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        for (Object[] required : new Object[][] {
            {"--bootstrap-servers", s.bootstrapServers}, {"--application-id", s.applicationId}, {"--input", s.input},
            {"--output", s.output}, {"--model", s.model}, {"--model-id", s.modelId}, {"--model-version", s.modelVersion},
            {"--class-labels", s.classLabels}, {"--features", s.features},
        }) {
            if (required[1] == null) throw new IllegalArgumentException(required[0] + " is required");
        }
        if (s.batchMaxRecords < 1 || s.flushMs < 1 || s.threads < 1) throw new IllegalArgumentException("batch, flush and threads must be positive");
        System.out.println("peer: features " + Arrays.toString(s.features) + ", batches of ≤ " + s.batchMaxRecords
            + " rows every " + s.flushMs + " ms, " + s.threads + " stream thread(s)");
        return s;
    }

    private ScoringApp() {}
}
