package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PromptImagesTest {
    // two images: positions [4, 7) and [10, 13), hidden 2; row values encode the position
    private static PromptImages images() {
        int[] pos = {4, 5, 6, 10, 11, 12};
        float[] emb = new float[12];
        for (int i = 0; i < pos.length; i++) {
            emb[2 * i] = pos[i];
            emb[2 * i + 1] = -pos[i];
        }
        return new PromptImages(pos, emb, new int[] {4, 10}, new int[] {3, 3});
    }

    @Test
    void chunkBoundariesNeverFallInsideAnImage() {
        PromptImages p = images();
        assertThat(p.chunkEnd(0, 4)).isEqualTo(4);   // ends right before the first image
        assertThat(p.chunkEnd(0, 5)).isEqualTo(4);   // would cut it: stop before it
        assertThat(p.chunkEnd(4, 5)).isEqualTo(7);   // the chunk starts at the image: grow to hold it
        assertThat(p.chunkEnd(7, 11)).isEqualTo(10);
        assertThat(p.chunkEnd(10, 12)).isEqualTo(13);
        assertThat(p.chunkEnd(13, 20)).isEqualTo(20);
    }

    @Test
    void slicesAreRelativeToTheChunk() {
        StepImages s = images().slice(7, 13);
        assertThat(s.tokenIndices()).containsExactly(3, 4, 5);
        assertThat(s.embeddings()).containsExactly(10, -10, 11, -11, 12, -12);
        assertThat(s.spanStarts()).containsExactly(10);
        assertThat(s.spanLengths()).containsExactly(3);
        StepImages none = images().slice(0, 4);
        assertThat(none.count()).isZero();
        assertThat(none.spanStarts()).isEmpty();
    }

    @Test
    void invalidInputIsRefused() {
        assertThatThrownBy(() -> new PromptImages(new int[] {3, 2}, new float[2], new int[0], new int[0]))
                .hasMessageContaining("ascending");
        assertThatThrownBy(() -> new PromptImages(new int[] {1, 2}, new float[3], new int[0], new int[0]))
                .hasMessageContaining("3 values for 2 soft tokens");
    }
}
