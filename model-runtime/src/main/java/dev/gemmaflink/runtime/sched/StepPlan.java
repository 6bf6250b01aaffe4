package dev.gemmaflink.runtime.sched;

import dev.gemmaflink.runtime.kvcache.Sequence;
import java.util.List;

/**
 * What one engine step does, decided by {@link StepPlanner#plan(long)}: the chunks to compute (running sequences
 * first, then newly admitted ones), and the sequences that left the running set while planning.
 *
 * @param chunks sequences to compute, in scheduling order
 * @param preempted sequences that lost their blocks this step (back in the waiting queue)
 * @param expired sequences whose deadline passed (queued or running), now {@code DEADLINE_EXCEEDED}
 */
public record StepPlan(List<ScheduledChunk> chunks, List<Sequence> preempted, List<Sequence> expired) {

    /** Copies the lists. */
    public StepPlan {
        chunks = List.copyOf(chunks);
        preempted = List.copyOf(preempted);
        expired = List.copyOf(expired);
    }

    /** Tokens computed by the step. */
    public int numTokens() {
        return chunks.stream().mapToInt(ScheduledChunk::numTokens).sum();
    }

    public boolean isEmpty() {
        return chunks.isEmpty();
    }
}
