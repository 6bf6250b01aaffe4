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
}
