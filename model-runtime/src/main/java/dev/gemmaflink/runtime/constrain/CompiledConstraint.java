package dev.gemmaflink.runtime.constrain;

import dev.gemmaflink.runtime.model.TokenMask;
import java.util.Arrays;
import java.util.concurrent.Executor;

/**
 * A {@link Constraint} compiled for one vocabulary and one set of end ids (the request's stop ids): its byte
 * automaton, the vocabulary's trie and the per-state token masks. Shared by every request with an equal constraint
 * and equal stop ids; each request walks it with its own {@link ConstraintCursor}. Thread-safe.
 *
 * <p>The mask of a state allows every token whose bytes keep the automaton alive (the automaton is trimmed, so a
 * live state can always be completed) and, only when the state is accepting, the end ids. End ids never count as
 * text, even when they have a piece. Masks are {@link TokenMask}s over the model's vocabulary (the
 * {@code maskVocab} given at construction), what the device sampler takes per row.
 */
public final class CompiledConstraint {

    private final Constraint constraint;
    private final ByteDfa dfa;
    private final TokenVocabulary vocab;
    private final int maskVocab;
    private final TokenTrie trie;
    private final int[] endIds; // sorted, distinct
    private final MaskCache masks;
    private final long compileNanos;

    CompiledConstraint(Constraint constraint, ByteDfa dfa, TokenVocabulary vocab, int maskVocab, TokenTrie trie,
            int[] endIds, Executor maskExecutor, long compileNanos) {
        this.constraint = constraint;
        this.dfa = dfa;
        this.vocab = vocab;
        this.maskVocab = maskVocab;
        this.trie = trie;
        this.endIds = Arrays.stream(endIds).filter(id -> id >= 0 && id < vocab.size()).distinct().sorted().toArray();
        this.masks = new MaskCache(this::computeMask, maskExecutor);
        this.compileNanos = compileNanos;
    }

    /** A cursor at the start state (whose mask starts computing now). */
    public ConstraintCursor start() {
        masks.prefetch(dfa.start());
        return new ConstraintCursor(this, dfa.start());
    }

    public Constraint constraint() {
        return constraint;
    }

    public ByteDfa automaton() {
        return dfa;
    }

    /** The end ids (the stop ids this was compiled for), sorted. */
    public int[] endIds() {
        return endIds.clone();
    }

    /** Time the byte automaton took to compile. */
    public long compileNanos() {
        return compileNanos;
    }

    /**
     * The mask of {@code state}, computed on first use and cached; null when no token of the model's vocabulary
     * continues the output from {@code state} (a {@link TokenMask} allows at least one token).
     */
    public TokenMask mask(int state) {
        return masks.get(state);
    }

    /** Starts computing the mask of {@code state} on the mask executor unless it is known. */
    void prefetch(int state) {
        masks.prefetch(state);
    }

    /**
     * Computes the mask of every state now, on the calling thread (a benchmark of the full cost; generation computes
     * masks lazily, for the states it reaches).
     *
     * @return the number of states
     */
    public int precomputeAllMasks() {
        for (int s = 0; s < dfa.numStates(); s++) {
            mask(s);
        }
        return dfa.numStates();
    }

    /** States whose mask is known or being computed. */
    public int cachedMasks() {
        return masks.states();
    }

    /** Distinct masks stored (equal masks of different states are stored once). */
    public int distinctMasks() {
        return masks.distinctMasks();
    }

    /** Approximate heap bytes of the stored masks. */
    public long maskBytes() {
        return masks.bytes();
    }

    /** Total time spent computing masks so far, in nanoseconds. */
    public long maskComputeNanos() {
        return masks.computeNanos();
    }

    /** The state after token {@code id} from {@code state}: {@link ByteDfa#DEAD} when the token leads nowhere. */
    int advance(int state, int id) {
        byte[] b = vocab.bytes(id);
        return b == null ? ByteDfa.DEAD : dfa.step(state, b);
    }

    boolean isEnd(int id) {
        return Arrays.binarySearch(endIds, id) >= 0;
    }

    private TokenMask computeMask(int state) {
        long[] bits = new long[(vocab.size() + 63) >>> 6];
        trie.allowed(dfa, state, bits);
        boolean accepting = dfa.isAccepting(state);
        for (int id : endIds) { // end ids are never text: allowed exactly where the output is complete
            if (accepting) {
                bits[id >>> 6] |= 1L << id;
            } else {
                bits[id >>> 6] &= ~(1L << id);
            }
        }
        int words = (maskVocab + 63) >>> 6; // the model's vocabulary: ids past the tokenizer's are never allowed
        long[] row = bits.length == words ? bits : Arrays.copyOf(bits, words);
        if ((maskVocab & 63) != 0) {
            row[words - 1] &= (1L << maskVocab) - 1; // ids past the model's vocabulary cannot be sampled
        }
        for (long w : row) {
            if (w != 0) {
                return TokenMask.fromBits(maskVocab, row);
            }
        }
        return null; // no token continues from here
    }

    @Override
    public String toString() {
        return "CompiledConstraint[" + constraint + ", " + dfa + ", end ids " + Arrays.toString(endIds) + "]";
    }
}
