package dev.gemmaflink.runtime.kvcache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The one rule for step boundaries in a prompt with images: a boundary p is safe unless start < p < end. */
class ImageSpansTest {
    private static final ImageSpan A = new ImageSpan(4, 3, "a"); // positions 4, 5, 6
    private static final ImageSpan B = new ImageSpan(10, 3, "b"); // positions 10, 11, 12
    private static final ImageSpan NEXT_TO_A = new ImageSpan(7, 3, "c"); // positions 7, 8, 9: right after A
    private static final List<ImageSpan> GAP = List.of(A, B);
    private static final List<ImageSpan> ADJACENT = List.of(A, NEXT_TO_A);

    @Test
    void withoutImagesEveryBoundaryIsSafe() {
        List<ImageSpan> none = List.of();
        assertThat(ImageSpans.isSafe(none, 5)).isTrue();
        assertThat(ImageSpans.roundDown(none, 5, 1)).isEqualTo(5);
        assertThat(ImageSpans.roundDown(none, 5, 4)).isEqualTo(4); // alignment alone
        assertThat(ImageSpans.roundUp(none, 5)).isEqualTo(5);
        assertThat(ImageSpans.chunkEnd(none, 0, 5)).isEqualTo(5);
    }

    @Test
    void aBoundaryBeforeAnImageOrAtItsStartStays() {
        for (int p : new int[] {0, 3, 4}) {
            assertThat(ImageSpans.isSafe(GAP, p)).as("boundary %d", p).isTrue();
            assertThat(ImageSpans.roundDown(GAP, p, 1)).as("boundary %d", p).isEqualTo(p);
            assertThat(ImageSpans.roundUp(GAP, p)).as("boundary %d", p).isEqualTo(p);
        }
    }

    @Test
    void aBoundaryInsideAnImageMovesToItsStartOrItsEnd() {
        for (int p : new int[] {5, 6}) {
            assertThat(ImageSpans.isSafe(GAP, p)).as("boundary %d", p).isFalse();
            assertThat(ImageSpans.roundDown(GAP, p, 1)).as("boundary %d", p).isEqualTo(4);
            assertThat(ImageSpans.roundUp(GAP, p)).as("boundary %d", p).isEqualTo(7);
        }
        assertThat(ImageSpans.roundDown(GAP, 11, 1)).isEqualTo(10);
        assertThat(ImageSpans.roundUp(GAP, 11)).isEqualTo(13);
    }

    @Test
    void aBoundaryAtTheEndOfAnImageOrBetweenImagesStays() {
        for (int p : new int[] {7, 8, 9, 10, 13, 20}) {
            assertThat(ImageSpans.isSafe(GAP, p)).as("boundary %d", p).isTrue();
            assertThat(ImageSpans.roundDown(GAP, p, 1)).as("boundary %d", p).isEqualTo(p);
            assertThat(ImageSpans.roundUp(GAP, p)).as("boundary %d", p).isEqualTo(p);
        }
    }

    @Test
    void betweenAdjacentImagesTheSharedEdgeIsTheOnlySafeBoundary() {
        assertThat(ImageSpans.isSafe(ADJACENT, 7)).isTrue();
        assertThat(ImageSpans.roundDown(ADJACENT, 7, 1)).isEqualTo(7);
        assertThat(ImageSpans.roundUp(ADJACENT, 7)).isEqualTo(7);
        assertThat(ImageSpans.roundDown(ADJACENT, 8, 1)).isEqualTo(7); // inside the second image
        assertThat(ImageSpans.roundUp(ADJACENT, 8)).isEqualTo(10);
        assertThat(ImageSpans.roundDown(ADJACENT, 6, 1)).isEqualTo(4); // inside the first image
        assertThat(ImageSpans.roundUp(ADJACENT, 6)).isEqualTo(7);
    }

    @Test
    void roundingDownToBlocksKeepsGoingWhileTheAlignedStartIsInsideAnEarlierImage() {
        assertThat(ImageSpans.roundDown(GAP, 12, 4)).isEqualTo(8); // inside B: B's start 10, aligned 8
        assertThat(ImageSpans.roundDown(GAP, 7, 4)).isEqualTo(4); // aligned 4 is A's start
        assertThat(ImageSpans.roundDown(ADJACENT, 8, 4)).isEqualTo(4); // start 7, aligned 4: A's start
        ImageSpan x = new ImageSpan(2, 4, "x"); // positions [2, 6)
        ImageSpan y = new ImageSpan(7, 13, "y"); // positions [7, 20)
        List<ImageSpan> chained = List.of(x, y);
        // 16 is inside y: its start 7 aligns to 4, which is inside x: its start 2 aligns to 0
        assertThat(ImageSpans.roundDown(chained, 16, 4)).isZero();
        assertThat(ImageSpans.roundDown(List.of(y, x), 16, 4)).isZero();
        assertThat(ImageSpans.roundDown(chained, 16, 1)).isEqualTo(7);
    }

    @Test
    void aChunkEndsBeforeAnImageOrGrowsToHoldItWhenItStartsThere() {
        assertThat(ImageSpans.chunkEnd(GAP, 0, 4)).isEqualTo(4); // ends right before the first image
        assertThat(ImageSpans.chunkEnd(GAP, 0, 5)).isEqualTo(4); // would cut it: stop before it
        assertThat(ImageSpans.chunkEnd(GAP, 4, 5)).isEqualTo(7); // the chunk starts at the image: grow to hold it
        assertThat(ImageSpans.chunkEnd(GAP, 7, 11)).isEqualTo(10);
        assertThat(ImageSpans.chunkEnd(GAP, 10, 12)).isEqualTo(13);
        assertThat(ImageSpans.chunkEnd(GAP, 13, 20)).isEqualTo(20);
        assertThat(ImageSpans.chunkEnd(GAP, 4, 4)).isEqualTo(4); // an empty chunk stays empty
        assertThat(ImageSpans.chunkEnd(ADJACENT, 0, 8)).isEqualTo(7);
        assertThat(ImageSpans.chunkEnd(ADJACENT, 4, 8)).isEqualTo(7); // holds the first image, stops before the next
        assertThat(ImageSpans.chunkEnd(ADJACENT, 7, 8)).isEqualTo(10);
    }

    @Test
    void refusesANegativePositionOrAlignment() {
        assertThatThrownBy(() -> ImageSpans.roundDown(GAP, -1, 1)).hasMessageContaining("position >= 0");
        assertThatThrownBy(() -> ImageSpans.roundDown(GAP, 5, 0)).hasMessageContaining("alignment >= 1");
    }

    @Test
    void aSpanIsCutOnlyStrictlyInside() {
        assertThat(A.isCutBy(4)).isFalse();
        assertThat(A.isCutBy(5)).isTrue();
        assertThat(A.isCutBy(6)).isTrue();
        assertThat(A.isCutBy(7)).isFalse();
        assertThat(A.end()).isEqualTo(7);
        assertThat(A.contains(4)).isTrue();
        assertThat(A.contains(7)).isFalse();
    }
}
