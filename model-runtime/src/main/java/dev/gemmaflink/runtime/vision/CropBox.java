package dev.gemmaflink.runtime.vision;

/**
 * One Pan &amp; Scan window in original-image pixels; the last window of a row may be narrower than the others
 * (numpy slicing clips it at the border).
 *
 * @param x      left column
 * @param y      top row
 * @param width  width in pixels
 * @param height height in pixels
 */
public record CropBox(int x, int y, int width, int height) {
    /** Validates a non-empty box at non-negative coordinates. */
    public CropBox {
        if (x < 0 || y < 0 || width < 1 || height < 1) {
            throw new IllegalArgumentException("invalid crop box " + x + "," + y + " " + width + "x" + height);
        }
    }
}
