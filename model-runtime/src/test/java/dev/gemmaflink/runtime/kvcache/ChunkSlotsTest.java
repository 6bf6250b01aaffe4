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
