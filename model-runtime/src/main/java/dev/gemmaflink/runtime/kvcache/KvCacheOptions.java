package dev.gemmaflink.runtime.kvcache;

/**
 * Every KV cache and scheduling tunable of one engine, in one place, with defaults.
 *
 * <p>The KV budget is either absolute ({@link Builder#kvCacheBytes(long)}) or a fraction of the device memory that
 * is free once the weights are loaded ({@link Builder#memoryFraction(double)}, default 0.9); setting both is refused.
 *
 * <pre>{@code
 * KvCacheOptions options = KvCacheOptions.builder().memoryFraction(0.85).maxTokensPerStep(4096).build();
 * KvCacheManager kv = options.newManager(KvCacheLayout.fromConfig(config, 2, options.blockSize()), freeBytes);
 * }</pre>
 *
 * @param blockSize tokens per block (default 16)
 * @param kvCacheBytes absolute KV budget in bytes, or 0 to use {@code memoryFraction}
 * @param memoryFraction fraction of free device memory for KV, used when {@code kvCacheBytes} is 0 (default 0.9)
 * @param targetSequenceLength sequence length the split between groups serves, tokens (default 32768)
 * @param maxTokensPerStep token budget per engine step (default 2048)
 * @param maxBatchSize most running sequences (default 64)
 * @param queueCapacity most waiting sequences (default 1024)
 * @param prefixCaching automatic prefix caching on/off (default on)
 */
public record KvCacheOptions(int blockSize, long kvCacheBytes, double memoryFraction, int targetSequenceLength,
        int maxTokensPerStep, int maxBatchSize, int queueCapacity, boolean prefixCaching) {

    /** Validates every field; messages name the option. */
    public KvCacheOptions {
        requirePositive("blockSize", blockSize);
        requirePositive("targetSequenceLength", targetSequenceLength);
        requirePositive("maxTokensPerStep", maxTokensPerStep);
        requirePositive("maxBatchSize", maxBatchSize);
        requirePositive("queueCapacity", queueCapacity);
        if (kvCacheBytes < 0) {
            throw new IllegalArgumentException("kvCacheBytes must be >= 0 (0 = use memoryFraction), got " + kvCacheBytes);
        }
        if (!(memoryFraction > 0 && memoryFraction <= 1)) {
            throw new IllegalArgumentException("memoryFraction must be in (0, 1], got " + memoryFraction);
        }
    }

    /** A builder with the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** The KV budget in bytes given the free device memory (ignored when an absolute budget is set). */
    public long budgetBytes(long freeDeviceBytes) {
        return kvCacheBytes > 0 ? kvCacheBytes : KvCacheSizing.budgetFromFreeMemory(freeDeviceBytes, memoryFraction);
    }

    /** Blocks per group for this layout and budget. */
    public int[] numBlocks(KvCacheLayout layout, long freeDeviceBytes) {
        if (layout.blockSize() != blockSize) {
            throw new IllegalArgumentException("layout block size " + layout.blockSize()
                    + " differs from option blockSize " + blockSize);
        }
        return KvCacheSizing.blocksForBudget(layout, budgetBytes(freeDeviceBytes), targetSequenceLength,
                maxTokensPerStep);
    }

    /** Sizes and builds the device's KV cache manager. */
    public KvCacheManager newManager(KvCacheLayout layout, long freeDeviceBytes) {
        return KvCacheManager.builder(layout).numBlocks(numBlocks(layout, freeDeviceBytes))
                .prefixCaching(prefixCaching).build();
    }

    private static void requirePositive(String name, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + value);
        }
    }

    /** Builder for {@link KvCacheOptions}; every setter is optional. */
    public static final class Builder {
        private int blockSize = 16;
        private long kvCacheBytes;
        private Double memoryFraction;
        private int targetSequenceLength = 32_768;
        private int maxTokensPerStep = 2_048;
        private int maxBatchSize = 64;
        private int queueCapacity = 1_024;
        private boolean prefixCaching = true;

        private Builder() {
        }

        /** Tokens per block. */
        public Builder blockSize(int value) {
            this.blockSize = value;
            return this;
        }

        /** Absolute KV budget in bytes; excludes {@link #memoryFraction(double)}. */
        public Builder kvCacheBytes(long value) {
            this.kvCacheBytes = value;
            return this;
        }

        /** Fraction of free device memory for KV; excludes {@link #kvCacheBytes(long)}. */
        public Builder memoryFraction(double value) {
            this.memoryFraction = value;
            return this;
        }

        /** Sequence length the split between full and sliding pools serves. */
        public Builder targetSequenceLength(int value) {
            this.targetSequenceLength = value;
            return this;
        }

        /** Token budget of one engine step (chunked prefill size bound). */
        public Builder maxTokensPerStep(int value) {
            this.maxTokensPerStep = value;
            return this;
        }

        /** Most running sequences. */
        public Builder maxBatchSize(int value) {
            this.maxBatchSize = value;
            return this;
        }

        /** Most waiting sequences. */
        public Builder queueCapacity(int value) {
            this.queueCapacity = value;
            return this;
        }

        /** Automatic prefix caching. */
        public Builder prefixCaching(boolean value) {
            this.prefixCaching = value;
            return this;
        }

        /** Validates and builds. */
        public KvCacheOptions build() {
            if (kvCacheBytes > 0 && memoryFraction != null) {
                throw new IllegalArgumentException("set either kvCacheBytes (" + kvCacheBytes
                        + ") or memoryFraction (" + memoryFraction + "), not both");
            }
            return new KvCacheOptions(blockSize, kvCacheBytes, memoryFraction == null ? 0.9 : memoryFraction,
                    targetSequenceLength, maxTokensPerStep, maxBatchSize, queueCapacity, prefixCaching);
        }
    }
}
