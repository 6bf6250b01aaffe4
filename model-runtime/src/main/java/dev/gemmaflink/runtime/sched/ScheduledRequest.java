package dev.gemmaflink.runtime.sched;

import dev.gemmaflink.runtime.kvcache.Sequence;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One request as the scheduler sees it: the {@link Sequence} the KV cache allocates for (tokens, computed count,
 * cache keys), plus what only scheduling needs: priority, deadline, arrival order, life-cycle status and how often
 * it was preempted.
 *
 * <p>Mutable and not thread-safe: the engine's scheduling thread owns it. The {@link StepPlanner} moves it through
 * its {@link RequestStatus}; the engine appends sampled tokens through {@link #appendToken}, which a finished request
 * refuses.
 *
 * <pre>{@code
 * ScheduledRequest request = ScheduledRequest.builder(new Sequence("req-1", promptIds, CacheKeys.of(modelId, tenant)))
 *         .priority(0)
 *         .deadlineNanos(System.nanoTime() + timeoutNanos)
 *         .build();
 * }</pre>
 */
public final class ScheduledRequest {

    private static final AtomicLong ARRIVALS = new AtomicLong();

    private final Sequence sequence;
    private final int priority;
    private final long deadlineNanos;
    private final long arrivalOrder;
    private final int numPromptTokens;
    private int numPreemptions;
    private RequestStatus status = RequestStatus.WAITING;

    private ScheduledRequest(Builder b) {
        this.sequence = b.sequence;
        this.priority = b.priority;
        this.deadlineNanos = b.deadlineNanos;
        this.arrivalOrder = ARRIVALS.incrementAndGet();
        this.numPromptTokens = b.sequence.numTokens();
    }

    /**
     * Starts a builder.
     *
     * @param sequence a new sequence (nothing computed); its tokens at this point are the prompt
     */
    public static Builder builder(Sequence sequence) {
        return new Builder(sequence);
    }

    /** What the KV cache allocates for: tokens, computed count, cache keys. */
    public Sequence sequence() {
        return sequence;
    }

    public String requestId() {
        return sequence.requestId();
    }

    /** Higher runs first. */
    public int priority() {
        return priority;
    }

    /** {@link System#nanoTime()}-based deadline; {@link Long#MAX_VALUE} when none. */
    public long deadlineNanos() {
        return deadlineNanos;
    }

    /** Creation order over all requests of this JVM: smaller is older. */
    public long arrivalOrder() {
        return arrivalOrder;
    }

    public int numPromptTokens() {
        return numPromptTokens;
    }

    /** Tokens sampled so far. */
    public int numOutputTokens() {
        return sequence.numTokens() - numPromptTokens;
    }

    public int numPreemptions() {
        return numPreemptions;
    }

    public RequestStatus status() {
        return status;
    }

    /** Appends a sampled token to the sequence; refused once the request reached a final status. */
    public void appendToken(int tokenId) {
        if (status.isFinal()) {
            throw new IllegalStateException("request " + requestId() + " is " + status + "; cannot append tokens");
        }
        sequence.appendToken(tokenId);
    }

    /** Sets the life-cycle state; a final state cannot be left. */
    void setStatus(RequestStatus newStatus) {
        if (status.isFinal() && newStatus != status) {
            throw new IllegalStateException("request " + requestId() + " is " + status + "; cannot become "
                    + newStatus);
        }
        status = newStatus;
    }

    /** After its blocks were freed by preemption: every computed token is lost; the prefix cache may restore some. */
    void markPreempted() {
        sequence.resetComputed();
        numPreemptions++;
        setStatus(RequestStatus.PREEMPTED);
    }

    @Override
    public String toString() {
        return "ScheduledRequest{" + requestId() + ", tokens=" + sequence.numTokens() + ", computed="
                + sequence.numComputedTokens() + ", priority=" + priority + ", " + status + "}";
    }

    /** Builder for {@link ScheduledRequest}. */
    public static final class Builder {
        private final Sequence sequence;
        private int priority;
        private long deadlineNanos = Long.MAX_VALUE;

        private Builder(Sequence sequence) {
            if (sequence == null) {
                throw new IllegalArgumentException("sequence must not be null");
            }
            if (sequence.numComputedTokens() != 0) {
                throw new IllegalArgumentException("request " + sequence.requestId() + " already has "
                        + sequence.numComputedTokens() + " computed tokens; a scheduled request starts from none");
            }
            this.sequence = sequence;
        }

        /** Optional, default 0; higher is scheduled first. */
        public Builder priority(int value) {
            this.priority = value;
            return this;
        }

        /** Optional, {@link System#nanoTime()}-based; default none. */
        public Builder deadlineNanos(long value) {
            this.deadlineNanos = value;
            return this;
        }

        public ScheduledRequest build() {
            return new ScheduledRequest(this);
        }
    }
}
