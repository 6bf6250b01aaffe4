package dev.gemmaflink.runtime.vision;

/**
 * Limits applied by {@link ImageDecoder} before any pixel is decoded.
 *
 * @param maxBytes  largest accepted encoded size in bytes (default 20 MiB)
 * @param maxPixels largest accepted width x height, read from the format header (default 40 megapixels): a
 *                  decompression bomb (a tiny file declaring a huge canvas) is refused without allocating it
 */
public record ImageDecodeOptions(long maxBytes, long maxPixels) {

    /** Default byte limit: 20 MiB. */
    public static final long DEFAULT_MAX_BYTES = 20L << 20;
    /** Default pixel limit: 40 megapixels (about 160 MB of decoded ARGB at most). */
    public static final long DEFAULT_MAX_PIXELS = 40_000_000L;

    /** Validates both limits are positive. */
    public ImageDecodeOptions {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive, got " + maxBytes);
        }
        if (maxPixels <= 0) {
            throw new IllegalArgumentException("maxPixels must be positive, got " + maxPixels);
        }
    }

    /** @return the default limits */
    public static ImageDecodeOptions defaults() {
        return new ImageDecodeOptions(DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS);
    }
}
