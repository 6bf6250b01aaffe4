package dev.gemmaflink.runtime.kvcache;

/**
 * Where an image's soft tokens sit in a sequence, and what the image was. Every image soft token has the same token id,
 * so without the content hash two prompts with different images at the same place would share KV blocks.
 *
 * @param startPosition token position of the first soft token
 * @param numTokens number of soft tokens (256 for Gemma 3)
 * @param contentHash a strong hash of the image content (for example hex SHA-256 of the preprocessed pixels)
 */
public record ImageSpan(int startPosition, int numTokens, String contentHash) {

    /** Validates the span. */
    public ImageSpan {
        if (startPosition < 0) {
            throw new IllegalArgumentException("image startPosition must be >= 0, got " + startPosition);
        }
        if (numTokens < 1) {
            throw new IllegalArgumentException("image numTokens must be >= 1, got " + numTokens);
        }
        if (contentHash == null || contentHash.isEmpty()) {
            throw new IllegalArgumentException("image contentHash must not be empty");
        }
    }

    /** Exclusive end position. */
    public int endPosition() {
        return startPosition + numTokens;
    }

    /** True when the span shares at least one position with [from, to). */
    public boolean overlaps(int from, int to) {
        return startPosition < to && endPosition() > from;
    }
}
