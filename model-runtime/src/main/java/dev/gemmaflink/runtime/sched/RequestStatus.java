package dev.gemmaflink.runtime.sched;

/** Life cycle of a {@link ScheduledRequest}. */
public enum RequestStatus {
    /** Queued, holds no KV blocks. */
    WAITING,
    /** Scheduled at least once and holding KV blocks. */
    RUNNING,
    /** Lost its blocks to a more important request; back in the queue, recomputes from its cached prefix. */
    PREEMPTED,
    /** Stopped normally (stop token, max tokens). */
    FINISHED,
    /** Cancelled by the caller. */
    CANCELLED,
    /** Its deadline passed before it finished. */
    DEADLINE_EXCEEDED;

    /** True for the three end states. */
    public boolean isFinal() {
        return this == FINISHED || this == CANCELLED || this == DEADLINE_EXCEEDED;
    }
}
