package dev.gemmaflink.runtime.vision;

import java.util.Arrays;

/**
 * A decoded 8-bit RGB image, row-major, channels interleaved ({@code (H, W, 3)}, like a PIL "RGB" image as a
 * numpy array). Immutable: the pixel array is never handed out without a copy.
 */
public final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] rgb; // (H, W, 3)

    /**
     * @param width  width in pixels
     * @param height height in pixels
     * @param rgb    {@code width * height * 3} bytes, row-major RGB; copied
     */
    public RgbImage(int width, int height, byte[] rgb) {
        this(rgb.clone(), width, height);
    }

    /** Takes ownership of {@code rgb} without copying (argument order differs from the public constructor). */
    private RgbImage(byte[] rgb, int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (rgb.length != (long) width * height * 3) {
            throw new IllegalArgumentException("expected " + (long) width * height * 3 + " RGB bytes for " + width + "x"
                    + height + ", got " + rgb.length);
        }
        this.width = width;
        this.height = height;
        this.rgb = rgb;
    }

    /** Wraps an array this package built and will not touch again. */
    static RgbImage wrap(int width, int height, byte[] rgb) {
        return new RgbImage(rgb, width, height);
    }

    /** @return width in pixels */
    public int width() {
        return width;
    }

    /** @return height in pixels */
    public int height() {
        return height;
    }

    /**
     * @param x column
     * @param y row
     * @param c channel 0 (R), 1 (G), 2 (B)
     * @return the sample, 0..255
     */
    public int sample(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }

    /** @return a copy of the pixels, {@code (H, W, 3)} */
    public byte[] toRgbBytes() {
        return rgb.clone();
    }

    /** Package access without copying, for the resampler. */
    byte[] raw() {
        return rgb;
    }

    /**
     * @return the window {@code [x, x + w) x [y, y + h)}, clipped to the image as numpy slicing does
     * @throws IllegalArgumentException when the clipped window is empty
     */
    public RgbImage crop(int x, int y, int w, int h) {
        int x1 = Math.min(width, x + w);
        int y1 = Math.min(height, y + h);
        if (x < 0 || y < 0 || x1 <= x || y1 <= y) {
            throw new IllegalArgumentException("crop (" + x + ", " + y + ", " + w + "x" + h + ") is outside the " + width
                    + "x" + height + " image");
        }
        int cw = x1 - x;
        int ch = y1 - y;
        byte[] out = new byte[cw * ch * 3];
        for (int r = 0; r < ch; r++) {
            System.arraycopy(rgb, ((y + r) * width + x) * 3, out, r * cw * 3, cw * 3);
        }
        return wrap(cw, ch, out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RgbImage && ((RgbImage) o).width == width && ((RgbImage) o).height == height
                && Arrays.equals(((RgbImage) o).rgb, rgb);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * width + height) + Arrays.hashCode(rgb);
    }

    @Override
    public String toString() {
        return "RgbImage[" + width + "x" + height + "]";
    }
}
