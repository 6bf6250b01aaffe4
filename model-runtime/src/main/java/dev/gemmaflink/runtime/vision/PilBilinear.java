package dev.gemmaflink.runtime.vision;

/**
 * PIL's {@code Image.resize(size, Image.BILINEAR)} on an 8-bit RGB image, reproduced operation for operation
 * (Pillow {@code libImaging/Resample.c}), because transformers resizes Gemma 3 inputs through PIL.
 *
 * <p>PIL's BILINEAR is a separable triangle filter whose support grows with the downscale factor (an antialiasing
 * filter, not 2x2 interpolation): for an output pixel with centre {@code c = (i + 0.5) * in / out} it weights
 * input pixels {@code j} in {@code [c - s, c + s]} ({@code s = max(1, in / out)}) by
 * {@code max(0, 1 - |(j + 0.5 - c) / max(1, in / out)|)}, normalised to sum 1. Weights become 22-bit fixed point; the
 * horizontal pass runs first and its result is rounded to 8 bits, then the vertical pass; sums are rounded half up
 * and clipped to 0..255.
 */
final class PilBilinear {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PilBilinear() {
    }

    /** One axis of resampling: for each output index, the first input index and fixed-point weights. */
    private static final class Coeffs {
        final int[] start;
        final int[] count;
        final int[][] weights;

        Coeffs(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(1.0, scale);
            double support = filterScale; // the triangle's support is 1, scaled
            start = new int[outSize];
            count = new int[outSize];
            weights = new int[outSize][];
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                int xmin = (int) (center - support + 0.5);
                if (xmin < 0) {
                    xmin = 0;
                }
                int xmax = (int) (center + support + 0.5);
                if (xmax > inSize) {
                    xmax = inSize;
                }
                xmax -= xmin;
                double[] k = new double[Math.max(0, xmax)];
                double ww = 0;
                for (int x = 0; x < xmax; x++) {
                    double t = Math.abs((x + xmin - center + 0.5) / filterScale);
                    double w = t < 1.0 ? 1.0 - t : 0.0;
                    k[x] = w;
                    ww += w;
                }
                int[] fixed = new int[k.length];
                for (int x = 0; x < k.length; x++) {
                    double v = ww != 0.0 ? k[x] / ww : k[x];
                    fixed[x] = v < 0 ? (int) (-0.5 + v * (1 << PRECISION_BITS)) : (int) (0.5 + v * (1 << PRECISION_BITS));
                }
                start[xx] = xmin;
                count[xx] = xmax;
                weights[xx] = fixed;
            }
        }
    }

    /**
     * @return {@code img} resized to {@code outW x outH}; the same object when the size already matches (PIL copies)
     */
    static RgbImage resize(RgbImage img, int outW, int outH) {
        if (outW < 1 || outH < 1) {
            throw new IllegalArgumentException("target size must be positive, got " + outW + "x" + outH);
        }
        int w = img.width();
        int h = img.height();
        byte[] cur = img.raw();
        int curW = w;
        if (outW != w) {
            cur = horizontal(cur, w, h, outW, new Coeffs(w, outW));
            curW = outW;
        }
        if (outH != h) {
            cur = vertical(cur, curW, h, outH, new Coeffs(h, outH));
        }
        return cur == img.raw() ? img : RgbImage.wrap(outW, outH, cur);
    }

    private static byte[] horizontal(byte[] src, int w, int h, int outW, Coeffs c) {
        byte[] out = new byte[outW * h * 3];
        for (int y = 0; y < h; y++) {
            int row = y * w * 3;
            for (int xx = 0; xx < outW; xx++) {
                int[] k = c.weights[xx];
                int x0 = c.start[xx];
                for (int ch = 0; ch < 3; ch++) {
                    long ss = 1L << (PRECISION_BITS - 1);
                    for (int x = 0; x < c.count[xx]; x++) {
                        ss += (long) (src[row + (x0 + x) * 3 + ch] & 0xFF) * k[x];
                    }
                    out[(y * outW + xx) * 3 + ch] = clip8(ss);
                }
            }
        }
        return out;
    }

    private static byte[] vertical(byte[] src, int w, int h, int outH, Coeffs c) {
        byte[] out = new byte[w * outH * 3];
        for (int yy = 0; yy < outH; yy++) {
            int[] k = c.weights[yy];
            int y0 = c.start[yy];
            for (int x = 0; x < w; x++) {
                for (int ch = 0; ch < 3; ch++) {
                    long ss = 1L << (PRECISION_BITS - 1);
                    for (int y = 0; y < c.count[yy]; y++) {
                        ss += (long) (src[((y0 + y) * w + x) * 3 + ch] & 0xFF) * k[y];
                    }
                    out[(yy * w + x) * 3 + ch] = clip8(ss);
                }
            }
        }
        return out;
    }

    private static byte clip8(long ss) {
        long v = ss >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : v > 255 ? 255 : v);
    }
}
