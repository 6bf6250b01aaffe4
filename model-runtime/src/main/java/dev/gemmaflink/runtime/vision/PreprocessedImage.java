package dev.gemmaflink.runtime.vision;

import java.util.Objects;

/**
 * One encoder input: normalised pixel values {@code (3, size, size)}, channels first, of an original image or one
 * of its Pan &amp; Scan crops.
 *
 * @param size        side length in pixels (the vision tower's {@code image_size})
 * @param pixels      {@code 3 * size * size} values in [-1, 1], row-major per channel (not copied: treat as read-only)
 * @param contentHash lowercase hex SHA-256 of the original encoded bytes (the same for every crop of one image)
 * @param view        0 for the whole image, 1..n for crop n
 */
public record PreprocessedImage(int size, float[] pixels, String contentHash, int view) {
    /** Validates sizes. */
    public PreprocessedImage {
        Objects.requireNonNull(pixels, "pixels");
        Objects.requireNonNull(contentHash, "contentHash");
        if (size < 1 || pixels.length != 3L * size * size) {
            throw new IllegalArgumentException("expected 3x" + size + "x" + size + " pixel values, got " + pixels.length);
        }
        if (view < 0) {
            throw new IllegalArgumentException("view must be >= 0, got " + view);
        }
    }
}
