package dev.gemmaflink.runtime.engine;

/** Why an engine request ended. */
public enum EngineFinishReason {
    /**
     * A stop id was sampled (it is not part of the output), or the output of a constrained request became a complete
     * match that nothing may extend (a closed JSON value, the longest matching label).
     */
    STOP,
    /**
     * {@code maxNewTokens} tokens were generated; a constrained output that had not closed by then is marked
     * {@link EngineResult#incomplete()}.
     */
    LENGTH,
    /** {@link GemmaEngine#cancel(String)} or {@link RequestHandle#cancel()} ended it. */
    CANCELLED,
    /** Its deadline passed before it finished (queued or running). */
    DEADLINE,
    /** The engine could not serve it; {@link EngineResult#error()} says why. */
    ERROR
}
