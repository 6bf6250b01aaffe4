package dev.gemmaflink.runtime.constrain;

import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import java.util.List;

/**
 * The bytes each token adds to the output text, as the streaming detokenizer writes them: a piece with
 * {@code ▁} as space, a byte-fallback token {@code <0xNN>} as its byte. Special tokens ({@code <eos>},
 * {@code <start_of_turn>}, ...) and ids without a piece add nothing and are never allowed by a mask, except the
 * request's stop ids in accepting states. Immutable.
 */
public final class TokenVocabulary {

    private final byte[][] bytes; // null: never part of a constrained output

    private TokenVocabulary(byte[][] bytes) {
        this.bytes = bytes;
    }

    /** The vocabulary of a tokenizer (about 0.2 s for Gemma 3's 262,145 ids). */
    public static TokenVocabulary of(GemmaTokenizer tokenizer) {
        byte[][] b = new byte[tokenizer.vocabSize()][];
        for (int id = 0; id < b.length; id++) {
            byte[] t = tokenizer.tokenBytes(id);
            b[id] = t.length == 0 ? null : t;
        }
        return new TokenVocabulary(b);
    }

    /**
     * @param tokens the bytes of each id; null or empty for ids that never appear in a constrained output
     */
    public static TokenVocabulary of(List<byte[]> tokens) {
        byte[][] b = new byte[tokens.size()][];
        for (int id = 0; id < b.length; id++) {
            byte[] t = tokens.get(id);
            b[id] = t == null || t.length == 0 ? null : t.clone();
        }
        return new TokenVocabulary(b);
    }

    /** Number of ids (the highest id + 1). */
    public int size() {
        return bytes.length;
    }

    /** The bytes of {@code id}, null when it never appears in a constrained output. Do not modify. */
    byte[] bytes(int id) {
        return id >= 0 && id < bytes.length ? bytes[id] : null;
    }
}
