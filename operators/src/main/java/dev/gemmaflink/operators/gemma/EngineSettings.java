package dev.gemmaflink.operators.gemma;

import java.io.Serializable;

import org.apache.flink.configuration.ReadableConfig;

import dev.gemmaflink.runtime.model.Precision;

/**
 * The engine part of the {@code gemma} enricher's options, validated on the client. Equal settings on the same
 * device share one engine ({@link SharedEngines}).
 */
public record EngineSettings(String modelDir, String modelId, Precision precision, DevicePolicy devicePolicy,
        int threads, long kvCacheBytes, double kvCacheFraction, int blockSize, int targetSequenceLength,
        int maxBatch, int maxTokensPerStep, int queueCapacity) implements Serializable {

    public EngineSettings {
        if (modelDir == null || modelDir.isBlank()) {
            throw new IllegalArgumentException(GemmaOptions.MODEL_DIR.key() + " is required by the gemma enricher "
                    + "(a Gemma 3 checkpoint folder on the TaskManagers)");
        }
        positive(blockSize, GemmaOptions.BLOCK_SIZE.key());
        positive(targetSequenceLength, GemmaOptions.TARGET_SEQUENCE_LENGTH.key());
        positive(maxBatch, GemmaOptions.MAX_BATCH.key());
        positive(maxTokensPerStep, GemmaOptions.MAX_TOKENS_PER_STEP.key());
        positive(queueCapacity, GemmaOptions.QUEUE_CAPACITY.key());
        if (threads < 0) {
            throw new IllegalArgumentException(GemmaOptions.THREADS.key() + " must be >= 0, got " + threads);
        }
        if (kvCacheBytes < 0) {
            throw new IllegalArgumentException(GemmaOptions.KV_CACHE_BYTES.key() + " must be >= 0, got "
                    + kvCacheBytes);
        }
        if (!(kvCacheFraction > 0 && kvCacheFraction < 1)) {
            throw new IllegalArgumentException(GemmaOptions.KV_CACHE_FRACTION.key() + " must be in (0, 1), got "
                    + kvCacheFraction);
        }
    }

    private static void positive(int value, String key) {
        if (value <= 0) {
            throw new IllegalArgumentException(key + " must be > 0, got " + value);
        }
    }

    /** @throws IllegalArgumentException naming the option that is wrong */
    public static EngineSettings from(ReadableConfig config) {
        String precision = config.get(GemmaOptions.PRECISION).trim().toUpperCase(java.util.Locale.ROOT);
        Precision p;
        try {
            p = Precision.valueOf(precision);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown precision '" + config.get(GemmaOptions.PRECISION)
                    + "' (option " + GemmaOptions.PRECISION.key() + "); use BF16 or FLOAT32", e);
        }
        return new EngineSettings(config.get(GemmaOptions.MODEL_DIR), config.get(GemmaOptions.MODEL_ID), p,
                DevicePolicy.parse(config.get(GemmaOptions.DEVICE_POLICY)), config.get(GemmaOptions.THREADS),
                config.get(GemmaOptions.KV_CACHE_BYTES), config.get(GemmaOptions.KV_CACHE_FRACTION),
                config.get(GemmaOptions.BLOCK_SIZE), config.get(GemmaOptions.TARGET_SEQUENCE_LENGTH),
                config.get(GemmaOptions.MAX_BATCH), config.get(GemmaOptions.MAX_TOKENS_PER_STEP),
                config.get(GemmaOptions.QUEUE_CAPACITY));
    }
}
