package dev.gemmaflink.runtime.sched;

import java.util.Comparator;

/** The one scheduling order: higher priority first, then older arrival first (FIFO within a priority). */
final class SchedulingOrder {

    /** Most important first. */
    static final Comparator<ScheduledRequest> MOST_IMPORTANT_FIRST = Comparator
            .comparingInt(ScheduledRequest::priority).reversed()
            .thenComparingLong(ScheduledRequest::arrivalOrder);

    private SchedulingOrder() {
    }
}
