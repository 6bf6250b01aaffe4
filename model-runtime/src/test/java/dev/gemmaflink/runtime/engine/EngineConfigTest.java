package dev.gemmaflink.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.vision.PanAndScanOptions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class EngineConfigTest {

    private static final long GIB = 1L << 30;

    @Test
    void theDefaultsAreDocumentedOnes() {
        EngineConfig d = EngineConfig.DEFAULTS;
        assertThat(d.modelId()).isNull();
        assertThat(d.precision()).isEqualTo(Precision.BF16);
        assertThat(d.device()).isEqualTo("cpu");
        assertThat(d.threads()).isZero();
        assertThat(d.kvCacheBytes()).isZero();
        assertThat(d.kvCacheFraction()).isEqualTo(0.9);
        assertThat(d.blockSize()).isEqualTo(16);
        assertThat(d.targetSequenceLength()).isEqualTo(32_768);
        assertThat(d.maxSequenceLength()).as("the model's context").isZero();
        assertThat(d.maxTokensPerStep()).isEqualTo(2_048);
        assertThat(d.maxBatchSize()).as("automatic: chosen from the device at start").isZero();
        assertThat(EngineConfig.GPU_MAX_BATCH).isEqualTo(256);
        assertThat(EngineConfig.CPU_MAX_BATCH).isEqualTo(64);
        assertThat(d.queueCapacity()).isEqualTo(1_024);
        assertThat(d.prefixCaching()).isTrue();
        assertThat(d.drainTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(d.imageCacheBytes()).isEqualTo(256L << 20);
        assertThat(d.maxImageViewsPerStep()).isEqualTo(1);
        assertThat(d.panAndScan()).isEqualTo(PanAndScanOptions.DISABLED);
        assertThat(d.preparationThreads()).isEqualTo(2);
        assertThat(d.graphOptimization()).isFalse();
        assertThat(d.graphMode()).isEqualTo(dev.gemmaflink.runtime.model.GraphMode.PLAIN);
    }

    @Test
    void theKvBudgetIsAbsoluteOrAFractionOfFreeMemoryCappedOnTheCpu() {
        EngineConfig absolute = EngineConfig.builder().kvCacheBytes(2 * GIB).build();
        assertThat(absolute.kvBudgetBytes(80 * GIB, true, 0)).isEqualTo(2 * GIB);
        assertThat(absolute.kvBudgetBytes(80 * GIB, false, 0)).isEqualTo(2 * GIB);
        // An absolute budget is the user's sizing: the headroom is not taken from it.
        assertThat(absolute.kvBudgetBytes(80 * GIB, true, 7 * GIB)).isEqualTo(2 * GIB);

        EngineConfig fraction = EngineConfig.builder().kvCacheFraction(0.5).build();
        assertThat(fraction.kvBudgetBytes(20 * GIB, true, 0)).isEqualTo(10 * GIB);
        // CPU: the fraction, then at most half the free memory, then at most 4 GiB.
        assertThat(fraction.kvBudgetBytes(6 * GIB, false, 0)).isEqualTo(3 * GIB);
        assertThat(fraction.kvBudgetBytes(20 * GIB, false, 0)).isEqualTo(EngineConfig.CPU_KV_CAP_BYTES);
        assertThat(EngineConfig.DEFAULTS.kvBudgetBytes(6 * GIB, false, 0)).isEqualTo(3 * GIB);
        assertThat(EngineConfig.DEFAULTS.kvBudgetBytes(10 * GIB, true, 0)).isEqualTo(9 * GIB);
    }

    @Test
    void aDerivedKvBudgetLeavesTheActivationHeadroomOfOneStep() {
        EngineConfig fraction = EngineConfig.builder().kvCacheFraction(0.5).build();
        // GPU: half of 20 GiB, less 3 GiB of headroom.
        assertThat(fraction.kvBudgetBytes(20 * GIB, true, 3 * GIB)).isEqualTo(7 * GIB);
        // CPU: 0.5 * 12 GiB - 5 GiB = 1 GiB, below half the free memory and the cap.
        assertThat(fraction.kvBudgetBytes(12 * GIB, false, 5 * GIB)).isEqualTo(GIB);
        // The default fraction on an 80 GiB GPU with the 1B shape's headroom at batch 64 (ActivationHeadroomTest).
        assertThat(EngineConfig.DEFAULTS.kvBudgetBytes(80 * GIB, true, 7_690_256_384L))
                .isEqualTo((long) (80 * GIB * 0.9) - 7_690_256_384L);

        assertThatThrownBy(() -> fraction.kvBudgetBytes(8 * GIB, true, 4 * GIB))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheFraction 0.5 of the 8589934592 bytes free leaves no KV budget after the "
                        + "activation headroom of 4294967296 bytes (one step of maxTokensPerStep 2048 and "
                        + "maxBatchSize auto): lower them, or set kvCacheBytes");
        assertThatThrownBy(() -> fraction.toBuilder().maxBatchSize(64).build().kvBudgetBytes(8 * GIB, true, 4 * GIB))
                .hasMessageContaining("(one step of maxTokensPerStep 2048 and maxBatchSize 64)");
        assertThatThrownBy(() -> fraction.kvBudgetBytes(8 * GIB, true, -1))
                .hasMessage("headroomBytes must be >= 0, got -1");
    }

    @Test
    void everyInvalidSettingIsRefusedByName() {
        assertThatThrownBy(() -> EngineConfig.builder().kvCacheBytes(-1).build())
                .hasMessage("kvCacheBytes must be >= 0, got -1");
        assertThatThrownBy(() -> EngineConfig.builder().kvCacheFraction(1.5).build())
                .hasMessage("kvCacheFraction must be in (0, 1], got 1.5");
        assertThatThrownBy(() -> EngineConfig.builder().kvCacheFraction(0).build())
                .hasMessage("kvCacheFraction must be in (0, 1], got 0.0");
        assertThatThrownBy(() -> EngineConfig.builder().maxBatchSize(-1).build())
                .hasMessage("maxBatchSize must be >= 0, got -1");
        assertThatThrownBy(() -> EngineConfig.builder().maxSequenceLength(-1).build())
                .hasMessage("maxSequenceLength must be >= 0, got -1");
        assertThatThrownBy(() -> EngineConfig.builder().blockSize(0).build())
                .hasMessage("blockSize must be > 0, got 0");
        assertThatThrownBy(() -> EngineConfig.builder().queueCapacity(-3).build())
                .hasMessage("queueCapacity must be > 0, got -3");
        assertThatThrownBy(() -> EngineConfig.builder().threads(-1).build())
                .hasMessage("threads must be >= 0, got -1");
        assertThatThrownBy(() -> EngineConfig.builder().device("tpu").build())
                .hasMessage("unknown device 'tpu': use cpu, gpu or gpu:N (N >= 0)");
        assertThatThrownBy(() -> EngineConfig.builder().modelId(" ").build())
                .hasMessageContaining("modelId must not be blank");
        assertThatThrownBy(() -> EngineConfig.builder().drainTimeout(Duration.ofSeconds(-1)).build())
                .hasMessage("drainTimeout must be >= 0, got PT-1S");
        assertThatThrownBy(() -> EngineConfig.builder().maxImageViewsPerStep(0).build())
                .hasMessage("maxImageViewsPerStep must be > 0, got 0");
        assertThatThrownBy(() -> EngineConfig.builder().preparationThreads(0).build())
                .hasMessage("preparationThreads must be > 0, got 0");
    }

    @Test
    void maxSequenceLengthCapsTheLongestSequenceWithinTheModelsContext() {
        GemmaConfig oneB = ActivationHeadroomTest.released("1b"); // context 32768
        assertThat(EngineConfig.DEFAULTS.longestSequence(oneB)).isEqualTo(32_768);
        EngineConfig capped = EngineConfig.builder().maxSequenceLength(8_192).build();
        assertThat(capped.longestSequence(oneB)).isEqualTo(8_192);
        assertThat(EngineConfig.builder().maxSequenceLength(32_768).build().longestSequence(oneB)).isEqualTo(32_768);
        assertThatThrownBy(() -> EngineConfig.builder().maxSequenceLength(32_769).build().longestSequence(oneB))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxSequenceLength 32769 exceeds the model's context of 32768 tokens "
                        + "(max_position_embeddings of its config.json): lower it, or set 0 for the model's context");
    }

    @Test
    void theKvCacheIsSizedForTheTargetLengthButNoLongerThanTheCap() {
        assertThat(EngineConfig.DEFAULTS.sizingSequenceLength()).isEqualTo(32_768);
        assertThat(EngineConfig.builder().maxSequenceLength(8_192).build().sizingSequenceLength()).isEqualTo(8_192);
        assertThat(EngineConfig.builder().maxSequenceLength(8_192).targetSequenceLength(4_096).build()
                .sizingSequenceLength()).isEqualTo(4_096);
    }

    @Test
    void equalConfigurationsAreEqualKeysAlsoAfterJavaSerialization() throws Exception {
        EngineConfig a = EngineConfig.builder().device("gpu:1").maxBatchSize(128)
                .panAndScan(PanAndScanOptions.DEFAULTS_ENABLED).maxImageViewsPerStep(5).graphOptimization(true).build();
        EngineConfig b = a.toBuilder().build();
        assertThat(b).isEqualTo(a).hasSameHashCodeAs(a);
        assertThat(a.toBuilder().maxBatchSize(64).build()).isNotEqualTo(a);
        assertThat(a.toBuilder().maxImageViewsPerStep(1).build()).isNotEqualTo(a);
        assertThat(a.toBuilder().graphOptimization(false).build()).isNotEqualTo(a);

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(a);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertThat(in.readObject()).isEqualTo(a);
        }
    }

    @Test
    void modelOptionsCarryPrecisionDeviceAndThreads() {
        EngineConfig c = EngineConfig.builder().precision(Precision.FLOAT32).device("gpu:2").threads(3).build();
        assertThat(c.modelOptions().precision()).isEqualTo(Precision.FLOAT32);
        assertThat(c.modelOptions().device().isGpu()).isTrue();
        assertThat(c.modelOptions().device().getDeviceId()).isEqualTo(2);
        assertThat(c.modelOptions().threads()).isEqualTo(3);
    }
}
