package dev.gemmaflink.runtime.engine;

import static dev.gemmaflink.runtime.engine.ActivationHeadroomTest.released;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.kvcache.KvCacheLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The engine's KV budget: the headroom comes off a derived budget, at the longest context a sequence can reach. */
class KvBudgetTest {

    private static final long GIB = 1L << 30;
    private static final long MIB = 1L << 20;
    private static final GemmaConfig ONE_B = released("1b");
    /** bf16, blocks of 16: a full-attention block holds 4 layers x K,V x 16 x 256 x 2 bytes = 65,536 bytes. */
    private static final KvCacheLayout LAYOUT = KvCacheLayout.fromConfig(ONE_B, 2, 16);

    @Test
    void aDerivedGpuBudgetIsTheFractionLessTheHeadroomAtTheModelsWholeContext() {
        KvBudget b = KvBudget.of(EngineConfig.builder().maxBatchSize(64).build(), ONE_B, LAYOUT, 80 * GIB, true);
        // 72 GiB before headroom hold far more than 32768 tokens: the model's context is the limit.
        assertThat(b.longestContext()).isEqualTo(32768);
        assertThat(b.headroom()).isEqualTo(ActivationHeadroom.of(ONE_B, 2, 2048, 64, 32768));
        assertThat(b.bytes()).isEqualTo((long) (80 * GIB * 0.9) - 7_690_256_384L);
        assertThat(b.maxBatchSize()).isEqualTo(64);
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
                        + " bytes free on the GPU: lower kvCacheBytes or the step limits, or set maxSequenceLength to "
                        + "shorten the context");
    }

    @Test
    void aHeadroomLargerThanTheDerivedBudgetFailsNamingTheContext() {
        // 0.9 * 6 GiB is less than the 1B headroom at batch 64 and 32768 tokens.
        EngineConfig batch64 = EngineConfig.builder().maxBatchSize(64).build();
        assertThatThrownBy(() -> KvBudget.of(batch64, ONE_B, LAYOUT, 6 * GIB, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheFraction 0.9 of the 6442450944 bytes free leaves no KV budget after the activation "
                        + "headroom of 7690256384 bytes (one step of maxTokensPerStep 2048 and maxBatchSize 64): lower "
                        + "them, or set kvCacheBytes; the headroom is for sequences of up to 32768 tokens, the longest "
                        + "this model and memory allow (maxSequenceLength shortens it)");
        // A smaller batch fits: 64 sequences' gathered K/V were most of it.
        EngineConfig small = EngineConfig.builder().maxBatchSize(8).build();
        KvBudget b = KvBudget.of(small, ONE_B, LAYOUT, 6 * GIB, true);
        assertThat(b.bytes()).isEqualTo((long) (6 * GIB * 0.9)
                - ActivationHeadroom.of(ONE_B, 2, 2048, 8, 32768).totalBytes());
    }

    // --- maxSequenceLength: the longest context the headroom is for ---

    /** 4B: 8 query heads, 4 kv heads of 256, context 131072; bf16 blocks of 16. */
    private static final GemmaConfig FOUR_B = released("4b");
    private static final KvCacheLayout FOUR_B_LAYOUT = KvCacheLayout.fromConfig(FOUR_B, 2, 16);
    private static final long GB = 1_000_000_000L;

    @Test
    void fourBillionAtBatch64RefusesItsWholeContextOn80GbButStartsCappedAt32k() {
        // Every one of 64 rows padded to 131072 tokens: 105.5 GB of headroom, more than 0.9 * 80 GB.
        EngineConfig batch64 = EngineConfig.builder().maxBatchSize(64).build();
        assertThatThrownBy(() -> KvBudget.of(batch64, FOUR_B, FOUR_B_LAYOUT, 80 * GB, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("kvCacheFraction 0.9 of the 80000000000 bytes free leaves no KV budget after the activation "
                        + "headroom of 105478356992 bytes (one step of maxTokensPerStep 2048 and maxBatchSize 64): "
                        + "lower them, or set kvCacheBytes; the headroom is for sequences of up to 131072 tokens, the "
                        + "longest this model and memory allow (maxSequenceLength shortens it)");

        // Capped at 32768 tokens the same batch needs the 26.6 GB of ActivationHeadroomTest and leaves 45.4 GB.
        KvBudget capped = KvBudget.of(batch64.toBuilder().maxSequenceLength(32_768).build(), FOUR_B, FOUR_B_LAYOUT,
                80 * GB, true);
        assertThat(capped.longestContext()).isEqualTo(32_768);
        assertThat(capped.headroom()).isEqualTo(ActivationHeadroom.of(FOUR_B, 2, 2048, 64, 32_768));
        assertThat(capped.headroom().totalBytes()).isEqualTo(26_558_332_928L);
        assertThat(capped.bytes()).isEqualTo(72 * GB - 26_558_332_928L);
        assertThat(capped.maxBatchSize()).isEqualTo(64);
    }

    @Test
    void aCapBelowTheKvCapacityIsTheLongestContextAndBoundsTheSizingLength() {
        EngineConfig config = EngineConfig.builder().maxBatchSize(8).maxSequenceLength(4_096).build();
        KvBudget b = KvBudget.of(config, ONE_B, LAYOUT, 80 * GIB, true);
        assertThat(b.longestContext()).isEqualTo(4_096);
        assertThat(b.headroom()).isEqualTo(ActivationHeadroom.of(ONE_B, 2, 2048, 8, 4_096));
        // The cache is sized for 4096-token sequences (the target of 32768 could never run), so a budget that holds
        // one 4096-token sequence but not one of 32768 still starts.
        EngineConfig small = config.toBuilder().kvCacheBytes(64 * MIB).build();
        assertThat(KvBudget.of(small, ONE_B, LAYOUT, 4 * GIB, false).longestContext()).isEqualTo(4_096);
    }

    @Test
    void aCapBeyondTheModelsContextIsRefusedNamingBoth() {
        EngineConfig config = EngineConfig.builder().maxSequenceLength(65_536).build();
        assertThatThrownBy(() -> KvBudget.of(config, ONE_B, LAYOUT, 80 * GIB, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxSequenceLength 65536 exceeds the model's context of 32768 tokens "
                        + "(max_position_embeddings of its config.json): lower it, or set 0 for the model's context");
    }

    // --- the automatic batch size ---

    /**
     * Free memory after loading the bf16 weights: an H100 80 GB (NVML total 79.6 GiB) and an H200 141 GB (140.4 GiB),
     * less the weights (1B 1.9 GiB, 4B 8.0 GiB with its vision tower, 27B 51.1 GiB) and about 0.6 GiB of CUDA context,
     * rounded down. Engine defaults otherwise: fraction 0.9, 2048 tokens per step, target length 32768.
     */
    @ParameterizedTest(name = "{0} with {1} GiB free, maxSequenceLength {2}: batch {3}")
    @CsvSource({
        // size, free GiB, maxSequenceLength (0: the model's context), batch
        "1b, 77, 0, 256", "1b, 138, 0, 256", "1b, 77, 8192, 256",
        "4b, 71, 0, 16", "4b, 71, 32768, 64", "4b, 71, 8192, 256",
        "4b, 131, 0, 32", "4b, 131, 32768, 128", "4b, 131, 8192, 256",
        "27b, 28, 0, 2", "27b, 28, 32768, 8", "27b, 28, 8192, 64",
        "27b, 88, 0, 8", "27b, 88, 32768, 32", "27b, 88, 8192, 128"})
    void onAGpuTheBatchIsTheLargestPowerOfTwoUpTo256WhoseHeadroomLeavesAsMuchCache(String size, long freeGib,
            int maxSequenceLength, int expected) {
        GemmaConfig model = released(size);
        KvCacheLayout layout = KvCacheLayout.fromConfig(model, 2, 16);
        EngineConfig config = EngineConfig.builder().maxSequenceLength(maxSequenceLength).build();
        KvBudget b = KvBudget.of(config, model, layout, freeGib * GIB, true);
        assertThat(b.maxBatchSize()).isEqualTo(expected);
        // The rule: the cache left is at least the headroom; at twice the batch (below 256) it would not be.
        assertThat(b.bytes()).isGreaterThanOrEqualTo(b.headroom().totalBytes());
        assertThat(b.headroom()).isEqualTo(ActivationHeadroom.of(model, 2, 2048, expected, b.longestContext()));
        if (expected < EngineConfig.GPU_MAX_BATCH) {
            assertThat(KvBudget.fits(config, model, layout, freeGib * GIB, b.longestContext(), 2 * expected))
                    .isFalse();
        }
    }

    @Test
    void theRuleIsCacheAtLeastHeadroomAndOneTargetSequence() {
        // 4B capped at 32768 on 71 GiB: the engine's share is 63.9 GiB. Batch 64 reserves 26.6 GB and leaves
        // 42.1 GB; batch 128 would reserve 52.3 GB and leave 16.3 GB, less than its headroom.
        EngineConfig config = EngineConfig.builder().maxSequenceLength(32_768).build();
        long free = 71 * GIB;
        long share = (long) (free * 0.9);
        long at64 = ActivationHeadroom.of(FOUR_B, 2, 2048, 64, 32_768).totalBytes();
        long at128 = ActivationHeadroom.of(FOUR_B, 2, 2048, 128, 32_768).totalBytes();
        assertThat(share - at64).isGreaterThanOrEqualTo(at64);
        assertThat(share - at128).isLessThan(at128);
        assertThat(KvBudget.fits(config, FOUR_B, FOUR_B_LAYOUT, free, 32_768, 64)).isTrue();
        assertThat(KvBudget.fits(config, FOUR_B, FOUR_B_LAYOUT, free, 32_768, 128)).isFalse();

        // A budget left that cannot hold one 32768-token sequence does not fit, even when it exceeds the headroom:
        // 1B with 160 MiB free at a 1024-token context, 16 tokens per step (headroom of batch 1 about 0.3 MiB).
        EngineConfig tiny = EngineConfig.builder().maxTokensPerStep(16).maxSequenceLength(1_024)
                .targetSequenceLength(1_024).build();
        assertThat(KvBudget.fits(tiny, ONE_B, LAYOUT, 160 * MIB, 1_024, 1)).isTrue();
        assertThat(KvBudget.fits(tiny.toBuilder().maxSequenceLength(0).targetSequenceLength(32_768).build(), ONE_B,
                LAYOUT, 160 * MIB, 1_024, 1)).as("1B needs 2.1 GiB for one 32768-token sequence").isFalse();

        // An absolute budget must leave the headroom free, and be at least as large.
        EngineConfig absolute = EngineConfig.builder().kvCacheBytes(20 * GIB).build();
        long at256 = ActivationHeadroom.of(ONE_B, 2, 2048, 256, 32_768).totalBytes(); // 25.2 GiB
        assertThat(KvBudget.fits(absolute, ONE_B, LAYOUT, 80 * GIB, 32_768, 256)).as("20 GiB < 25.2 GiB").isFalse();
        assertThat(KvBudget.fits(absolute.toBuilder().kvCacheBytes(30 * GIB).build(), ONE_B, LAYOUT,
                30 * GIB + at256, 32_768, 256)).isTrue();
        assertThat(KvBudget.fits(absolute.toBuilder().kvCacheBytes(30 * GIB).build(), ONE_B, LAYOUT,
                30 * GIB + at256 - 1, 32_768, 256)).isFalse();
        assertThat(KvBudget.of(absolute, ONE_B, LAYOUT, 80 * GIB, true).maxBatchSize()).isEqualTo(128);
    }

    @Test
    void whenNoBatchFitsItIsOneAndTheUsualCheckDecides() {
        // 27B with 12 GiB free (a longest context of 112192 tokens, what 10.8 GiB of cache could hold): batch 2
        // would reserve 7.8 GB of the 11.6 GB share; batch 1 reserves 5.0 GB and starts with the 6.6 GB left.
        GemmaConfig model = released("27b");
        KvCacheLayout layout = KvCacheLayout.fromConfig(model, 2, 16);
        KvBudget one = KvBudget.of(EngineConfig.DEFAULTS, model, layout, 12 * GIB, true);
        assertThat(one.maxBatchSize()).isEqualTo(1);
        assertThat(one.longestContext()).isEqualTo(112_192);
        assertThat(one.bytes()).isEqualTo((long) (12 * GIB * 0.9) - one.headroom().totalBytes());
        // With 2 GiB nothing is left after it: the budget's message names the automatic batch.
        assertThatThrownBy(() -> KvBudget.of(EngineConfig.DEFAULTS, model, layout, 2 * GIB, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxBatchSize auto")
                .hasMessageEndingWith("(maxSequenceLength shortens it), at the automatic batch size 1");
    }

    @Test
    void onACpuTheAutomaticBatchIs64AndAnExplicitOneIsKept() {
        EngineConfig cpu = EngineConfig.builder().maxSequenceLength(32_768).build();
        assertThat(KvBudget.of(cpu, FOUR_B, FOUR_B_LAYOUT, 512 * GIB, false).maxBatchSize()).isEqualTo(64);
        assertThat(KvBudget.of(cpu.toBuilder().maxBatchSize(8).build(), FOUR_B, FOUR_B_LAYOUT, 512 * GIB, false)
                .maxBatchSize()).isEqualTo(8);
        // An explicit GPU batch is used as it is, and fails when it does not fit instead of being lowered.
        assertThat(KvBudget.of(cpu.toBuilder().maxBatchSize(8).build(), FOUR_B, FOUR_B_LAYOUT, 71 * GIB, true)
                .maxBatchSize()).isEqualTo(8);
        assertThatThrownBy(() -> KvBudget.of(EngineConfig.builder().maxBatchSize(256).build(), FOUR_B,
                FOUR_B_LAYOUT, 71 * GIB, true))
                .hasMessageContaining("maxBatchSize 256").hasMessageNotContaining("automatic");
    }
}
