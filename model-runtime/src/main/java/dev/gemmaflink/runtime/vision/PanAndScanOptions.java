package dev.gemmaflink.runtime.vision;

/**
 * Pan &amp; Scan settings (transformers' {@code do_pan_and_scan} and {@code pan_and_scan_*} arguments), set per job
 * and overridable per request.
 *
 * @param enabled           whether crops are made at all (off by default, as in the released processor config)
 * @param minCropSize       smallest allowed crop side in pixels (256)
 * @param maxCrops          most crops per image (4); at least 2
 * @param minRatioToActivate long side / short side from which crops are made (1.2)
 */
public record PanAndScanOptions(boolean enabled, int minCropSize, int maxCrops, double minRatioToActivate)
        implements java.io.Serializable {

    /** The reference defaults, switched off. */
    public static final PanAndScanOptions DISABLED = new PanAndScanOptions(false, 256, 4, 1.2);
    /** The reference defaults, switched on. */
    public static final PanAndScanOptions DEFAULTS_ENABLED = new PanAndScanOptions(true, 256, 4, 1.2);

    /** Validates the values. */
    public PanAndScanOptions {
        if (minCropSize < 1) {
            throw new IllegalArgumentException("pan-and-scan minCropSize must be at least 1, got " + minCropSize);
        }
        if (maxCrops < 2) {
            throw new IllegalArgumentException("pan-and-scan maxCrops must be at least 2, got " + maxCrops);
        }
        if (!(minRatioToActivate >= 1.0) || Double.isInfinite(minRatioToActivate)) {
            throw new IllegalArgumentException("pan-and-scan minRatioToActivate must be a finite number >= 1, got "
                    + minRatioToActivate);
        }
    }

    /** @return a copy switched on or off */
    public PanAndScanOptions withEnabled(boolean on) {
        return new PanAndScanOptions(on, minCropSize, maxCrops, minRatioToActivate);
    }
}
