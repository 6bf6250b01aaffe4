package dev.gemmaflink.runtime.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.constrain.TokenMask;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Sampling under a token mask: only allowed ids, top-k among them, the unmasked result when all are allowed. */
class MaskedSamplerTest {

    private static float[] randomLogits(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] l = new float[n];
        for (int i = 0; i < n; i++) {
            l[i] = (float) (r.nextGaussian() * 3);
        }
        return l;
    }

    @Test
    void onlyAllowedIdsAreDrawnWhateverTheSettings() {
        float[] l = randomLogits(5000, 1);
        TokenMask sparse = TokenMask.allowing(5000, 7, 4000, 4999);
        int[] dense = new int[3000];
        for (int i = 0; i < dense.length; i++) {
            dense[i] = i + 1000;
        }
        TokenMask wide = TokenMask.allowing(5000, dense);
        for (GenerationParams p : new GenerationParams[] {
                GenerationParams.builder().seed(3).build(),
                GenerationParams.builder().seed(3).topK(1).build(),
                GenerationParams.builder().seed(3).topK(0).topP(1.0).temperature(5).build(),
                GenerationParams.builder().temperature(0).build()}) {
            SplittableRandom rng = new SplittableRandom(p.seed());
            for (int i = 0; i < 300; i++) {
                assertThat(sparse.allows(Sampler.sample(l, p, rng, sparse))).isTrue();
                assertThat(wide.allows(Sampler.sample(l, p, rng, wide))).isTrue();
            }
        }
    }

    @Test
    void greedyIsTheBestAllowedAndTopKCountsAllowedOnly() {
        float[] l = {9f, 1f, 5f, 5f, 8f, 2f};
        TokenMask m = TokenMask.allowing(6, 1, 2, 3, 5);
        assertThat(Sampler.sample(l, GenerationParams.builder().temperature(0).build(), new SplittableRandom(1), m))
                .isEqualTo(2); // the first of the tied best allowed
        GenerationParams top2 = GenerationParams.builder().topK(2).topP(1.0).seed(9).build();
        SplittableRandom rng = new SplittableRandom(9);
        boolean[] seen = new boolean[6];
        for (int i = 0; i < 400; i++) {
            seen[Sampler.sample(l, top2, rng, m)] = true;
        }
        assertThat(seen).containsExactly(false, false, true, true, false, false);
    }

    @Test
    void anAllAllowingMaskGivesTheUnmaskedDraws() {
        float[] l = randomLogits(2000, 4);
        int[] all = new int[2000];
        for (int i = 0; i < all.length; i++) {
            all[i] = i;
        }
        TokenMask m = TokenMask.allowing(2000, all);
        GenerationParams p = GenerationParams.builder().seed(11).build();
        SplittableRandom a = new SplittableRandom(11);
        SplittableRandom b = new SplittableRandom(11);
        for (int i = 0; i < 200; i++) {
            assertThat(Sampler.sample(l, p, a, m)).isEqualTo(Sampler.sample(l, p, b));
        }
        assertThat(Sampler.sample(l, p, a, null)).isEqualTo(Sampler.sample(l, p, b));
    }

    @Test
    void denseAndCompactPathsDrawTheSame() {
        // a dense mask with top-k takes the masked-copy path; the same ids as a sparse-sized call over a longer
        // vocabulary take the compact path: the draws must agree
        float[] l = randomLogits(4000, 8);
        int[] ids = new int[3000];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 7) % 4000;
        }
        TokenMask dense = TokenMask.allowing(4000, ids);
        float[] wide = java.util.Arrays.copyOf(l, 200_000); // zeros past 4000, never allowed
        TokenMask compactForm = TokenMask.allowing(200_000, ids);
        for (GenerationParams p : new GenerationParams[] {
                GenerationParams.builder().seed(21).topK(64).build(),
                GenerationParams.builder().seed(22).topK(5).topP(0.5).build(),
                GenerationParams.builder().temperature(0).build()}) {
            SplittableRandom a = new SplittableRandom(p.seed());
            SplittableRandom b = new SplittableRandom(p.seed());
            for (int i = 0; i < 200; i++) {
                assertThat(Sampler.sample(l, p, a, dense)).isEqualTo(Sampler.sample(wide, p, b, compactForm));
            }
        }
        float[] row = l.clone();
        dense.fillDisallowed(row, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < row.length; i++) {
            assertThat(Float.isInfinite(row[i])).isEqualTo(!dense.allows(i));
        }
    }

    @Test
    void idsBeyondTheRowAreIgnoredAndAnEmptyRowIsRefused() {
        float[] l = {0f, 1f, 2f};
        TokenMask m = TokenMask.allowing(5, 0, 4); // a tokenizer longer than the model's logit row
        assertThat(Sampler.sample(l, GenerationParams.builder().temperature(0).build(), new SplittableRandom(1), m))
                .isEqualTo(0);
        TokenMask beyond = TokenMask.allowing(5, 3, 4);
        assertThatThrownBy(() -> Sampler.sample(l, GenerationParams.defaults(), new SplittableRandom(1), beyond))
                .hasMessageContaining("allows no id");
    }
}
