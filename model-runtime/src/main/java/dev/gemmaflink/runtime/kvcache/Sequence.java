package dev.gemmaflink.runtime.kvcache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * One request as the KV cache sees it: its token ids (prompt, then sampled tokens), how many of them have keys and
 * values in the cache ({@link #numComputedTokens()}), and what its blocks are cached under (its {@link CacheKeys} and
 * the chained hashes of its full blocks). Priority, deadline and life cycle belong to the scheduler, which wraps a
 * sequence in its own request type.
 *
 * <p>Invariant: {@code 0 <= numComputedTokens <= numTokens}. A step computes tokens
 * {@code [numComputedTokens, numComputedTokens + n)}; when it computes the last known token, the model's logits for
 * it yield the next token, which is {@link #appendToken appended}. Mutable and not thread-safe: the engine's
 * scheduling thread owns it.
 *
 * <pre>{@code
 * Sequence seq = new Sequence("req-1", promptIds, CacheKeys.of("gemma-3-4b-it", tenantId));
 * }</pre>
 */
public final class Sequence {

    private final String requestId;
    private final CacheKeys cacheKeys;
    private int[] tokens;
    private int numTokens;
    private int numComputedTokens;
    private int numCachedTokens;
    /** Chained hashes of the full blocks of the known tokens; maintained by {@link BlockHasher#extend}. */
    private final List<BlockHash> blockHashes = new ArrayList<>();

    /**
     * @param requestId non-empty id, unique among the sequences of one {@link KvCacheManager}
     * @param promptTokenIds the prompt, at least one token (copied)
     * @param cacheKeys model id, salt and images; every image must lie within the prompt
     */
    public Sequence(String requestId, int[] promptTokenIds, CacheKeys cacheKeys) {
        if (requestId == null || requestId.isEmpty()) {
            throw new IllegalArgumentException("requestId must not be empty");
        }
        if (promptTokenIds == null || promptTokenIds.length == 0) {
            throw new IllegalArgumentException("request " + requestId + ": prompt must hold at least one token");
        }
        if (cacheKeys == null) {
            throw new IllegalArgumentException("request " + requestId + ": cacheKeys is required");
        }
        for (ImageSpan image : cacheKeys.images()) {
            if (image.end() > promptTokenIds.length) {
                throw new IllegalArgumentException("request " + requestId + ": image " + image
                        + " ends after the prompt (" + promptTokenIds.length + " tokens)");
            }
        }
        this.requestId = requestId;
        this.cacheKeys = cacheKeys;
        this.tokens = Arrays.copyOf(promptTokenIds, Math.max(16, promptTokenIds.length * 2));
        this.numTokens = promptTokenIds.length;
    }

    public String requestId() {
        return requestId;
    }

    public CacheKeys cacheKeys() {
        return cacheKeys;
    }

    /** Tokens known: prompt plus sampled. */
    public int numTokens() {
        return numTokens;
    }

    /** Tokens whose keys and values are in the cache (computed or taken from the prefix cache). */
    public int numComputedTokens() {
        return numComputedTokens;
    }

    /** Tokens of the last admission that came from the prefix cache (skipped prefill); 0 after a reset. */
    public int numCachedTokens() {
        return numCachedTokens;
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

    /**
     * Forgets every computed token, for a sequence whose blocks were {@link KvCacheManager#free freed} while it still
     * needs them (preemption): it recomputes from the start, and its next prefix lookup may restore a prefix. The
     * tokens and block hashes stay.
     */
    public void resetComputed() {
        numComputedTokens = 0;
        numCachedTokens = 0;
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
        return "Sequence{" + requestId + ", tokens=" + numTokens + ", computed=" + numComputedTokens + "}";
    }
}
