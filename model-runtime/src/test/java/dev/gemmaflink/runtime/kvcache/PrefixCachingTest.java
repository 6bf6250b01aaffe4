package dev.gemmaflink.runtime.kvcache;

import static dev.gemmaflink.runtime.kvcache.KvTestSupport.concat;
import static dev.gemmaflink.runtime.kvcache.KvTestSupport.decode;
import static dev.gemmaflink.runtime.kvcache.KvTestSupport.prefill;
import static dev.gemmaflink.runtime.kvcache.KvTestSupport.range;
import static dev.gemmaflink.runtime.kvcache.KvTestSupport.seq;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Prefix caching on a full-attention-only cache, block size 4; block ids and eviction order asserted exactly. */
class PrefixCachingTest {

    private static KvCacheManager manager(int numBlocks) {
        return KvCacheManager.builder(KvTestSupport.fullOnly(4)).numBlocks(numBlocks).build();
    }

    @Test
    void prefixHitSharesBlocksAndCountsReferences() {
        KvCacheManager kv = manager(11);
        Sequence a = seq("a", range(0, 10));
        assertThat(prefill(kv, a).numTokens()).isZero();
        assertThat(kv.blockTable(a, 0)).containsExactly(1, 2, 3);

        Sequence b = seq("b", concat(range(0, 8), 100, 101, 102));
        CachedPrefix hit = prefill(kv, b);
        assertThat(hit.numTokens()).isEqualTo(8);
        assertThat(b.numCachedTokens()).isEqualTo(8);
        assertThat(kv.blockTable(b, 0)).containsExactly(1, 2, 4);
        assertThat(kv.pool(0).block(1).refCount()).isEqualTo(2);
        assertThat(kv.pool(0).block(2).refCount()).isEqualTo(2);
        assertThat(kv.pool(0).block(3).refCount()).isEqualTo(1);
        assertThat(kv.usage().groups().get(0).usedBlocks()).isEqualTo(4);

        kv.free(a);
        assertThat(kv.pool(0).block(1).refCount()).isEqualTo(1);
        assertThat(kv.pool(0).freeListIds()).containsExactly(5, 6, 7, 8, 9, 10, 3);
        kv.free(b);
        assertThat(kv.usage().groups().get(0).freeBlocks()).isEqualTo(10);
        assertThat(kv.usage().groups().get(0).cachedBlocks()).isEqualTo(2);
    }

    @Test
    void hitStopsOneTokenShortOfTheWholePrompt() {
        KvCacheManager kv = manager(11);
        prefill(kv, seq("a", range(0, 12)));
        // Identical 8-token prompt: both blocks cached, but the last token must be computed, so only block 0 hits.
        Sequence same = seq("b", range(0, 8));
        assertThat(kv.findLongestCachedPrefix(same).numTokens()).isEqualTo(4);
        Sequence longer = seq("c", range(0, 9));
        assertThat(kv.findLongestCachedPrefix(longer).numTokens()).isEqualTo(8);
    }

    @Test
    void freeReleasesTailFirstSoTheTailIsEvictedBeforeThePrefix() {
        KvCacheManager kv = manager(7);
        Sequence a = seq("a", range(0, 13)); // blocks 1 2 3 full, 4 partial
        prefill(kv, a);
        assertThat(kv.blockTable(a, 0)).containsExactly(1, 2, 3, 4);
        kv.free(a);
        assertThat(kv.pool(0).freeListIds()).containsExactly(5, 6, 4, 3, 2, 1);

        Sequence other = seq("x", range(500, 516)); // needs 4 blocks: 5 6, then 4 and cached 3
        prefill(kv, other);
        assertThat(kv.blockTable(other, 0)).containsExactly(5, 6, 4, 3);
        kv.free(other);

        Sequence again = seq("a2", range(0, 13));
        assertThat(kv.findLongestCachedPrefix(again).numTokens()).isEqualTo(8);
    }

    @Test
    void leastRecentlyFreedCachedBlocksAreEvictedFirst() {
        KvCacheManager kv = manager(7);
        Sequence a = seq("a", range(0, 9));
        Sequence b = seq("b", range(100, 109));
        prefill(kv, a); // 1 2 3
        prefill(kv, b); // 4 5 6
        kv.free(a);
        kv.free(b);
        assertThat(kv.pool(0).freeListIds()).containsExactly(3, 2, 1, 6, 5, 4);

        Sequence c = seq("c", range(200, 212)); // 3 blocks: evicts a's blocks only
        prefill(kv, c);
        assertThat(kv.blockTable(c, 0)).containsExactly(3, 2, 1);
        assertThat(kv.usage().groups().get(0).evictions()).isEqualTo(2); // 3 was partial, never cached

        assertThat(kv.findLongestCachedPrefix(seq("a2", range(0, 9))).numTokens()).isZero();
        assertThat(kv.findLongestCachedPrefix(seq("b2", range(100, 109))).numTokens()).isEqualTo(8);
    }

