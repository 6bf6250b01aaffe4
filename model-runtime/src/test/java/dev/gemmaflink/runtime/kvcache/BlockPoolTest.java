package dev.gemmaflink.runtime.kvcache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class BlockPoolTest {

    private static BlockHash h(long n) {
        return new BlockHash(n, n);
    }

    @Test
    void blockZeroIsTheNullBlockAndNeverHandedOut() {
        BlockPool pool = new BlockPool(4, true);
        assertThat(pool.nullBlock().id()).isZero();
        assertThat(pool.nullBlock().isNull()).isTrue();
        assertThat(pool.freeListIds()).containsExactly(1, 2, 3);
        assertThat(pool.allocate(3)).extracting(KvBlock::id).containsExactly(1, 2, 3);
        assertThat(pool.numFreeBlocks()).isZero();
        assertThatThrownBy(() -> pool.allocate(1)).hasMessageContaining("cannot allocate 1 KV blocks: 0 free");
    }

    @Test
    void freedBlocksGoToTheTailInTheGivenOrder() {
        BlockPool pool = new BlockPool(6, true);
        List<KvBlock> a = pool.allocate(3); // 1 2 3
        pool.free(List.of(a.get(2), a.get(1), a.get(0)));
        assertThat(pool.freeListIds()).containsExactly(4, 5, 3, 2, 1);
        assertThat(pool.allocate(3)).extracting(KvBlock::id).containsExactly(4, 5, 3);
    }

    @Test
    void allocationEvictsLeastRecentlyFreedCachedBlocksFirst() {
        BlockPool pool = new BlockPool(5, true);
        List<KvBlock> blocks = pool.allocate(4); // 1 2 3 4
        pool.cacheFullBlocks(blocks, List.of(h(1), h(2), h(3), h(4)), 0, 4);
        pool.free(List.of(blocks.get(2))); // 3 freed first: least recently used
        pool.free(List.of(blocks.get(0))); // then 1
        pool.free(List.of(blocks.get(3), blocks.get(1))); // then 4, 2
        assertThat(pool.numCachedFreeBlocks()).isEqualTo(4);

        assertThat(pool.allocate(2)).extracting(KvBlock::id).containsExactly(3, 1);
        assertThat(pool.getCachedBlock(h(3))).isNull();
        assertThat(pool.getCachedBlock(h(1))).isNull();
        assertThat(pool.getCachedBlock(h(4)).id()).isEqualTo(4);
        assertThat(pool.evictions()).isEqualTo(2);
        assertThat(pool.numCachedFreeBlocks()).isEqualTo(2);
    }

    @Test
    void touchTakesAFreeCachedBlockOutOfTheFreeListAndProtectsIt() {
        BlockPool pool = new BlockPool(4, true);
        List<KvBlock> blocks = pool.allocate(2); // 1 2
        pool.cacheFullBlocks(blocks, List.of(h(1), h(2)), 0, 2);
        pool.free(List.of(blocks.get(1), blocks.get(0)));
        assertThat(pool.freeListIds()).containsExactly(3, 2, 1);

        KvBlock hit = pool.getCachedBlock(h(1));
        pool.touch(List.of(hit));
        assertThat(hit.refCount()).isEqualTo(1);
        assertThat(pool.freeListIds()).containsExactly(3, 2);
        assertThat(pool.allocate(2)).extracting(KvBlock::id).containsExactly(3, 2);
        assertThat(pool.getCachedBlock(h(1))).isSameAs(hit);
    }

    @Test
    void sharedBlockReturnsToTheFreeListOnlyWhenTheLastHolderFrees() {
        BlockPool pool = new BlockPool(3, true);
        KvBlock block = pool.allocate(1).get(0);
        pool.cacheFullBlocks(List.of(block), List.of(h(7)), 0, 1);
        pool.touch(List.of(block));
        assertThat(block.refCount()).isEqualTo(2);
        pool.free(List.of(block));
        assertThat(pool.freeListIds()).containsExactly(2);
        pool.free(List.of(block));
        assertThat(pool.freeListIds()).containsExactly(2, 1);
        assertThatThrownBy(() -> pool.free(List.of(block))).hasMessageContaining("ref count would be -1");
    }

    @Test
    void duplicateContentStaysUncachedSoTheMapNeverPointsAtTwoBlocks() {
        BlockPool pool = new BlockPool(4, true);
        List<KvBlock> first = pool.allocate(1);
        List<KvBlock> second = pool.allocate(1);
        pool.cacheFullBlocks(first, List.of(h(9)), 0, 1);
        pool.cacheFullBlocks(second, List.of(h(9)), 0, 1);
        assertThat(first.get(0).hash()).isEqualTo(h(9));
        assertThat(second.get(0).hash()).isNull();
        assertThat(pool.getCachedBlock(h(9))).isSameAs(first.get(0));
    }

    @Test
    void nothingIsCachedWhenCachingIsOff() {
        BlockPool pool = new BlockPool(3, false);
        List<KvBlock> blocks = pool.allocate(1);
        pool.cacheFullBlocks(blocks, List.of(h(1)), 0, 1);
        assertThat(blocks.get(0).hash()).isNull();
        assertThat(pool.getCachedBlock(h(1))).isNull();
    }

    @Test
    void rejectsAPoolWithoutRoomBesidesTheNullBlock() {
        assertThatThrownBy(() -> new BlockPool(1, true)).hasMessageContaining("needs >= 2 blocks");
    }
}
