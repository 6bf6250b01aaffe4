package dev.gemmaflink.runtime.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.constrain.CompiledConstraint;
import dev.gemmaflink.runtime.constrain.Constraint;
import dev.gemmaflink.runtime.constrain.ConstraintCompiler;
import dev.gemmaflink.runtime.constrain.ConstraintCursor;
import dev.gemmaflink.runtime.constrain.TokenVocabulary;
import dev.gemmaflink.runtime.model.SampleRow;
import dev.gemmaflink.runtime.model.TokenMask;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The reference sampler under a token mask (the one {@code model.TokenMask} the constraint package produces and the
 * device sampler takes): only allowed ids, top-k among them, the unmasked draw when all are allowed, and the same
 * counter-based noise as the unmasked and device paths.
 */
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
        TokenMask sparse = TokenMask.of(5000, 7, 4000, 4999);
        int[] dense = new int[3000];
        for (int i = 0; i < dense.length; i++) {
            dense[i] = i + 1000;
        }
        TokenMask wide = TokenMask.of(5000, dense);
        for (GenerationParams p : new GenerationParams[] {
                GenerationParams.builder().seed(3).build(),
                GenerationParams.builder().seed(3).topK(1).build(),
                GenerationParams.builder().seed(3).topK(0).topP(1.0).temperature(5).build(),
                GenerationParams.builder().temperature(0).build()}) {
            for (int pos = 0; pos < 300; pos++) {
                assertThat(sparse.allows(Sampler.sample(l, p, pos, sparse))).isTrue();
                assertThat(wide.allows(Sampler.sample(l, p, pos, wide))).isTrue();
            }
        }
    }

    @Test
    void greedyIsTheBestAllowedAndTopKCountsAllowedOnly() {
        float[] l = {9f, 1f, 5f, 5f, 8f, 2f};
        TokenMask m = TokenMask.of(6, 1, 2, 3, 5);
        assertThat(Sampler.sample(l, GenerationParams.builder().temperature(0).build(), 0, m))
                .isEqualTo(2); // the first of the tied best allowed
        GenerationParams top2 = GenerationParams.builder().topK(2).topP(1.0).seed(9).build();
        boolean[] seen = new boolean[6];
        for (int pos = 0; pos < 400; pos++) {
            seen[Sampler.sample(l, top2, pos, m)] = true;
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
        TokenMask m = TokenMask.of(2000, all);
        for (GenerationParams p : new GenerationParams[] {
                GenerationParams.builder().seed(11).build(),
                GenerationParams.builder().seed(12).topK(64).topP(0.8).build(),
                GenerationParams.builder().temperature(0).build()}) {
            for (int pos = 0; pos < 200; pos++) {
                assertThat(Sampler.sample(l, p, pos, m)).isEqualTo(Sampler.sample(l, p, pos));
                assertThat(Sampler.sample(l, p, pos, null)).isEqualTo(Sampler.sample(l, p, pos));
            }
        }
    }

    @Test
    void theMaskedDrawIsTheDrawOverMinusInfinityLogits() {
        // the reference's mask semantics are the device's: disallowed logits become -inf, then the same draw
        float[] l = randomLogits(4000, 8);
        int[] ids = new int[3000];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 7) % 4000;
        }
        TokenMask dense = TokenMask.of(4000, ids);
        TokenMask sparse = TokenMask.of(4000, 17, 3, 2500, 3999);
        for (TokenMask m : new TokenMask[] {dense, sparse}) {
            float[] masked = m.apply(l);
            for (int i = 0; i < masked.length; i++) {
                assertThat(Float.isInfinite(masked[i])).isEqualTo(!m.allows(i));
            }
            for (GenerationParams p : new GenerationParams[] {
                    GenerationParams.builder().seed(21).topK(64).build(),
                    GenerationParams.builder().seed(22).topK(5).topP(0.5).build(),
                    GenerationParams.builder().temperature(0).build()}) {
                for (int pos = 0; pos < 200; pos++) {
                    SampleRow row = Sampler.row(0, p, pos, m);
                    assertThat(row.mask()).isSameAs(m);
                    assertThat(Sampler.sample(l, row)).isEqualTo(Sampler.sample(masked, p, pos));
                }
            }
        }
    }

    @Test
    void aMaskOverAnotherVocabularyIsRefused() {
        float[] l = {0f, 1f, 2f};
        assertThatThrownBy(() -> Sampler.sample(l, GenerationParams.defaults(), 0, TokenMask.of(5, 0, 4)))
                .hasMessageContaining("mask over 5 tokens");
        assertThatThrownBy(() -> TokenMask.of(3)).hasMessageContaining("at least one token");
    }

    @Test
    void constraintMasksAreOverTheModelsVocabulary() {
        // a model head longer than the tokenizer (Gemma 3: 262,208 logits, 262,144 pieces): the masks are over the
        // model's ids, never allowing one past the tokenizer, and the reference samples under them as they are
        List<byte[]> pieces = new ArrayList<>();
        for (String s : new String[] {"<eos>", "a", "b", "ab", "c", "{", "}"}) {
            pieces.add(s.equals("<eos>") ? null : s.getBytes(StandardCharsets.UTF_8));
        }
        int modelVocab = 70;
        CompiledConstraint c = new ConstraintCompiler(TokenVocabulary.of(pieces), modelVocab, Runnable::run, 4)
                .compile(Constraint.choice(List.of("ab", "c")), new int[] {0});
        ConstraintCursor cur = c.start();
        TokenMask m = cur.mask();
        assertThat(m.vocabSize()).isEqualTo(modelVocab);
        assertThat(m.toIds()).containsExactly(1, 3, 4);
        float[] logits = randomLogits(modelVocab, 2);
        logits[69] = 100f; // an id past the tokenizer: never allowed
        int t = Sampler.sample(logits, GenerationParams.builder().seed(4).build(), 10, m);
        assertThat(t).isIn(1, 3, 4);
        cur.advance(1);
        assertThat(cur.mask().toIds()).containsExactly(2);
        assertThat(cur.mask().vocabSize()).isEqualTo(modelVocab);
        cur.advance(2);
        assertThat(cur.isClosed()).isTrue();
        // a model head shorter than the tokenizer: ids past it are dropped
        TokenMask narrow = new ConstraintCompiler(TokenVocabulary.of(pieces), 4, Runnable::run, 4)
                .compile(Constraint.choice(List.of("ab", "c")), new int[] {0}).start().mask();
        assertThat(narrow.vocabSize()).isEqualTo(4);
        assertThat(narrow.toIds()).containsExactly(1, 3);
    }
}
