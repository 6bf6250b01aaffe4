package dev.gemmaflink.runtime.kvcache;

import static dev.gemmaflink.runtime.kvcache.KvTestSupport.concat;
import static dev.gemmaflink.runtime.kvcache.KvTestSupport.range;
import static dev.gemmaflink.runtime.kvcache.KvTestSupport.seq;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.config.GemmaConfig;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Hybrid cache: group 0 full attention, group 1 sliding window. */
class SlidingWindowTest {

    private static final int FULL = 0;
    private static final int SLIDING = 1;

    @ParameterizedTest(name = "bs={0} W={1}")
    @CsvSource({"4, 10", "4, 8", "16, 1024", "1, 3", "5, 2"})
    void aSequenceNeverHoldsMoreThanOneWindowPlusOneBlockOfSlidingBlocks(int bs, int window) {
        KvCacheLayout layout = KvTestSupport.hybrid(bs, window);
        KvCacheManager kv = KvCacheManager.builder(layout).numBlocks(5 * window / bs + 3, window / bs + 3).build();
        int bound = (window + bs - 1) / bs + 1;
        Sequence s = seq("s", new int[] {1});
        for (int length = 1; length <= 5 * window; length++) {
            if (length > 1) {
                s.appendToken(length);
            }
            assertThat(kv.allocateSlots(s, 1)).as("L=%d", length).isTrue();
            KvCacheUsage usage = kv.usage();
            int sliding = usage.groups().get(SLIDING).usedBlocks();
            assertThat(sliding).as("sliding blocks at L=%d", length).isEqualTo(layout.blocksHeld(SLIDING, length))
                    .isLessThanOrEqualTo(bound);
            assertThat(usage.groups().get(FULL).usedBlocks()).isEqualTo((length + bs - 1) / bs);
            int[] table = kv.blockTable(s, SLIDING);
            int skipped = Math.max(0, length - window) / bs;
            assertThat(KvTestSupport.ids(Arrays.copyOf(table, skipped))).as("skipped entries are the null block")
                    .allMatch(id -> id == KvCacheManager.nullBlockId());
            assertThat(Arrays.copyOfRange(table, skipped, table.length)).doesNotContain(0);
            s.advanceComputed(1);
        }
        kv.free(s);
        assertThat(kv.usage().groups()).allSatisfy(g -> assertThat(g.usedBlocks()).isZero());
    }

    @Test
    void chunkedPrefillHoldsTheChunkOnTopOfTheWindow() {
        KvCacheLayout layout = KvTestSupport.hybrid(4, 10);
        KvCacheManager kv = KvCacheManager.builder(layout).numBlocks(40, 12).build();
        Sequence s = seq("s", range(0, 100));
        for (int start = 0; start < 100; start += 20) {
            assertThat(kv.allocateSlots(s, 20)).isTrue();
            // keys from start - W + 1 onwards are read by this chunk: blocks floor((start - 9) / 4) .. (start + 19) / 4
            int expected = (start + 20) / 4 - Math.max(0, start - 9) / 4;
            assertThat(kv.usage().groups().get(SLIDING).usedBlocks()).as("chunk at %d", start).isEqualTo(expected);
            s.advanceComputed(20);
        }
        kv.removeSkippedBlocks(s);
        assertThat(kv.usage().groups().get(SLIDING).usedBlocks()).isEqualTo(3); // tokens 91..99
        int[] table = kv.blockTable(s, SLIDING);
        assertThat(table).hasSize(25);
        assertThat(KvTestSupport.ids(Arrays.copyOf(table, 22))).allMatch(id -> id == 0);
        assertThat(Arrays.copyOfRange(table, 22, 25)).doesNotContain(0).doesNotHaveDuplicates();
    }

