package dev.gemmaflink.runtime.kvcache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ChunkSlotsTest {

    @Test
    void fullAttentionContextIsEveryPositionUpToTheChunkEnd() {
        ChunkSlots slots = ChunkSlots.of(new int[] {7, 3}, 4, 0, 5, 2); // positions 5, 6 in block 3
        assertThat(slots.writeSlots()).containsExactly(13, 14);
        assertThat(slots.contextSlots()).containsExactly(28, 29, 30, 31, 12, 13, 14);
        assertThat(slots.contextPositions()).containsExactly(0, 1, 2, 3, 4, 5, 6);
    }

    @Test
    void slidingContextStartsWhereTheFirstNewQueryCanSee() {
        // W = 3: the query at 9 sees 7, 8, 9; block 0 (positions 0..3) was freed and is the null block.
        ChunkSlots slots = ChunkSlots.of(new int[] {0, 5, 2}, 4, 3, 9, 2);
        assertThat(slots.contextPositions()).containsExactly(7, 8, 9, 10);
        assertThat(slots.contextSlots()).containsExactly(23, 8, 9, 10);
        assertThat(slots.writeSlots()).containsExactly(9, 10);
    }

    @Test
    void blockTableFormHoldsOnlyTheBlocksAndEqualsItsExpansion() {
        // W = 6 over blocks of 4: positions 5..13 of a chunk at 10..13 live in blocks 1, 2, 3 of the table.
        ChunkSlots paged = ChunkSlots.of(new int[] {0, 9, 4, 7}, 4, 6, 10, 4);
        assertThat(paged.isPaged()).isTrue();
        assertThat(paged.blockSize()).isEqualTo(4);
        assertThat(paged.firstContextPosition()).isEqualTo(5);
        assertThat(paged.blockCount()).isEqualTo(3);
        assertThat(paged.block(0)).isEqualTo(9);
        assertThat(paged.contextLength()).isEqualTo(9);
        assertThat(paged.contextSlots()).containsExactly(37, 38, 39, 16, 17, 18, 19, 28, 29);
        assertThat(paged.maxSlot()).isEqualTo(39);
        ChunkSlots explicit = new ChunkSlots(paged.writeSlots(), paged.contextSlots(), paged.contextPositions());
        assertThat(explicit.isPaged()).isFalse();
        assertThat(explicit.blockSize()).isZero();
        assertThat(paged).isEqualTo(explicit).hasSameHashCodeAs(explicit);
        assertThat(ChunkSlots.of(new int[] {2, 1}, 4, 0, 3, 1).maxSlot()).isEqualTo(11);
    }

    @Test
    void refusesToReadAFreedBlockOrPastTheTable() {
        assertThatThrownBy(() -> ChunkSlots.of(new int[] {0, 5, 2}, 4, 7, 9, 1))
                .hasMessageContaining("position 3 is needed but its block was freed");
        assertThatThrownBy(() -> ChunkSlots.of(new int[] {1}, 4, 0, 3, 2))
                .hasMessageContaining("does not cover position 4");
    }

    @Test
    void isAnImmutableValue() {
        int[] write = {4, 5};
        ChunkSlots slots = new ChunkSlots(write, new int[] {2, 4, 5}, new int[] {0, 1, 2});
        write[0] = 99;
        slots.writeSlots()[1] = 99;
        assertThat(slots.writeSlots()).containsExactly(4, 5);
        assertThat(slots).isEqualTo(new ChunkSlots(new int[] {4, 5}, new int[] {2, 4, 5}, new int[] {0, 1, 2}));
        assertThat(slots.numTokens()).isEqualTo(2);
        assertThat(slots.contextLength()).isEqualTo(3);
        assertThat(slots.contextSlot(0)).isEqualTo(2);
        assertThat(slots.contextPosition(2)).isEqualTo(2);
        assertThat(slots.maxSlot()).isEqualTo(5);
    }

    @Test
    void refusesInconsistentArrays() {
        assertThatThrownBy(() -> new ChunkSlots(new int[] {1}, new int[] {1, 2}, new int[] {0}))
                .hasMessageContaining("2 context slots but 1 context positions");
        assertThatThrownBy(() -> new ChunkSlots(new int[] {1}, new int[0], new int[0]))
                .hasMessageContaining("empty context");
        assertThatThrownBy(() -> new ChunkSlots(new int[] {-1}, new int[] {1}, new int[] {0}))
                .hasMessageContaining("negative slot or position -1");
    }
}
