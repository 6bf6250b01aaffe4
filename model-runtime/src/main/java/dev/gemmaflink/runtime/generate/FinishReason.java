package dev.gemmaflink.runtime.generate;

/** Why a generation ended. */
public enum FinishReason {
    /**
     * A stop id was sampled (it is not part of the output), or a constrained output became a complete match that
     * nothing may extend.
     */
    STOP,
    /** {@link GenerationParams#maxNewTokens()} tokens were generated. */
    LENGTH,
    /** The context limit was reached before either of the above. */
    CONTEXT_LIMIT
}