    @Test
    void slidingHitNeedsOnlyTheLastWindowOfThePrefix() {
        KvCacheManager kv = KvCacheManager.builder(KvTestSupport.hybrid(4, 10)).numBlocks(40, 11).build();
        Sequence a = seq("a", range(0, 40));
        KvTestSupport.prefill(kv, a); // sliding blocks 1..10, full blocks 1..10
        kv.removeSkippedBlocks(a); // tokens < 31 are dead: sliding blocks of indices 0..6 freed, newest first
        assertThat(kv.blockTable(a, SLIDING)).containsExactly(0, 0, 0, 0, 0, 0, 0, 8, 9, 10);
        assertThat(kv.pool(SLIDING).freeListIds()).containsExactly(7, 6, 5, 4, 3, 2, 1);

        Sequence x = seq("x", range(1000, 1008)); // takes sliding 7 and 6: evicts a's blocks 6 and 5 (indices)
        KvTestSupport.prefill(kv, x);
        assertThat(kv.blockTable(x, SLIDING)).containsExactly(7, 6);
        kv.free(a);

        // 41 tokens: the hit may cover 40; the full group has all 10 blocks, the sliding group needs only the last
        // ceil((W - 1) / bs) = 3 blocks (8, 9, 10) although blocks of indices 5 and 6 were evicted.
        Sequence c = seq("c", concat(range(0, 40), 7));
        CachedPrefix hit = KvTestSupport.prefill(kv, c);
        assertThat(hit.numTokens()).isEqualTo(40);
        assertThat(kv.blockTable(c, SLIDING)).containsExactly(0, 0, 0, 0, 0, 0, 0, 8, 9, 10, 5);
        assertThat(kv.blockTable(c, FULL)).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13);
        kv.free(c);

        // Diverges inside block 7: the full group hits 7 blocks (28 tokens). The sliding group's window before token 28
        // needs indices 4..6: 5 and 6 went to x and 4 (id 5) to c's new block, so the longest hit with a cached window
        // ends after index 3 (window indices 1..3 = ids 2, 3, 4): 16 tokens, and the full hit is cut to match.
        Sequence d = seq("d", concat(range(0, 30), 77, 78, 79));
        CachedPrefix shorter = kv.findLongestCachedPrefix(d);
        assertThat(shorter.numTokens()).isEqualTo(16);
        assertThat(kv.allocateSlots(d, d.numTokens() - 16, shorter)).isTrue();
        assertThat(Arrays.copyOf(kv.blockTable(d, SLIDING), 4)).containsExactly(0, 2, 3, 4);
        assertThat(Arrays.copyOf(kv.blockTable(d, FULL), 4)).containsExactly(1, 2, 3, 4);
        assertThat(d.numCachedTokens()).isEqualTo(16);
    }

    @Test
    void shortPrefixHitsWithoutAFullWindow() {
        KvCacheManager kv = KvCacheManager.builder(KvTestSupport.hybrid(4, 16)).numBlocks(20, 20).build();
        KvTestSupport.prefill(kv, seq("a", range(0, 9)));
        Sequence b = seq("b", concat(range(0, 8), 99));
        assertThat(kv.findLongestCachedPrefix(b).numTokens()).isEqualTo(8); // from position 0: no window needed
    }

    @Test
    void blocksHeldFormulaForGemmaShapes() {
        KvCacheLayout layout = KvCacheLayout.fromLayerTypes(GemmaConfig.layerTypesFromPattern(34, 6), 1024, 4, 256, 2,
                16);
        assertThat(layout.group(0).layerIndices()).containsExactly(5, 11, 17, 23, 29);
        assertThat(layout.group(1).numLayers()).isEqualTo(29);
        assertThat(layout.blocksHeld(32_768)).containsExactly(2048, 64);
        assertThat(layout.blocksHeld(1_030)).containsExactly(65, 65); // 1030 tokens, window 1024 -> blocks 0..64
        assertThat(layout.blocksHeld(1_040)).containsExactly(65, 64);
        assertThat(layout.blocksHeld(5)).containsExactly(1, 1);
    }

    @Test
    void rejectsASlidingPoolSmallerThanOneWindow() {
        assertThatThrownBy(() -> KvCacheManager.builder(KvTestSupport.hybrid(4, 10)).numBlocks(10, 4).build())
                .hasMessageContaining("group 1 (SLIDING_ATTENTION) needs >= 5 blocks");
    }
}
