package dev.gemmaflink.runtime.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.kvcache.ImageSpan;
import java.util.List;
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
        return new PromptImages(List.of(new ImageSpan(4, 3, "a"), new ImageSpan(10, 3, "b")), emb);
    }

    @Test
    void slicesAreRelativeToTheChunk() {
        StepImages s = images().slice(7, 13);
        assertThat(s.tokenIndices()).containsExactly(3, 4, 5);
        assertThat(s.embeddings()).containsExactly(10, -10, 11, -11, 12, -12);
        assertThat(s.spans()).containsExactly(new ImageSpan(10, 3, "b"));
        StepImages none = images().slice(0, 4);
        assertThat(none.count()).isZero();
        assertThat(none.spans()).isEmpty();
    }

    @Test
    void softTokensArePlacedAtEveryPositionOfEverySpan() {
        PromptImages p = images();
        assertThat(p.positions()).containsExactly(4, 5, 6, 10, 11, 12);
        assertThat(p.hidden()).isEqualTo(2);
        // a slice keeps the soft tokens inside it and the spans that start inside it
        StepImages cut = p.slice(5, 11);
        assertThat(cut.tokenIndices()).containsExactly(0, 1, 5);
        assertThat(cut.embeddings()).containsExactly(5, -5, 6, -6, 10, -10);
        assertThat(cut.spans()).containsExactly(new ImageSpan(10, 3, "b"));
    }

    @Test
    void placeLaysEachSpansRowsAtItsPositions() {
        List<ImageSpan> spans = List.of(new ImageSpan(4, 3, "a"), new ImageSpan(10, 3, "b"));
        float[] a = {4, -4, 5, -5, 6, -6};
        float[] b = {10, -10, 11, -11, 12, -12};
        PromptImages placed = PromptImages.place(spans, List.of(a, b));
        assertThat(placed).isEqualTo(images());
        assertThat(placed.positions()).containsExactly(4, 5, 6, 10, 11, 12);
        assertThat(placed.embeddings()).containsExactly(4, -4, 5, -5, 6, -6, 10, -10, 11, -11, 12, -12);
        assertThatThrownBy(() -> PromptImages.place(spans, List.of(a)))
                .hasMessageContaining("2 image spans but 1 sets of embedding rows");
        assertThatThrownBy(() -> PromptImages.place(spans, List.of(a, new float[4])))
                .hasMessageContaining("has 4 embedding values for 3 soft tokens of width 2");
    }

    @Test
    void invalidInputIsRefused() {
        assertThatThrownBy(() -> new PromptImages(List.of(new ImageSpan(3, 1, "a"), new ImageSpan(2, 1, "b")),
                new float[2])).hasMessageContaining("ascending");
        assertThatThrownBy(() -> new PromptImages(List.of(new ImageSpan(2, 2, "a"), new ImageSpan(3, 1, "b")),
                new float[3])).hasMessageContaining("must not overlap");
        assertThatThrownBy(() -> new PromptImages(List.of(new ImageSpan(1, 2, "a")), new float[3]))
                .hasMessageContaining("3 values for 2 soft tokens");
        assertThatThrownBy(() -> new PromptImages(List.of(), new float[0])).hasMessageContaining("no image spans");
    }
}
