package dev.gemmaflink.runtime.generate;

/** Receives each generated token as it is sampled (streaming). Called on the generating thread. */
@FunctionalInterface
public interface TokenListener {

    /** Ignores every token. */
    TokenListener NONE = (id, text) -> { };

    /**
     * @param tokenId   the sampled id (stop ids are not reported)
     * @param textDelta text this token completes; empty while a multi-byte character is unfinished, and always
     *                  empty when the generator has no tokenizer
     */
    void onToken(int tokenId, String textDelta);
}
