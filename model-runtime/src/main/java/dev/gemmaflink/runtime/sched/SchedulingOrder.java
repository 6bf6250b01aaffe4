package dev.gemmaflink.runtime.sched;

import dev.gemmaflink.runtime.kvcache.Sequence;
import java.util.Comparator;

/** The one scheduling order: higher priority first, then older arrival first (FIFO within a priority). */
final class SchedulingOrder {

    /** Most important first. */
    static final Comparator<Sequence> MOST_IMPORTANT_FIRST = Comparator
            .comparingInt(Sequence::priority).reversed()
            .thenComparingLong(Sequence::arrivalOrder);

    private SchedulingOrder() {
    }
}
