package dev.gemmaflink.runtime.vision;

import dev.gemmaflink.runtime.kvcache.ImageSpan;
import java.util.Objects;

/**
 * Where one encoder input's soft tokens sit in an assembled prompt.
 *
 * @param start       position of the first {@code <image_soft_token>}
 * @param length      number of soft tokens ({@code mm_tokens_per_image})
 * @param inputIndex  row of this input in the encoder batch (images in prompt order, each followed by its crops)
 * @param imageIndex  which image of the request (0-based)
 * @param view        0 for the whole image, k for its k-th crop
 * @param contentHash hex SHA-256 of the image's encoded bytes
 * @param cacheKey    identifies the soft embeddings themselves: the content hash for a whole image, the hash plus the
 *                    crop window for a crop (different Pan &amp; Scan settings give different crops of the same bytes)
 */
public record ImageTokenSpan(int start, int length, int inputIndex, int imageIndex, int view, String contentHash,
        String cacheKey) {
    /** Validates the span. */
    public ImageTokenSpan {
        Objects.requireNonNull(contentHash, "contentHash");
        Objects.requireNonNull(cacheKey, "cacheKey");
        if (start < 0 || length < 1 || inputIndex < 0 || imageIndex < 0 || view < 0) {
            throw new IllegalArgumentException("invalid image span start " + start + " length " + length + " input "
                    + inputIndex + " image " + imageIndex + " view " + view);
        }
    }

    /** @return exclusive end position */
    public int end() {
        return start + length;
    }

    /** @return the span as the KV cache's prefix hashing wants it (keyed by {@link #cacheKey()}) */
    public ImageSpan toKvImageSpan() {
        return new ImageSpan(start, length, cacheKey);
    }
}
