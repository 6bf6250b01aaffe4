package dev.gemmaflink.runtime.sched;

import java.util.Collection;

/**
 * Which running request gives up its KV blocks when an allocation fails: the least important one, that is the lowest
 * priority and, within it, the newest arrival (vLLM's policy: the newest has the least work to lose, and the oldest
 * keeps making progress so the system cannot livelock). The victim recomputes later, mostly from the prefix cache.
 */
public final class PreemptionPolicy {

    private PreemptionPolicy() {
    }

    /** The victim among {@code running}; null when it is empty. */
    public static ScheduledRequest selectVictim(Collection<ScheduledRequest> running) {
        ScheduledRequest victim = null;
        for (ScheduledRequest candidate : running) {
            if (victim == null || SchedulingOrder.MOST_IMPORTANT_FIRST.compare(candidate, victim) > 0) {
                victim = candidate;
            }
        }
        return victim;
    }
}
