package dev.gemmaflink.runtime.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.TreeSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SamplerTest {

    /** log-probabilities of a fixed distribution: token i has probability proportional to (10 - i) for i < 10. */
    private static float[] fixedLogits() {
        float[] l = new float[10];
        for (int i = 0; i < 10; i++) {
            l[i] = (float) Math.log(10 - i);
        }
        return l;
    }

    /** Draws at positions 0, 1, ..., draws - 1 of the request's seed (the counter-based noise). */
    private static int[] histogram(float[] logits, GenerationParams p, int draws) {
        int[] h = new int[logits.length];
        for (int i = 0; i < draws; i++) {
            h[Sampler.sample(logits, p, i)]++;
        }
        return h;
    }

    @Test
    void greedyIsArgmaxWithFirstIndexOnTies() {
        float[] l = {0.5f, 3f, -1f, 3f, 2.9f};
        GenerationParams greedy = GenerationParams.builder().temperature(0).build();
        assertThat(Sampler.sample(l, greedy, 7)).isEqualTo(1);
        assertThat(Sampler.argmax(new float[] {-5f, -2f, -3f})).isEqualTo(1);
    }

    @Test
    void sameSeedSameTokensDifferentSeedDifferentTokens() {
        float[] l = fixedLogits();
        GenerationParams a = GenerationParams.builder().topK(0).topP(1.0).seed(123).build();
        GenerationParams b = GenerationParams.builder().topK(0).topP(1.0).seed(124).build();
        int[] first = IntStream.range(0, 1).flatMap(x -> IntStream.of(histogram(l, a, 500))).toArray();
        assertThat(histogram(l, a, 500)).containsExactly(first);
        assertThat(histogram(l, b, 500)).isNotEqualTo(first);
    }

    @Test
    void aDrawDependsOnSeedAndPositionOnly() {
        float[] l = fixedLogits();
        GenerationParams p = GenerationParams.builder().topK(0).topP(1.0).seed(42).build();
        int[] forward = new int[200];
        for (int i = 0; i < forward.length; i++) {
            forward[i] = Sampler.sample(l, p, i);
        }
        // Any order of asking gives each position its own token: no hidden stream state.
        for (int i = forward.length - 1; i >= 0; i--) {
            assertThat(Sampler.sample(l, p, i)).as("position %d", i).isEqualTo(forward[i]);
        }
    }

    @Test
    void fullDistributionIsSampledInProportion() {
        float[] l = fixedLogits();
        int draws = 55_000;
        int[] h = histogram(l, GenerationParams.builder().topK(0).topP(1.0).seed(5).build(), draws);
        for (int i = 0; i < 10; i++) {
            double expected = draws * (10 - i) / 55.0;
            assertThat((double) h[i]).as("token %d", i).isCloseTo(expected, org.assertj.core.data.Offset.offset(0.1 * expected + 30));
        }
    }

    @Test
    void topKRestrictsTheSupportToTheKMostLikely() {
        int[] h = histogram(fixedLogits(), GenerationParams.builder().topK(3).topP(1.0).seed(9).build(), 20_000);
        TreeSet<Integer> support = new TreeSet<>();
        for (int i = 0; i < h.length; i++) {
            if (h[i] > 0) {
                support.add(i);
            }
        }
        assertThat(support).containsExactly(0, 1, 2);
        // Renormalised 10:9:8 over 27.
        assertThat(h[0] / 20_000.0).isCloseTo(10 / 27.0, org.assertj.core.data.Offset.offset(0.02));
    }

    @Test
    void topPKeepsTheSmallestPrefixReachingP() {
        // Probabilities 10/55, 9/55, 8/55, 7/55 ... cumulative 0.18, 0.345, 0.49, 0.618: p = 0.5 keeps 4 tokens.
        int[] h = histogram(fixedLogits(), GenerationParams.builder().topK(0).topP(0.5).seed(3).build(), 20_000);
        assertThat(IntStream.range(0, 10).filter(i -> h[i] > 0).toArray()).containsExactly(0, 1, 2, 3);
        // Combined with top-k 2, top-k wins.
        int[] h2 = histogram(fixedLogits(), GenerationParams.builder().topK(2).topP(0.9).seed(3).build(), 5_000);
        assertThat(IntStream.range(0, 10).filter(i -> h2[i] > 0).toArray()).containsExactly(0, 1);
    }

    @Test
    void lowTemperatureSharpensAndLargeVocabularyUsesTheSortPath() {
        float[] l = new float[20_000];
        for (int i = 0; i < l.length; i++) {
            l[i] = ((i * 7919L) % 20_000) / 1000f; // a permutation of 0, 0.001, ..., 19.999
        }
        int best = Sampler.argmax(l);
        GenerationParams cold = GenerationParams.builder().temperature(1e-4).topK(0).topP(1.0).seed(1).build();
        assertThat(Sampler.sample(l, cold, 1)).isEqualTo(best);
        int[] top = Sampler.candidates(l, 10_000);
        assertThat(top[0]).isEqualTo(best);
        for (int i = 1; i < top.length; i++) {
            assertThat(l[top[i]]).isLessThanOrEqualTo(l[top[i - 1]]);
        }
    }

    @Test
    void paramsValidateWithClearMessages() {
        assertThatThrownBy(() -> GenerationParams.builder().maxNewTokens(0).build()).hasMessageContaining("maxNewTokens");
        assertThatThrownBy(() -> GenerationParams.builder().temperature(-1).build()).hasMessageContaining("temperature");
        assertThatThrownBy(() -> GenerationParams.builder().temperature(Double.NaN).build()).hasMessageContaining("temperature");
        assertThatThrownBy(() -> GenerationParams.builder().topK(-2).build()).hasMessageContaining("topK");
        assertThatThrownBy(() -> GenerationParams.builder().topP(0).build()).hasMessageContaining("topP");
        assertThatThrownBy(() -> GenerationParams.builder().topP(1.5).build()).hasMessageContaining("topP");
        assertThatThrownBy(() -> GenerationParams.builder().stopIds(-1).build()).hasMessageContaining("stop id");
        GenerationParams d = GenerationParams.defaults();
        assertThat(d.topK()).isEqualTo(64);
        assertThat(d.topP()).isEqualTo(0.95);
        assertThat(d.temperature()).isEqualTo(1.0);
        assertThat(d.stopIds()).containsExactly(1, 106);
    }
}
