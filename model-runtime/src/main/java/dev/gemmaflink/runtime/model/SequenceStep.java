package dev.gemmaflink.runtime.model;

import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.kvcache.ChunkSlots;
import dev.gemmaflink.runtime.kvcache.ImageSpan;
import java.util.Arrays;
import java.util.Objects;

/**
 * One sequence's share of a {@link ForwardBatch}: its new tokens (a prompt, a prompt chunk or one decoded token),
 * their absolute positions {@code firstPosition, firstPosition + 1, ...}, and its cache slots per layer type.
 *
 * @param tokens        (n >= 1) new token ids
 * @param firstPosition absolute position of {@code tokens[0]}
 * @param sliding       slots for sliding-window layers
 * @param full          slots for full-attention layers
 * @param allLogits     true: logits for every new token (tests); false: only for the last one
 * @param images        soft-token embeddings and image spans of a multimodal prefill step; null for text
 */
public record SequenceStep(int[] tokens, int firstPosition, ChunkSlots sliding, ChunkSlots full, boolean allLogits,
        StepImages images) {

    /** A text-only step. */
    public SequenceStep(int[] tokens, int firstPosition, ChunkSlots sliding, ChunkSlots full, boolean allLogits) {
        this(tokens, firstPosition, sliding, full, allLogits, null);
    }

    public SequenceStep {
        if (tokens == null || tokens.length == 0) {
            throw new IllegalArgumentException("sequence step: at least one new token is required");
        }
        if (firstPosition < 0) {
            throw new IllegalArgumentException("sequence step: negative first position " + firstPosition);
        }
        Objects.requireNonNull(sliding, "sliding");
        Objects.requireNonNull(full, "full");
        for (ChunkSlots c : new ChunkSlots[] {sliding, full}) {
            if (c.numTokens() != tokens.length) {
                throw new IllegalArgumentException("sequence step: " + tokens.length + " tokens but "
                        + c.numTokens() + " write slots");
            }
        }
        if (images != null) {
            for (int i = 0; i < images.count(); i++) {
                if (images.tokenIndex(i) >= tokens.length) {
                    throw new IllegalArgumentException("sequence step: soft token index " + images.tokenIndex(i)
                            + " is outside the step's " + tokens.length + " tokens");
                }
            }
            long end = (long) firstPosition + tokens.length;
            for (ImageSpan span : images.spans()) {
                if (span.start() < firstPosition || span.end() > end) {
                    throw new IllegalArgumentException("sequence step: image span [" + span.start() + ", " + span.end()
                            + ") is not inside the step's positions [" + firstPosition + ", " + end
                            + "): prefill chunks must not cut an image");
                }
            }
        }
        tokens = tokens.clone();
    }

    /** @return this step with image inputs attached (replacing any) */
    public SequenceStep withImages(StepImages imgs) {
        return new SequenceStep(tokens, firstPosition, sliding, full, allLogits, imgs);
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    /** Number of new tokens. */
    public int length() {
        return tokens.length;
    }

    /** Slots of one layer type. */
    public ChunkSlots slots(LayerType type) {
        return type == LayerType.SLIDING_ATTENTION ? sliding : full;
    }

    int token(int i) {
        return tokens[i];
    }

    /** Logit rows this step returns. */
    int logitRows() {
        return allLogits ? tokens.length : 1;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SequenceStep s && Arrays.equals(tokens, s.tokens) && firstPosition == s.firstPosition
                && sliding.equals(s.sliding) && full.equals(s.full) && allLogits == s.allLogits
                && Objects.equals(images, s.images);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(tokens), firstPosition, sliding, full, allLogits, images);
    }

    @Override
    public String toString() {
        return "SequenceStep[n=" + tokens.length + ", first=" + firstPosition + ", allLogits=" + allLogits + "]";
    }
}
