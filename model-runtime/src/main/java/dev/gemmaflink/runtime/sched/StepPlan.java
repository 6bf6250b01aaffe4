package dev.gemmaflink.runtime.sched;

import java.util.List;

/**
 * What one engine step does, decided by {@link StepPlanner#plan(long)}: the chunks to compute (running requests
 * first, then newly admitted ones), and the requests that left the running set while planning.
 *
 * @param chunks requests' chunks to compute, in scheduling order
 * @param preempted requests that lost their blocks this step (back in the waiting queue)
 * @param expired requests whose deadline passed (queued or running), now {@link RequestStatus#DEADLINE_EXCEEDED}
 */
public record StepPlan(List<ScheduledChunk> chunks, List<ScheduledRequest> preempted,
        List<ScheduledRequest> expired) {

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
