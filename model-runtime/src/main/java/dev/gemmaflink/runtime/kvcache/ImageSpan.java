package dev.gemmaflink.runtime.kvcache;

import java.util.Objects;

/**
 * Where an image's soft tokens sit in a prompt, and which image content fills them: positions
 * {@code [start, start + length)} hold {@code <image_soft_token>} ids whose embeddings the vision encoder produces.
 *
 * <p>The KV cache mixes the content key into the hash of every block the span overlaps
 * (every soft token has the same token id, so without it two prompts with different images at the same place would
 * share blocks) and never ends a prefix hit inside a span; the scheduler never ends a prefill chunk inside one (both
 * by {@link ImageSpans}); the model attends bidirectionally within a span; the engine keys its image-embedding cache by
 * {@link #contentKey()}.
 *
 * @param start      position of the first soft token
 * @param length     number of soft tokens ({@code mm_tokens_per_image}, 256 for Gemma 3)
 * @param contentKey identifies the soft embeddings: a strong hash of the image content (hex SHA-256 of the encoded
 *                   bytes), plus the crop window for a Pan &amp; Scan crop (different crop settings give different
 *                   crops of the same bytes)
 */
public record ImageSpan(int start, int length, String contentKey) {

    /** Validates the span. */
    public ImageSpan {
        Objects.requireNonNull(contentKey, "contentKey");
        if (start < 0) {
            throw new IllegalArgumentException("image span start must be >= 0, got " + start);
        }
        if (length < 1) {
            throw new IllegalArgumentException("image span length must be >= 1, got " + length);
        }
        if (contentKey.isEmpty()) {
            throw new IllegalArgumentException("image span contentKey must not be empty");
        }
    }

    /** Exclusive end position. */
    public int end() {
        return start + length;
    }

    /** True when {@code position} is one of the span's soft tokens. */
    public boolean contains(long position) {
        return position >= start && position < end();
    }

    /** True when the span shares at least one position with [from, to). */
    public boolean overlaps(int from, int to) {
        return start < to && end() > from;
    }

    /** True when a boundary at {@code position} (tokens before it in one step, from it in the next) cuts the span. */
    public boolean isCutBy(int position) {
        return start < position && position < end();
    }
}
