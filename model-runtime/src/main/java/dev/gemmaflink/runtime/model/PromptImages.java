package dev.gemmaflink.runtime.model;

import java.util.Arrays;
import java.util.Objects;

/**
 * Image inputs of a whole prompt: soft-token embeddings at absolute positions and the image spans (bidirectional
 * attention). Cut into per-chunk {@link StepImages} by {@link #slice}; {@link #chunkEnd} moves a prefill chunk
 * boundary so that no image is split.
 *
 * @param positions   (S) absolute positions of the soft tokens, ascending
 * @param embeddings  (S * hidden) float32 rows in the order of {@code positions}
 * @param spanStarts  absolute start of each image span
 * @param spanLengths length of each image span
 */
public record PromptImages(int[] positions, float[] embeddings, int[] spanStarts, int[] spanLengths) {

    /** Validates and copies. */
    public PromptImages {
        Objects.requireNonNull(positions, "positions");
        Objects.requireNonNull(embeddings, "embeddings");
        if (positions.length == 0 || embeddings.length % positions.length != 0) {
            throw new IllegalArgumentException("prompt images: " + embeddings.length + " values for " + positions.length
                    + " soft tokens");
        }
        if (spanStarts.length != spanLengths.length) {
            throw new IllegalArgumentException("prompt images: span starts and lengths differ in number");
        }
        for (int i = 1; i < positions.length; i++) {
            if (positions[i] <= positions[i - 1]) {
                throw new IllegalArgumentException("prompt images: positions must be ascending");
            }
        }
        positions = positions.clone();
        embeddings = embeddings.clone();
        spanStarts = spanStarts.clone();
        spanLengths = spanLengths.clone();
    }

    /** @return width of an embedding row */
    public int hidden() {
        return embeddings.length / positions.length;
    }

    /**
     * @param from     first position of the chunk
     * @param proposed exclusive end the caller would like
     * @return an end that does not fall inside an image span: the span's start when the span begins after
     *     {@code from}, else the span's end (the chunk then holds the whole image)
     */
    public int chunkEnd(int from, int proposed) {
        for (int i = 0; i < spanStarts.length; i++) {
            int s = spanStarts[i];
            int e = s + spanLengths[i];
            if (s < proposed && proposed < e) {
                return s > from ? s : e;
            }
        }
        return proposed;
    }

    /** @return the soft tokens and spans within positions [from, to), indices relative to {@code from} */
    public StepImages slice(int from, int to) {
        int a = lowerBound(positions, from);
        int b = lowerBound(positions, to);
        int h = hidden();
        int[] idx = new int[b - a];
        for (int i = a; i < b; i++) {
            idx[i - a] = positions[i] - from;
        }
        float[] emb = Arrays.copyOfRange(embeddings, a * h, b * h);
        int n = 0;
        for (int s : spanStarts) {
            n += s >= from && s < to ? 1 : 0;
        }
        int[] st = new int[n];
        int[] ln = new int[n];
        int k = 0;
        for (int i = 0; i < spanStarts.length; i++) {
            if (spanStarts[i] >= from && spanStarts[i] < to) {
                st[k] = spanStarts[i];
                ln[k++] = spanLengths[i];
            }
        }
        return new StepImages(idx, emb, st, ln);
    }

    private static int lowerBound(int[] a, int v) {
        int i = Arrays.binarySearch(a, v);
        return i >= 0 ? i : -i - 1;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PromptImages p && Arrays.equals(positions, p.positions) && Arrays.equals(embeddings, p.embeddings)
                && Arrays.equals(spanStarts, p.spanStarts) && Arrays.equals(spanLengths, p.spanLengths);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(positions), Arrays.hashCode(embeddings), Arrays.hashCode(spanStarts),
                Arrays.hashCode(spanLengths));
    }

    @Override
    public String toString() {
        return "PromptImages[softTokens=" + positions.length + ", spans=" + spanStarts.length + "]";
    }
}