    @Test
    void hitOnAFreeCachedBlockCountsAgainstTheFreeBlocks() {
        KvCacheManager kv = manager(4); // 3 usable
        Sequence a = seq("a", range(0, 9));
        prefill(kv, a); // 1 2 3
        kv.free(a);
        Sequence b = seq("b", concat(range(0, 8), 7, 7, 7, 7, 7)); // hit 1 2, needs 2 more: only 1 left
        CachedPrefix hit = kv.findLongestCachedPrefix(b);
        assertThat(hit.numTokens()).isEqualTo(8);
        assertThat(kv.allocateSlots(b, 5, hit)).isFalse();
        assertThat(b.numComputedTokens()).isZero();
        assertThat(kv.pool(0).block(1).refCount()).isZero();
        assertThat(kv.allocateSlots(b, 4, hit)).isTrue();
        assertThat(kv.blockTable(b, 0)).containsExactly(1, 2, 3);
    }

    @Test
    void aReplyFilledDuringDecodeIsCachedForTheNextTurnOfTheSession() {
        KvCacheManager kv = manager(20);
        Sequence turn1 = seq("turn1", range(0, 6));
        prefill(kv, turn1);
        for (int t = 6; t < 12; t++) {
            assertThat(decode(kv, turn1, t)).isTrue(); // computes tokens 6..11
        }
        turn1.appendToken(12); // sampled, never computed: the sequence stops here
        int[] turn1Blocks = kv.blockTable(turn1, 0);
        kv.free(turn1);

        Sequence turn2 = seq("turn2", concat(turn1.tokens(0, 13), 50, 51));
        CachedPrefix hit = prefill(kv, turn2);
        assertThat(hit.numTokens()).isEqualTo(12);
        assertThat(kv.blockTable(turn2, 0)).startsWith(turn1Blocks[0], turn1Blocks[1], turn1Blocks[2]);
        assertThat(kv.usage().prefixHitTokens()).isEqualTo(12);
        assertThat(kv.usage().prefixQueryTokens()).isEqualTo(6 + 15);
    }

    @Test
    void tenantsShareBlocksOnlyWithTheSameSalt() {
        KvCacheManager kv = manager(20);
        prefill(kv, seq("a", range(0, 9), "tenant-a"));
        assertThat(kv.findLongestCachedPrefix(seq("b", range(0, 9), "tenant-b")).numTokens()).isZero();
        assertThat(kv.findLongestCachedPrefix(seq("c", range(0, 9), null)).numTokens()).isZero();
        assertThat(kv.findLongestCachedPrefix(seq("d", range(0, 9), "tenant-a")).numTokens()).isEqualTo(8);
    }

    @Test
    void differentImagesWithTheSameTokensDoNotShare() {
        KvCacheManager kv = manager(20);
        int[] tokens = concat(range(0, 2), 9, 9, 9, 9, 9, 9, 30, 31, 32); // image soft tokens at 2..7
        Sequence a = new Sequence("a", tokens,
                CacheKeys.of("m", null, java.util.List.of(new ImageSpan(2, 6, "img-1"))));
        prefill(kv, a);
        Sequence other = new Sequence("b", tokens,
                CacheKeys.of("m", null, java.util.List.of(new ImageSpan(2, 6, "img-2"))));
        assertThat(kv.findLongestCachedPrefix(other).numTokens()).isZero();
        Sequence same = new Sequence("c", tokens,
                CacheKeys.of("m", null, java.util.List.of(new ImageSpan(2, 6, "img-1"))));
        assertThat(kv.findLongestCachedPrefix(same).numTokens()).isEqualTo(8);
    }

    @Test
    void aStaleLookupIsRefusedInsteadOfServingEvictedBlocks() {
        KvCacheManager kv = manager(4); // 3 usable
        Sequence a = seq("a", range(0, 9));
        prefill(kv, a); // 1 2 3
        kv.free(a); // free list 3 2 1, blocks 1 and 2 cached
        Sequence b = seq("b", range(0, 9));
        CachedPrefix hit = kv.findLongestCachedPrefix(b);
        assertThat(hit.numTokens()).isEqualTo(8);
        prefill(kv, seq("x", range(100, 110))); // takes 3 2 1: evicts the hit
        assertThatThrownBy(() -> kv.allocateSlots(b, 1, hit)).hasMessageContaining("stale prefix hit");
    }

    @Test
    void noHitsWhenPrefixCachingIsOff() {
        KvCacheManager kv = KvCacheManager.builder(KvTestSupport.fullOnly(4)).numBlocks(11).prefixCaching(false)
                .build();
        prefill(kv, seq("a", range(0, 9)));
        Sequence b = seq("b", range(0, 9));
        assertThat(kv.findLongestCachedPrefix(b).numTokens()).isZero();
        prefill(kv, b);
        assertThat(kv.blockTable(b, 0)).containsExactly(4, 5, 6);
    }

    @Test
    void refusesToComputeUnknownTokensOrAHitAfterAdmission() {
        KvCacheManager kv = manager(11);
        Sequence a = seq("a", range(0, 5));
        assertThatThrownBy(() -> kv.allocateSlots(a, 6)).hasMessageContaining("only 5 tokens are known");
        prefill(kv, seq("x", range(0, 9)));
        Sequence b = seq("b", range(0, 9));
        CachedPrefix hit = kv.findLongestCachedPrefix(b);
        kv.allocateSlots(b, 1, hit);
        assertThatThrownBy(() -> kv.allocateSlots(b, 0, hit)).hasMessageContaining("admission only");
    }
}
