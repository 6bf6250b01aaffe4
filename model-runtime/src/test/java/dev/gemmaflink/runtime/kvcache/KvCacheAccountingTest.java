package dev.gemmaflink.runtime.kvcache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.config.LayerType;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** KV bytes on the Gemma 3 4B shape: 34 layers (5 global), window 1024, 4 KV heads of 256, bf16, blocks of 16. */
class KvCacheAccountingTest {

    private static final long GIB = 1L << 30;
    private static final KvCacheLayout GEMMA_4B = KvCacheLayout.fromLayerTypes(
            GemmaConfig.layerTypesFromPattern(34, 6), 1024, 4, 256, 2, 16);

    @Test
    void gemma4bShape() {
        assertThat(GEMMA_4B.group(0).type()).isEqualTo(LayerType.FULL_ATTENTION);
        assertThat(GEMMA_4B.group(0).layerIndices()).containsExactly(5, 11, 17, 23, 29);
        assertThat(GEMMA_4B.group(1).numLayers()).isEqualTo(29);
        assertThat(GEMMA_4B.bytesPerTokenPerLayer()).isEqualTo(4096);
        assertThat(GEMMA_4B.allGlobalBytes(1)).isEqualTo(139_264); // the reference's "about 139 KB per token"
        assertThat(GEMMA_4B.bytesPerBlock(0)).isEqualTo(5L * 16 * 4096);
        assertThat(GEMMA_4B.bytesPerBlock(1)).isEqualTo(29L * 16 * 4096);
        assertThat(GEMMA_4B.groupOfLayer(11)).isZero();
        assertThat(GEMMA_4B.groupOfLayer(12)).isEqualTo(1);
    }

    @ParameterizedTest(name = "L={0}")
    @ValueSource(ints = {32_768, 32_761, 5_000})
    void oneLongSequenceHoldsWithinFivePercentOfTheAnalyticMinimum(int length) {
        int chunk = 2048;
        int[] blocks = KvCacheSizing.blocksForBudget(GEMMA_4B, 6 * GIB, 32_768, chunk);
        KvCacheManager kv = KvCacheManager.builder(GEMMA_4B).numBlocks(blocks).build();
        int[] prompt = new int[length - 1];
        Arrays.setAll(prompt, i -> i % 1000);
        Sequence s = KvTestSupport.seq("long", prompt);
        for (int start = 0; start < prompt.length; start += chunk) {
            int n = Math.min(chunk, prompt.length - start);
            assertThat(kv.allocateSlots(s, n)).as("chunk at %d", start).isTrue();
            s.advanceComputed(n);
        }
        assertThat(KvTestSupport.decode(kv, s, 7)).isTrue(); // the step that computes token L - 1

        KvCacheUsage usage = kv.usage();
        assertThat(usage.groups().get(0).usedBlocks()).isEqualTo(GEMMA_4B.blocksHeld(0, length));
        assertThat(usage.groups().get(1).usedBlocks()).isEqualTo(GEMMA_4B.blocksHeld(1, length));
        long held = usage.usedBytes();
        long minimum = GEMMA_4B.analyticMinimumBytes(length);
        long allGlobal = GEMMA_4B.allGlobalBytes(length);
        assertThat(held).isGreaterThanOrEqualTo(minimum).isLessThanOrEqualTo((long) (minimum * 1.05));
        assertThat(held).isLessThan(allGlobal);
        if (length >= 32_000) {
            assertThat((double) held / allGlobal).as("local:global design at 32K").isLessThan(0.18);
        }
        System.out.printf("{\"metric\":\"kv_bytes_one_sequence\",\"shape\":\"gemma3-4b\",\"tokens\":%d,"
                + "\"held\":%d,\"analytic_min\":%d,\"all_global\":%d,\"held_over_min\":%.4f,\"held_over_global\":%.4f}%n",
                length, held, minimum, allGlobal, (double) held / minimum, (double) held / allGlobal);
        kv.free(s);
        assertThat(kv.usage().groups()).allSatisfy(g -> assertThat(g.freeBlocks()).isEqualTo(g.totalBlocks()));
    }

    @Test
    void reference32kFigures() {
        // gemma3-reference.md: 4.56 GB all-global, 0.79 GB with local layers at the window (32K, batch 1).
        assertThat(GEMMA_4B.allGlobalBytes(32_768) / 1e9).isBetween(4.55, 4.57);
        assertThat(GEMMA_4B.analyticMinimumBytes(32_768) / 1e9).isBetween(0.78, 0.80);
    }

    @Test
    void sizingSplitsTheBudgetForTargetLengthSequencesAndStaysWithinIt() {
        long budget = KvCacheSizing.budgetFromFreeMemory(20 * GIB, 0.5);
        assertThat(budget).isEqualTo(10 * GIB);
        int[] blocks = KvCacheSizing.blocksForBudget(GEMMA_4B, budget, 32_768, 2048);
        assertThat(KvCacheSizing.totalBytes(GEMMA_4B, blocks)).isLessThanOrEqualTo(budget)
                .isGreaterThan((long) (budget * 0.99));
        // (10.74 GB - 0.25 GB prefill headroom) / 0.795 GB per 32K sequence (2048 full + 65 sliding blocks) = 13.2
        int sequences = (blocks[0] - 1) / 2048;
        assertThat(sequences).isEqualTo(13);
        assertThat(blocks[1] - 1 - (2048 / 16 + 1)).isGreaterThanOrEqualTo(sequences * 65);
    }

    @Test
    void sizingRejectsBadInput() {
        assertThatThrownBy(() -> KvCacheSizing.blocksForBudget(GEMMA_4B, 100_000_000L, 32_768, 2048))
                .hasMessageContaining("cannot hold one sequence of 32768 tokens");
        assertThatThrownBy(() -> KvCacheSizing.budgetFromFreeMemory(GIB, 1.5)).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> KvCacheLayout.of(16, 4, 256, 2, java.util.List.of(
                new KvGroupSpec(LayerType.FULL_ATTENTION, java.util.List.of(0, 0), 0))))
                .hasMessageContaining("appears twice");
        assertThatThrownBy(() -> new KvGroupSpec(LayerType.SLIDING_ATTENTION, java.util.List.of(0), 0))
                .hasMessageContaining("slidingWindow >= 1");
    }
}
