package dev.gemmaflink.e2e.support;

import java.io.Serializable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;

/**
 * Fails the job once, in its first attempt, after a checkpoint has completed and more than {@code failAfter}
 * records have passed (in all subtasks together), so that the restart resumes from that checkpoint with results
 * both committed before it and written after it in transactions that must be aborted.
 *
 * <p>Until it has failed it slows each record a little, so the bounded input cannot be finished before the first
 * checkpoint completes; it must be chained to the source for that (a slow operator behind a network shuffle would
 * only delay the barriers, which queue behind the buffered records). State lives in static maps keyed by a test
 * id: the MiniCluster runs in this JVM, and the flag must survive the restart, which deserializes fresh instances.
 * The highest task attempt number that mapped a record shows that the job was restarted (attempt 0 is the first).
 *
 * <p>An optional {@link Condition} delays the failure further, to the first record (still after the checkpoint and
 * {@code failAfter} records) at which it holds, e.g. while requests are in flight in the engine downstream, so a
 * test can assert that the failure hit work in progress rather than an idle pipeline.
 */
public final class FailOnceAfterCheckpoint<T> extends RichMapFunction<T, T> implements CheckpointListener {
    private static final long serialVersionUID = 1L;

    private static final Map<String, AtomicBoolean> FAILED = new ConcurrentHashMap<>();
    private static final Map<String, AtomicInteger> SEEN = new ConcurrentHashMap<>();
    private static final Map<String, AtomicInteger> HIGHEST_ATTEMPT = new ConcurrentHashMap<>();

    /** What must also hold for the failure to be injected; evaluated in the task thread, at each due record. */
    @FunctionalInterface
    public interface Condition extends Serializable {
        boolean holds();
    }

    private final String testId;
    private final int failAfter;
    private final Condition condition;
    private transient volatile boolean checkpointCompleted;

    public FailOnceAfterCheckpoint(String testId, int failAfter) {
        this(testId, failAfter, () -> true);
    }

    /**
     * Fails at the first record, after a completed checkpoint and more than {@code failAfter} records, at which
     * {@code condition} holds.
     */
    public FailOnceAfterCheckpoint(String testId, int failAfter, Condition condition) {
        this.testId = testId;
        this.failAfter = failAfter;
        this.condition = condition;
        FAILED.put(testId, new AtomicBoolean());
        SEEN.put(testId, new AtomicInteger());
        HIGHEST_ATTEMPT.put(testId, new AtomicInteger(-1));
    }

    /** Whether the injected failure happened. */
    public static boolean failed(String testId) {
        return FAILED.get(testId).get();
    }

    /** Records that passed through, over all attempts (replayed ones counted again). */
    public static int seen(String testId) {
        return SEEN.get(testId).get();
    }

    /**
     * The highest attempt number of a subtask that mapped a record: 0 when the job ran once, at least 1 after a
     * restart, -1 when no record passed.
     */
    public static int highestAttempt(String testId) {
        return HIGHEST_ATTEMPT.get(testId).get();
    }

    @Override
    public T map(T record) throws Exception {
        HIGHEST_ATTEMPT.get(testId).accumulateAndGet(getRuntimeContext().getTaskInfo().getAttemptNumber(), Math::max);
        int seen = SEEN.get(testId).incrementAndGet();
        AtomicBoolean failed = FAILED.get(testId);
        if (!failed.get()) {
            if (checkpointCompleted && seen > failAfter && condition.holds() && failed.compareAndSet(false, true)) {
                throw new IllegalStateException("injected failure after " + seen + " records (test " + testId + ")");
            }
            // Slow until the first checkpoint completes (a loaded machine gets seconds for it), then only a little.
            // Once the failure is due and no checkpoint has completed yet (a model still loading keeps tasks from
            // running, so no checkpoint can start), much slower: the rest of the input must not drain before it.
            // Checkpoints still proceed: the task's mailbox runs between two records.
            Thread.sleep(checkpointCompleted ? 5 : seen > failAfter ? 500 : 50);
        }
        return record;
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        checkpointCompleted = true;
    }
}
