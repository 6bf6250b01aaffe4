package dev.gemmaflink.runtime.kvcache;

import static dev.gemmaflink.runtime.kvcache.KvTestSupport.concat;
import static dev.gemmaflink.runtime.kvcache.KvTestSupport.range;
import static dev.gemmaflink.runtime.kvcache.KvTestSupport.seq;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@link KvCacheManager#discard}: the release for a sequence whose step failed, so its K/V were never written. */
class DiscardTest {

    private static KvCacheManager manager() {
        return KvCacheManager.builder(KvTestSupport.fullOnly(4)).numBlocks(11).build();
    }

    @Test
    void discardedBlocksLeaveThePrefixCache() {
        KvCacheManager kv = manager();
        Sequence a = seq("a", range(0, 10));
        assertThat(kv.allocateSlots(a, 10)).isTrue(); // blocks 1, 2 offered to the cache at allocation
        kv.discard(a);
        assertThat(kv.usage().groups().get(0).usedBlocks()).isZero();
        assertThat(kv.usage().groups().get(0).cachedBlocks()).isZero();
        assertThat(kv.findLongestCachedPrefix(seq("b", range(0, 10))).numTokens()).isZero();
    }

    @Test
    void blocksOthersStillHoldStayCached() {
        KvCacheManager kv = manager();
        Sequence a = seq("a", range(0, 10));
        KvTestSupport.prefill(kv, a); // computed: blocks 1, 2 valid
        Sequence b = seq("b", concat(range(0, 8), 50, 51, 52, 53, 54));
        CachedPrefix hit = kv.findLongestCachedPrefix(b);
        assertThat(hit.numTokens()).isEqualTo(8);
        assertThat(kv.allocateSlots(b, 5, hit)).isTrue(); // b's own block 3 (tokens 8..11) offered to the cache
        kv.discard(b); // b's step failed
        Sequence c = seq("c", concat(range(0, 8), 50, 51, 52, 53, 60));
        assertThat(kv.findLongestCachedPrefix(c).numTokens()).isEqualTo(8); // a's blocks survive, b's block 3 not
        kv.discard(b); // idempotent
        kv.free(a);
        assertThat(kv.usage().groups().get(0).usedBlocks()).isZero();
        assertThat(kv.usage().groups().get(0).cachedBlocks()).isEqualTo(2);
    }
}
