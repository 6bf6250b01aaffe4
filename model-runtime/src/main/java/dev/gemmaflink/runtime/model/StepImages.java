package dev.gemmaflink.runtime.model;

import dev.gemmaflink.runtime.kvcache.ImageSpan;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Image inputs of one {@link SequenceStep} (Gemma 3 multimodal prefill): soft-token embeddings that replace the
 * embeddings of some of the step's tokens, and the image spans within which attention is bidirectional.
 *
 * <p>The soft tokens replace the token embeddings <em>after</em> the {@code sqrt(hidden)} scaling and are not scaled
 * themselves; their token ids are ignored (the image token id may lie outside the text vocabulary). Within a span,
 * every query sees every key of the same span regardless of order (on sliding and full layers alike); everything
 * else stays causal. A span must lie entirely inside the step: prefill chunks must not cut an image.
 *
 * @param tokenIndices (S) indices into the step's tokens whose embeddings are replaced, ascending
 * @param embeddings   (S * hidden) float32 rows, in the order of {@code tokenIndices}
 * @param spans        the image spans of the step, at absolute positions
 */
public record StepImages(int[] tokenIndices, float[] embeddings, List<ImageSpan> spans) {

    /** Validates lengths and order; copies the arrays and the span list. */
    public StepImages {
        Objects.requireNonNull(tokenIndices, "tokenIndices");
        Objects.requireNonNull(embeddings, "embeddings");
        if (tokenIndices.length == 0 ? embeddings.length != 0 : embeddings.length % tokenIndices.length != 0) {
            throw new IllegalArgumentException("step images: " + embeddings.length + " embedding values do not divide into "
                    + tokenIndices.length + " rows");
        }
        for (int i = 0; i < tokenIndices.length; i++) {
            if (tokenIndices[i] < 0 || (i > 0 && tokenIndices[i] <= tokenIndices[i - 1])) {
                throw new IllegalArgumentException("step images: token indices must be ascending and >= 0");
            }
        }
        tokenIndices = tokenIndices.clone();
        embeddings = embeddings.clone();
        spans = List.copyOf(spans);
    }

    /** Number of replaced tokens S. */
    public int count() {
        return tokenIndices.length;
    }

    /** Width of each embedding row. */
    public int hidden() {
        return tokenIndices.length == 0 ? 0 : embeddings.length / tokenIndices.length;
    }

    /** @return the index of the span holding absolute position {@code pos}, or -1 */
    int spanOf(long pos) {
        for (int i = 0; i < spans.size(); i++) {
            if (spans.get(i).contains(pos)) {
                return i;
            }
        }
        return -1;
    }

    int tokenIndex(int i) {
        return tokenIndices[i];
    }

    float[] rawEmbeddings() {
        return embeddings;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StepImages s && Arrays.equals(tokenIndices, s.tokenIndices)
                && Arrays.equals(embeddings, s.embeddings) && spans.equals(s.spans);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(tokenIndices), Arrays.hashCode(embeddings), spans);
    }

    @Override
    public String toString() {
        return "StepImages[tokens=" + tokenIndices.length + ", spans=" + spans.size() + "]";
    }
}
