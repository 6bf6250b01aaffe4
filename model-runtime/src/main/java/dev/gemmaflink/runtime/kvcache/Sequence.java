package dev.gemmaflink.runtime.kvcache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One request as the KV cache and the scheduler see it: its token ids (prompt, then sampled tokens), how many of them
 * have keys and values in the cache ({@link #numComputedTokens()}), its cache keys and its scheduling attributes.
 *
 * <p>Invariant: {@code 0 <= numComputedTokens <= numTokens}. A step computes tokens
 * {@code [numComputedTokens, numComputedTokens + n)}; when it computes the last known token, the model's logits for
 * it yield the next token, which the engine {@link #appendToken appends}. Mutable and not thread-safe: the engine's
 * scheduling thread owns it.
 *
 * <pre>{@code
 * Sequence seq = Sequence.builder("req-1", promptIds)
 *         .cacheKeys(CacheKeys.of("gemma-3-4b-it", tenantId))
 *         .priority(0)
 *         .deadlineNanos(System.nanoTime() + timeoutNanos)
 *         .build();
 * }</pre>
 */
public final class Sequence {

    private static final AtomicLong ARRIVALS = new AtomicLong();

    private final String requestId;
    private final CacheKeys cacheKeys;
    private final int priority;
    private final long deadlineNanos;
    private final long arrivalOrder;
    private final int numPromptTokens;
    private int[] tokens;
    private int numTokens;
    private int numComputedTokens;
    private int numCachedTokens;
    private int numPreemptions;
    private SequenceStatus status = SequenceStatus.WAITING;
    /** Chained hashes of the full blocks of the known tokens; maintained by {@link BlockHasher#extend}. */
    private final List<BlockHash> blockHashes = new ArrayList<>();

    private Sequence(Builder b) {
        this.requestId = b.requestId;
        this.cacheKeys = b.cacheKeys;
        this.priority = b.priority;
        this.deadlineNanos = b.deadlineNanos;
        this.arrivalOrder = ARRIVALS.incrementAndGet();
        this.numPromptTokens = b.prompt.length;
        this.tokens = Arrays.copyOf(b.prompt, Math.max(16, b.prompt.length * 2));
        this.numTokens = b.prompt.length;
    }

    /** Starts a builder; the prompt must hold at least one token. */
    public static Builder builder(String requestId, int[] promptTokenIds) {
        return new Builder(requestId, promptTokenIds);
    }

    public String requestId() {
        return requestId;
    }

    public CacheKeys cacheKeys() {
        return cacheKeys;
    }

    /** Higher runs first. */
    public int priority() {
        return priority;
    }

    /** {@link System#nanoTime()}-based deadline; {@link Long#MAX_VALUE} when none. */
    public long deadlineNanos() {
        return deadlineNanos;
    }

    /** Creation order over all sequences of this JVM: smaller is older. */
    public long arrivalOrder() {
        return arrivalOrder;
    }

    /** Tokens known: prompt plus sampled. */
    public int numTokens() {
        return numTokens;
    }

    public int numPromptTokens() {
        return numPromptTokens;
    }

    /** Tokens sampled so far. */
    public int numOutputTokens() {
        return numTokens - numPromptTokens;
    }

    /** Tokens whose keys and values are in the cache (computed or taken from the prefix cache). */
    public int numComputedTokens() {
        return numComputedTokens;
    }

    /** Tokens of the last admission that came from the prefix cache (skipped prefill). */
    public int numCachedTokens() {
        return numCachedTokens;
    }

    public int numPreemptions() {
        return numPreemptions;
    }

    public SequenceStatus status() {
        return status;
    }

    /** Token id at a position. */
    public int tokenAt(int position) {
        if (position < 0 || position >= numTokens) {
            throw new IndexOutOfBoundsException("position " + position + " outside [0, " + numTokens + ")");
        }
        return tokens[position];
    }

    /** Copy of token ids [from, to). */
    public int[] tokens(int from, int to) {
        if (from < 0 || to > numTokens || from > to) {
            throw new IndexOutOfBoundsException("range [" + from + ", " + to + ") outside [0, " + numTokens + ")");
        }
        return Arrays.copyOfRange(tokens, from, to);
    }

    /** Chained hashes of the full blocks hashed so far (read-only view). */
    public List<BlockHash> blockHashes() {
        return Collections.unmodifiableList(blockHashes);
    }

    /** Appends a sampled token. */
    public void appendToken(int tokenId) {
        if (status.isFinal()) {
            throw new IllegalStateException("sequence " + requestId + " is " + status + "; cannot append tokens");
        }
        if (numTokens == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[numTokens++] = tokenId;
    }

    /** Records that a step computed {@code n} more tokens. */
    public void advanceComputed(int n) {
        if (n < 0 || numComputedTokens + n > numTokens) {
            throw new IllegalArgumentException("cannot advance " + requestId + " by " + n + " tokens: "
                    + numComputedTokens + " of " + numTokens + " computed");
        }
        numComputedTokens += n;
    }

    /** After preemption: every computed token is lost (its blocks were freed); the prefix cache may restore some. */
    public void resetForRecompute() {
        numComputedTokens = 0;
        numCachedTokens = 0;
        numPreemptions++;
        status = SequenceStatus.PREEMPTED;
    }

    /** Sets the life-cycle state; a final state cannot be left. */
    public void setStatus(SequenceStatus newStatus) {
        if (status.isFinal() && newStatus != status) {
            throw new IllegalStateException("sequence " + requestId + " is " + status + "; cannot become " + newStatus);
        }
        status = newStatus;
    }

    /** Applied by {@link KvCacheManager} when it adopts a prefix-cache hit at admission. */
    void applyPrefixHit(int cachedTokens) {
        if (numComputedTokens != 0) {
            throw new IllegalStateException("prefix hit for " + requestId + " with " + numComputedTokens
                    + " tokens already computed; hits apply at admission only");
        }
        numComputedTokens = cachedTokens;
        numCachedTokens = cachedTokens;
    }

    List<BlockHash> blockHashesMutable() {
        return blockHashes;
    }

    /** The backing array; valid up to {@link #numTokens()}. */
    int[] tokensView() {
        return tokens;
    }

    @Override
    public String toString() {
        return "Sequence{" + requestId + ", tokens=" + numTokens + ", computed=" + numComputedTokens + ", priority="
                + priority + ", " + status + "}";
    }

    /** Builder for {@link Sequence}. */
    public static final class Builder {
        private final String requestId;
        private final int[] prompt;
        private CacheKeys cacheKeys;
        private int priority;
        private long deadlineNanos = Long.MAX_VALUE;

        private Builder(String requestId, int[] prompt) {
            if (requestId == null || requestId.isEmpty()) {
                throw new IllegalArgumentException("requestId must not be empty");
            }
            if (prompt == null || prompt.length == 0) {
                throw new IllegalArgumentException("request " + requestId + ": prompt must hold at least one token");
            }
            this.requestId = requestId;
            this.prompt = prompt.clone();
        }

        /** Required: model id, salt and images. */
        public Builder cacheKeys(CacheKeys keys) {
            this.cacheKeys = keys;
            return this;
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

        public Sequence build() {
            if (cacheKeys == null) {
                throw new IllegalStateException("request " + requestId + ": cacheKeys is required");
            }
            for (ImageSpan image : cacheKeys.images()) {
                if (image.end() > prompt.length) {
                    throw new IllegalArgumentException("request " + requestId + ": image " + image
                            + " ends after the prompt (" + prompt.length + " tokens)");
                }
            }
            return new Sequence(this);
        }
    }
}
