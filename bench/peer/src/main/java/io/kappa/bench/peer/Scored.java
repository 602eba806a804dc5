package io.kappa.bench.peer;

import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.processor.StreamPartitioner;

import java.util.Optional;
import java.util.Set;

/**
 * A scored value on its way to the sink, with the input partition it came from: Kappa's
 * KafkaTopicSink (target.partition=same) writes each record to the partition number it was read
 * from, and the sink's partitioner cannot see the source partition otherwise.
 */
final class Scored {
    final int partition;
    final byte[] json;

    Scored(int partition, byte[] json) {
        this.partition = partition;
        this.json = json;
    }

    static final class JsonSerializer implements Serializer<Scored> {
        @Override
        public byte[] serialize(String topic, Scored value) {
            return value == null ? null : value.json;
        }
    }

    /** Same partition number as the input record. */
    static final class SamePartition implements StreamPartitioner<byte[], Scored> {
        private final Optional<Set<Integer>>[] byPartition;

        @SuppressWarnings({"unchecked", "rawtypes"}) // an array of a generic type
        SamePartition(int maxPartitions) {
            byPartition = new Optional[maxPartitions];
            for (int p = 0; p < maxPartitions; p++) byPartition[p] = Optional.of(Set.of(p));
        }

        @Override
        public Optional<Set<Integer>> partitions(String topic, byte[] key, Scored value, int numPartitions) {
            if (value.partition >= numPartitions) {
                throw new IllegalStateException("topic " + topic + " has " + numPartitions + " partitions, the record came from partition " + value.partition);
            }
            return value.partition < byPartition.length ? byPartition[value.partition] : Optional.of(Set.of(value.partition));
        }
    }
}
