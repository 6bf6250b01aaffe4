package dev.gemmaflink.runtime.vision;

import java.util.List;
import java.util.Objects;

/**
 * An image ready for the encoder: the whole image and its Pan &amp; Scan crops, preprocessed, with the content hash
 * that identifies it for caching.
 *
 * @param contentHash lowercase hex SHA-256 of the encoded bytes
 * @param width       decoded width (after EXIF orientation)
 * @param height      decoded height
 * @param crops       the crop windows (empty without Pan &amp; Scan)
 * @param views       {@code 1 + crops.size()} encoder inputs, whole image first
 */
public record PreparedImage(String contentHash, int width, int height, List<CropBox> crops, List<PreprocessedImage> views) {
    /** Validates and copies the lists. */
    public PreparedImage {
        Objects.requireNonNull(contentHash, "contentHash");
        crops = List.copyOf(crops);
        views = List.copyOf(views);
        if (views.size() != crops.size() + 1) {
            throw new IllegalArgumentException("expected " + (crops.size() + 1) + " views, got " + views.size());
        }
    }

    /** @return number of crops (0 without Pan &amp; Scan) */
    public int numCrops() {
        return crops.size();
    }
}
