package dev.gemmaflink.runtime.engine;

/** Why an engine request ended. */
public enum EngineFinishReason {
    /** A stop id was sampled (it is not part of the output). */
    STOP,
    /** {@code maxNewTokens} tokens were generated. */
    LENGTH,
    /** {@link GemmaEngine#cancel(String)} or {@link RequestHandle#cancel()} ended it. */
    CANCELLED,
    /** Its deadline passed before it finished (queued or running). */
    DEADLINE,
    /** The engine could not serve it; {@link EngineResult#error()} says why. */
    ERROR
}
