package dev.gemmaflink.runtime.constrain;

import dev.gemmaflink.runtime.model.TokenMask;

/**
 * One request's position in a {@link CompiledConstraint}: which tokens it may take next, and whether what it has
 * generated so far is a complete match. Not thread-safe: one per request, used by one thread at a time.
 */
public final class ConstraintCursor {

    private final CompiledConstraint compiled;
    private int state;
    private boolean ended;

    ConstraintCursor(CompiledConstraint compiled, int state) {
        this.compiled = compiled;
        this.state = state;
    }

    /**
     * The tokens allowed next: those that keep the output a prefix of a match, plus the end ids where the output is
     * already a match, over the model's vocabulary (attach it to the row with {@code SampleRow.withMask}). Waits for
     * the mask if it is still being computed.
     *
     * @throws ConstraintException when no token of the model's vocabulary continues the output here
     */
    public TokenMask mask() {
        if (ended) {
            throw new IllegalStateException("the constrained output has ended");
        }
        TokenMask m = compiled.mask(state);
        if (m == null) {
            throw new ConstraintException("no token of the model's vocabulary continues " + compiled.constraint()
                    + " in state " + state);
        }
        return m;
    }

    /**
     * Moves past a generated token, which must be one {@link #mask()} allowed, and starts computing the next mask
     * (so it is ready when the next step's logits are).
     *
     * @throws IllegalArgumentException when the token leaves the constraint's language (a caller bug)
     */
    public void advance(int tokenId) {
        if (ended) {
            throw new IllegalStateException("the constrained output has ended");
        }
        if (compiled.isEnd(tokenId)) {
            if (!compiled.automaton().isAccepting(state)) {
                throw new IllegalArgumentException("end id " + tokenId + " before the output is a complete match");
            }
            ended = true;
            return;
        }
        int next = compiled.advance(state, tokenId);
        if (next == ByteDfa.DEAD) {
            throw new IllegalArgumentException("token " + tokenId + " is not allowed by " + compiled.constraint()
                    + " in state " + state);
        }
        state = next;
        if (compiled.automaton().hasTransitions(state)) { // a closed state needs no mask: generation ends
            compiled.prefetch(state);
        }
    }

    /** Whether the output so far is a complete match (a stop id may end it here). */
    public boolean isAccepting() {
        return compiled.automaton().isAccepting(state);
    }

    /** Whether the output is a complete match that nothing may extend: generation should end here. */
    public boolean isClosed() {
        return isAccepting() && !compiled.automaton().hasTransitions(state);
    }

    /** The automaton state. */
    public int state() {
        return state;
    }

    public CompiledConstraint compiled() {
        return compiled;
    }
}
