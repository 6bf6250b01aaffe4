package dev.gemmaflink.runtime.engine;

import static dev.gemmaflink.runtime.engine.ActivationHeadroomTest.released;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.kvcache.KvCacheLayout;
import org.junit.jupiter.api.Test;

/** The engine's KV budget: the headroom comes off a derived budget, at the longest context a sequence can reach. */
class KvBudgetTest {

    private static final long GIB = 1L << 30;
    private static final long MIB = 1L << 20;
    private static final GemmaConfig ONE_B = released("1b");
    /** bf16, blocks of 16: a full-attention block holds 4 layers x K,V x 16 x 256 x 2 bytes = 65,536 bytes. */
    private static final KvCacheLayout LAYOUT = KvCacheLayout.fromConfig(ONE_B, 2, 16);

    @Test
    void aDerivedGpuBudgetIsTheFractionLessTheHeadroomAtTheModelsWholeContext() {
        KvBudget b = KvBudget.of(EngineConfig.DEFAULTS, ONE_B, LAYOUT, 80 * GIB, true);
        // 72 GiB before headroom hold far more than 32768 tokens: the model's context is the limit.
        assertThat(b.longestContext()).isEqualTo(32768);
        assertThat(b.headroom()).isEqualTo(ActivationHeadroom.of(ONE_B, 2, 2048, 64, 32768));
        assertThat(b.bytes()).isEqualTo((long) (80 * GIB * 0.9) - 7_690_256_384L);
    }

    @Test
    void aSmallCacheBoundsTheContextTheHeadroomIsFor() {
        // 64 MiB for sequences of 1024 tokens, 256 per step: 240 usable full-attention blocks of 16 tokens.
        EngineConfig config = EngineConfig.builder().kvCacheBytes(64 * MIB).targetSequenceLength(1024)
                .maxTokensPerStep(256).maxBatchSize(8).build();
        KvBudget b = KvBudget.of(config, ONE_B, LAYOUT, 4 * GIB, false);
        assertThat(b.longestContext()).isEqualTo(240 * 16);
        assertThat(b.headroom()).isEqualTo(ActivationHeadroom.of(ONE_B, 2, 256, 8, 3840));
        assertThat(b.bytes()).as("an absolute budget is kept as it is").isEqualTo(64 * MIB);
    }

    @Test
    void anAbsoluteGpuBudgetMustLeaveTheHeadroomFree() {
        EngineConfig config = EngineConfig.builder().kvCacheBytes(64 * MIB).targetSequenceLength(1024)
                .maxTokensPerStep(256).maxBatchSize(8).build();
        long headroom = ActivationHeadroom.of(ONE_B, 2, 256, 8, 3840).totalBytes();
        assertThat(KvBudget.of(config, ONE_B, LAYOUT, 64 * MIB + headroom, true).bytes()).isEqualTo(64 * MIB);
        assertThatThrownBy(() -> KvBudget.of(config, ONE_B, LAYOUT, 64 * MIB + headroom - 1, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheBytes 67108864 plus the activation headroom of " + headroom + " bytes "
                        + "(maxTokensPerStep 256, maxBatchSize 8, context 3840) exceed the " + (64 * MIB + headroom - 1)
                        + " bytes free on the GPU: lower kvCacheBytes or the step limits");
    }

    @Test
    void aHeadroomLargerThanTheDerivedBudgetFailsNamingTheContext() {
        // 0.9 * 6 GiB is less than the 1B headroom at batch 64 and 32768 tokens.
        assertThatThrownBy(() -> KvBudget.of(EngineConfig.DEFAULTS, ONE_B, LAYOUT, 6 * GIB, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheFraction 0.9 of the 6442450944 bytes free leaves no KV budget after the activation "
                        + "headroom of 7690256384 bytes (one step of maxTokensPerStep 2048 and maxBatchSize 64): lower "
                        + "them, or set kvCacheBytes; the headroom is for sequences of up to 32768 tokens, the longest "
                        + "this model and memory allow");
        // A smaller batch fits: 64 sequences' gathered K/V were most of it.
        EngineConfig small = EngineConfig.builder().maxBatchSize(8).build();
        KvBudget b = KvBudget.of(small, ONE_B, LAYOUT, 6 * GIB, true);
        assertThat(b.bytes()).isEqualTo((long) (6 * GIB * 0.9)
                - ActivationHeadroom.of(ONE_B, 2, 2048, 8, 32768).totalBytes());
    }
}
