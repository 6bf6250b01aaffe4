package dev.gemmaflink.runtime.kvcache;

import static dev.gemmaflink.runtime.kvcache.KvTestSupport.range;
import static dev.gemmaflink.runtime.kvcache.KvTestSupport.seq;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link KvCacheManager#canAllocate} is a query: the binary search of {@code maxAllocatableTokens} relies on it. */
class KvCacheManagerCanAllocateTest {

    private static final int SLIDING = 1;

    @Test
    void canAllocateCountsOutOfWindowBlocksAsFreeWithoutFreeingThem() {
        KvCacheManager kv = KvCacheManager.builder(KvTestSupport.hybrid(4, 10)).numBlocks(40, 11).build();
        Sequence a = seq("a", range(0, 40));
        KvTestSupport.prefill(kv, a); // all 10 usable sliding blocks held; those of tokens < 31 are out of the window
        a.appendToken(40);
        int[] table = kv.blockTable(a, SLIDING);
        List<Integer> freeList = kv.pool(SLIDING).freeListIds();
        KvCacheUsage usage = kv.usage();
        assertThat(kv.pool(SLIDING).numFreeBlocks()).isZero();

        for (int i = 0; i < 5; i++) {
            assertThat(kv.canAllocate(a, 1, CachedPrefix.none())).isTrue();
        }
        assertThat(kv.maxAllocatableTokens(a, 1, CachedPrefix.none())).isEqualTo(1);

        assertThat(kv.blockTable(a, SLIDING)).containsExactly(table);
        assertThat(kv.pool(SLIDING).freeListIds()).isEqualTo(freeList);
        assertThat(kv.usage()).isEqualTo(usage);

        // The allocation itself frees the out-of-window blocks and takes one of them.
        assertThat(kv.allocateSlots(a, 1)).isTrue();
        assertThat(kv.blockTable(a, SLIDING)).startsWith(0, 0, 0, 0, 0, 0, 0);
        assertThat(kv.usage().groups().get(SLIDING).usedBlocks()).isEqualTo(4);
    }
}
