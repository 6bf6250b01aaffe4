package dev.gemmaflink.runtime.vision;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Pan &amp; Scan crop selection of transformers' {@code Gemma3ImageProcessor.pan_and_scan}.
 *
 * <p>For a landscape (or square) image: no crops when {@code w / h < minRatio}; else
 * {@code n = floor(w / h + 0.5)}, {@code n = min(floor(w / minCrop), n)}, clamped to {@code [2, maxCrops]}; one row
 * of {@code n} windows of {@code ceil(w / n) x h} at {@code i * ceil(w / n)}; no crops at all when a window's
 * smaller side is below {@code minCrop}. Portrait images are the same with the axes swapped.
 */
public final class PanAndScan {
    private PanAndScan() {
    }

    /**
     * @param width   original width in pixels
     * @param height  original height in pixels
     * @param options settings; when disabled the result is empty
     * @return the crop windows in row-major order (empty: encode the original image only)
     */
    public static List<CropBox> crops(int width, int height, PanAndScanOptions options) {
        Objects.requireNonNull(options, "options");
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (!options.enabled()) {
            return List.of();
        }
        int nw;
        int nh;
        if (width >= height) {
            if ((double) width / height < options.minRatioToActivate()) {
                return List.of();
            }
            nw = clampCount((int) Math.floor((double) width / height + 0.5), width, options);
            nh = 1;
        } else {
            if ((double) height / width < options.minRatioToActivate()) {
                return List.of();
            }
            nh = clampCount((int) Math.floor((double) height / width + 0.5), height, options);
            nw = 1;
        }
        int cw = (int) Math.ceil((double) width / nw);
        int ch = (int) Math.ceil((double) height / nh);
        if (Math.min(cw, ch) < options.minCropSize()) {
            return List.of();
        }
        List<CropBox> out = new ArrayList<>(nw * nh);
        for (int j = 0; j < nh; j++) {
            for (int i = 0; i < nw; i++) {
                int x = i * cw;
                int y = j * ch;
                out.add(new CropBox(x, y, Math.min(cw, width - x), Math.min(ch, height - y)));
            }
        }
        return List.copyOf(out);
    }

    private static int clampCount(int byRatio, int longSide, PanAndScanOptions o) {
        int n = Math.min((int) Math.floor((double) longSide / o.minCropSize()), byRatio);
        n = Math.max(2, n);
        return Math.min(o.maxCrops(), n);
    }
}
