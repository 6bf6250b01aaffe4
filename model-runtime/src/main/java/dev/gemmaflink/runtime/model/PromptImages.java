package dev.gemmaflink.runtime.model;

import dev.gemmaflink.runtime.kvcache.ImageSpan;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Image inputs of a whole prompt: the image spans (soft tokens, bidirectional attention) and the soft-token
 * embeddings of every position of every span. Cut into per-chunk {@link StepImages} by {@link #slice}, at chunk
 * boundaries that cut no span ({@link dev.gemmaflink.runtime.kvcache.ImageSpans#chunkEnd}).
 *
 * @param spans      image spans in position order, not overlapping, at least one
 * @param embeddings float32 rows, one per soft token: the positions of {@code spans.get(0)} in order, then those of
 *                   {@code spans.get(1)}, and so on ({@code totalSoftTokens * hidden} values)
 */
public record PromptImages(List<ImageSpan> spans, float[] embeddings) {

    /** Validates and copies. */
    public PromptImages {
        Objects.requireNonNull(embeddings, "embeddings");
        spans = List.copyOf(spans);
        if (spans.isEmpty()) {
            throw new IllegalArgumentException("prompt images: no image spans");
        }
        for (int i = 1; i < spans.size(); i++) {
            if (spans.get(i).start() < spans.get(i - 1).end()) {
                throw new IllegalArgumentException("prompt images: spans must be ascending and must not overlap, got "
                        + spans.get(i - 1) + " then " + spans.get(i));
            }
        }
        int soft = softTokens(spans);
        if (embeddings.length % soft != 0) {
            throw new IllegalArgumentException("prompt images: " + embeddings.length + " values for " + soft
                    + " soft tokens");
        }
        embeddings = embeddings.clone();
    }

    /**
     * Lays soft-token embedding rows at their spans' positions. The rows come straight from the encoder
     * ({@code vision.ImageCaptioner}) or from the engine's cache keyed by {@link ImageSpan#contentKey()}.
     *
     * @param spans image spans in position order, not overlapping, at least one
     * @param rows  {@code rows.get(i)}: the embeddings of the soft tokens of {@code spans.get(i)}, row-major
     *              {@code (length, hidden)} with the same {@code hidden} for every span
     * @throws IllegalArgumentException when spans and rows differ in number, or a span's rows are not
     *     {@code length * hidden} values
     */
    public static PromptImages place(List<ImageSpan> spans, List<float[]> rows) {
        if (spans.isEmpty() || spans.size() != rows.size()) {
            throw new IllegalArgumentException("prompt images: " + spans.size() + " image spans but " + rows.size()
                    + " sets of embedding rows");
        }
        int hidden = rows.get(0).length / spans.get(0).length();
        float[] emb = new float[softTokens(spans) * hidden];
        int k = 0; // soft tokens placed so far
        for (int i = 0; i < spans.size(); i++) {
            ImageSpan span = spans.get(i);
            float[] r = Objects.requireNonNull(rows.get(i), "rows");
            if (r.length != span.length() * hidden) {
                throw new IllegalArgumentException("prompt images: image " + span + " has " + r.length
                        + " embedding values for " + span.length() + " soft tokens of width " + hidden);
            }
            System.arraycopy(r, 0, emb, k * hidden, r.length);
            k += span.length();
        }
        return new PromptImages(spans, emb);
    }

    /** @return width of an embedding row */
    public int hidden() {
        return embeddings.length / softTokens(spans);
    }

    /** @return the absolute position of every soft token, ascending (the row order of {@link #embeddings()}) */
    public int[] positions() {
        int[] out = new int[softTokens(spans)];
        int k = 0;
        for (ImageSpan s : spans) {
            for (int p = s.start(); p < s.end(); p++) {
                out[k++] = p;
            }
        }
        return out;
    }

    @Override
    public float[] embeddings() {
        return embeddings.clone();
    }

    /**
     * @return the soft tokens within positions [from, to), indices relative to {@code from}, and the spans that start
     *     there
     */
    public StepImages slice(int from, int to) {
        int h = hidden();
        int count = 0;
        for (ImageSpan s : spans) {
            count += Math.max(0, Math.min(s.end(), to) - Math.max(s.start(), from));
        }
        int[] idx = new int[count];
        float[] emb = new float[count * h];
        int k = 0;
        int row = 0; // embedding row of the span's first soft token
        for (ImageSpan s : spans) {
            int a = Math.max(s.start(), from);
            int b = Math.min(s.end(), to);
            if (a < b) {
                System.arraycopy(embeddings, (row + a - s.start()) * h, emb, k * h, (b - a) * h);
                for (int p = a; p < b; p++) {
                    idx[k++] = p - from;
                }
            }
            row += s.length();
        }
        List<ImageSpan> starting = spans.stream().filter(s -> s.start() >= from && s.start() < to).toList();
        return new StepImages(idx, emb, starting);
    }

    private static int softTokens(List<ImageSpan> spans) {
        int n = 0;
        for (ImageSpan s : spans) {
            n += s.length();
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PromptImages p && spans.equals(p.spans) && Arrays.equals(embeddings, p.embeddings);
    }

    @Override
    public int hashCode() {
        return 31 * spans.hashCode() + Arrays.hashCode(embeddings);
    }

    @Override
    public String toString() {
        return "PromptImages[softTokens=" + softTokens(spans) + ", spans=" + spans.size() + "]";
    }
}
