package dev.gemmaflink.runtime.model;

import ai.djl.Device;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * How a {@link GemmaModel} is loaded: precision, device and an optional forced matmul path.
 *
 * <pre>{@code
 * ModelOptions opts = ModelOptions.builder().precision(Precision.FLOAT32).device("cpu").build();
 * }</pre>
 */
public final class ModelOptions {

    private final Precision precision;
    private final Device device;
    private final MatmulPath forcedPath; // null: chosen by device and probe
    private final int threads;

    private ModelOptions(Builder b) {
        this.precision = b.precision;
        this.device = b.device;
        this.forcedPath = b.forcedPath;
        this.threads = b.threads;
    }

    /** Defaults: {@link Precision#BF16} on the CPU. */
    public static ModelOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Precision precision() {
        return precision;
    }

    public Device device() {
        return device;
    }

    /** A matmul path forced by configuration (tests, benchmarks); empty means chosen at load. */
    public Optional<MatmulPath> forcedPath() {
        return Optional.ofNullable(forcedPath);
    }

    /**
     * Intra-op CPU threads libtorch uses for this model's calls; 0 leaves libtorch's default (one per core).
     * One thread is much faster for tiny models, and on a CPU shared with other busy processes, where OpenMP
     * threads spin against each other.
     */
    public int threads() {
        return threads;
    }

    /**
     * Parses a device spelling: {@code cpu}, {@code gpu} (index 0), {@code gpu:N} or {@code cuda:N}.
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    public static Device parseDevice(String s) {
        String v = s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
        if (v.equals("cpu")) {
            return Device.cpu();
        }
        if (v.equals("gpu") || v.equals("cuda")) {
            return Device.gpu(0);
        }
        for (String prefix : new String[] {"gpu:", "cuda:"}) {
            if (v.startsWith(prefix)) {
                try {
                    int index = Integer.parseInt(v.substring(prefix.length()));
                    if (index >= 0) {
                        return Device.gpu(index);
                    }
                } catch (NumberFormatException ignored) {
                    // fall through to the error below
                }
            }
        }
        throw new IllegalArgumentException("unknown device '" + s + "': use cpu, gpu or gpu:N (N >= 0)");
    }

    /** Builder; every setter is optional. */
    public static final class Builder {
        private Precision precision = Precision.BF16;
        private Device device = Device.cpu();
        private MatmulPath forcedPath;
        private int threads;

        private Builder() {
        }

        /** Intra-op CPU threads (0 = libtorch default). */
        public Builder threads(int n) {
            this.threads = n;
            return this;
        }

        public Builder precision(Precision p) {
            this.precision = Objects.requireNonNull(p, "precision");
            return this;
        }

        public Builder device(Device d) {
            this.device = Objects.requireNonNull(d, "device");
            return this;
        }

        /** @param spec {@code cpu}, {@code gpu}, {@code gpu:N} */
        public Builder device(String spec) {
            this.device = parseDevice(spec);
            return this;
        }

        /**
         * Forces a matmul path; it must suit the precision (an F32 path for FLOAT32, a BF16 path for BF16) and the device
         * (no {@linkplain MatmulPath#cpuOnly() CPU-only} path on a GPU).
         */
        public Builder forcedPath(MatmulPath path) {
            this.forcedPath = path;
            return this;
        }

        public ModelOptions build() {
            if (threads < 0) {
                throw new IllegalArgumentException("threads must be >= 0 (0 = libtorch default), got " + threads);
            }
            if (forcedPath != null && forcedPath.float32() != (precision == Precision.FLOAT32)) {
                throw new IllegalArgumentException("matmul path " + forcedPath + " does not fit precision " + precision);
            }
            if (forcedPath != null && forcedPath.cpuOnly() && device.isGpu()) {
                throw new IllegalArgumentException("matmul path " + forcedPath + " runs on the CPU only; device gpu:"
                        + device.getDeviceId() + " takes " + MatmulPath.BF16_PLAIN + " (bf16) or " + MatmulPath.F32
                        + " (float32)");
            }
            return new ModelOptions(this);
        }
    }
}
