package io.kappa.bench.peer;

import org.apache.kafka.streams.processor.api.ProcessorContext;

import java.util.ArrayList;
import java.util.List;

/**
 * Keeps Kafka Streams from committing the offset of a record that still sits in a batch buffer.
 *
 * At-least-once in Kafka Streams means: the offsets committed are those of the records handed to
 * process(). A processor that buffers records and forwards them later (here: up to 256 records,
 * for up to 5 ms) would let a commit cover records not yet sent, and a crash right then would skip
 * them. Kafka Streams has no pre-commit hook for processors, so the app turns its periodic commit
 * off (commit.interval.ms = Long.MAX_VALUE) and requests commits itself through this gate, one per
 * stream thread (all tasks of a thread, and so all their buffers, live on that thread):
 *
 * - every commit interval the gate starts draining: from then on processors forward each record at
 *   once instead of buffering it, and each one's next punctuation empties what it still holds;
 * - once no processor of the thread holds a record, the next punctuation of a task with records
 *   since the last commit requests one (ProcessorContext.commit), and the stream thread performs it
 *   right after the punctuators, before it processes anything else; then batching resumes.
 *
 * A commit commits every task of the thread, so the request needs only one task that has
 * processed records since the last commit (Kafka Streams ignores requests of tasks with nothing
 * to commit). What this cannot cover: on a rebalance or at shutdown Kafka Streams commits the
 * tasks before it closes their processors; records buffered at that instant (at most 256 per task,
 * younger than 5 ms) would not be forwarded. The benchmark neither rebalances the peer nor stops it
 * before every output record is in.
 */
final class CommitGate {
    /** One of the gate's processors: told when the commit that covers its records was requested. */
    interface Member {
        void commitRequested();
    }

    private static final ThreadLocal<CommitGate> PER_THREAD = new ThreadLocal<>();

    static CommitGate ofCurrentThread(long intervalMs) {
        CommitGate g = PER_THREAD.get();
        if (g == null) PER_THREAD.set(g = new CommitGate(intervalMs));
        return g;
    }

    private final long intervalMs;
    private final List<Member> members = new ArrayList<>();
    private int buffered;
    private long lastCommitMs = System.currentTimeMillis();
    private boolean draining;

    private CommitGate(long intervalMs) {
        this.intervalMs = intervalMs;
    }

    void join(Member m) {
        members.add(m);
    }

    void leave(Member m, int stillBuffered) {
        members.remove(m);
        buffered -= stillBuffered;
    }

    void buffered(int n) {
        buffered += n;
    }

    void forwarded(int n) {
        buffered -= n;
    }

    /** Whether a commit is due: processors then forward at once instead of batching. */
    boolean draining(long now) {
        if (!draining && now - lastCommitMs >= intervalMs) draining = true;
        return draining;
    }

    /** Called from a punctuation after its processor's flush; {@code dirty}: it has records since the last commit. */
    void maybeCommit(ProcessorContext<?, ?> context, boolean dirty, long now) {
        if (!draining(now) || buffered != 0 || !dirty) return;
        context.commit();
        lastCommitMs = now;
        draining = false;
        for (Member m : members) m.commitRequested();
    }
}
