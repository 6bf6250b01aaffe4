package dev.gemmaflink.operators.enrich;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.api.common.externalresource.ExternalResourceInfo;

/**
 * Spreads the subtasks of one TaskManager over its GPUs.
 *
 * <p>Flink's {@code gpu} external resource infos belong to the TaskManager, not to a slot: every subtask on it sees
 * all of its GPUs. A subtask's index says nothing about which other subtasks share the TaskManager (subtasks 0 and 2
 * may be the two on a TaskManager with two GPUs), so "subtask index modulo GPU count" can put them all on one GPU.
 * The assigner instead counts, per GPU index, the subtasks of this JVM holding it, and gives each new subtask the
 * GPU fewest of them hold, the lowest index on ties: round-robin as subtasks open one after another, and a subtask
 * that restarts takes the place its predecessor gave back. Thread-safe.
 *
 * <p>{@link #TASK_MANAGER} is static on purpose: Flink loads a job's user code once per TaskManager, so all
 * subtasks of the job there share it (subtasks of another job, in another class loader, are not counted).
 */
public final class GpuAssigner {

    /** The assigner of this TaskManager JVM (per job class loader). */
    public static final GpuAssigner TASK_MANAGER = new GpuAssigner();

    private final Map<Integer, Integer> holders = new HashMap<>();

    /**
     * Assigns one of {@code gpus} to a new holder.
     *
     * @param gpus the TaskManager's {@code gpu} infos; null or empty for none
     * @return the assignment: its {@link Assignment#index()} is -1 when there is no GPU
     * @throws IllegalArgumentException when an info has no valid index ({@link EnricherContext#gpuIndices})
     */
    public Assignment acquire(Collection<? extends ExternalResourceInfo> gpus) {
        List<Integer> indices = EnricherContext.gpuIndices(gpus).stream().distinct().toList();
        if (indices.isEmpty()) {
            return new Assignment(this, -1);
        }
        synchronized (this) {
            int chosen = indices.get(0);
            for (int index : indices) { // ascending: the first with the fewest holders wins a tie
                if (holders(index) < holders(chosen)) {
                    chosen = index;
                }
            }
            holders.merge(chosen, 1, Integer::sum);
            return new Assignment(this, chosen);
        }
    }

    /** Holders of GPU {@code index} now. */
    public synchronized int holders(int index) {
        return holders.getOrDefault(index, 0);
    }

    private synchronized void release(int index) {
        holders.computeIfPresent(index, (k, n) -> n > 1 ? n - 1 : null);
    }

    /** One holder's GPU; closing it gives the GPU back (once, however often it is closed). */
    public static final class Assignment implements AutoCloseable {
        private final GpuAssigner owner;
        private final int index;
        private boolean released;

        private Assignment(GpuAssigner owner, int index) {
            this.owner = owner;
            this.index = index;
        }

        /** The GPU's index, or -1 when there was none to assign. */
        public int index() {
            return index;
        }

        @Override
        public synchronized void close() {
            if (!released) {
                released = true;
                if (index >= 0) {
                    owner.release(index);
                }
            }
        }
    }
}
