package dev.gemmaflink.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.config.GemmaConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The headroom arithmetic on the released 1B and 4B shapes, term by term. */
class ActivationHeadroomTest {

    static GemmaConfig released(String size) {
        String name = "/configs/gemma-3-" + size + "-it.json";
        try (InputStream in = ActivationHeadroomTest.class.getResourceAsStream(name)) {
            assertThat(in).as("test resource %s", name).isNotNull();
            return GemmaConfig.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), name);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * 1B (hidden 1152, intermediate 6912, 4 heads, 1 kv head, head 256, window 512, vocabulary 262144), bf16, the
     * engine defaults: 2048 tokens per step, 64 sequences, the whole 32768-token context.
     */
    @Test
    void oneBillionAtTheDefaultsOnItsWholeContext() {
        ActivationHeadroom h = ActivationHeadroom.of(released("1b"), 2, 2048, 64, 32768);
        assertThat(h.residualBytes()).isEqualTo(2L * 2048 * 1152 * 4); // 18,874,368
        assertThat(h.ropeBytes()).isEqualTo(2 * (2L * 2048 * 256 * 4)); // both layer types: 8,388,608
        // G = 4 query heads per kv head; global context 32768, sliding context 512 + 2048.
        assertThat(h.maskBytes()).isEqualTo(4L * 2048 * 32768 * 4 + 4L * 2048 * 2560 * 4); // 1,157,627,904
        assertThat(h.attentionBytes()).isEqualTo(3L * 2048 * 6 * 256 * 4 // q, k, v and their norms and rotations
                + 2L * 64 * 32768 * 256 * (2 + 4) // K and V of 64 sequences at 32768, bf16 and widened
                + 3L * 2048 * 4 * 256 * 4); // 6,505,365,504
        assertThat(h.mlpBytes()).isEqualTo(2048L * 6912 * (3 * 4 + 2)); // 198,180,864
        assertThat(h.logitsBytes()).isEqualTo(64L * 262144 * (2 + 4)); // 100,663,296
        // The attention phase is the largest: 1,184,890,880 of step-long tensors plus 6,505,365,504.
        assertThat(h.totalBytes()).isEqualTo(7_690_256_384L);
    }

    /** 4B (hidden 2560, intermediate 10240, 8 heads, 4 kv heads, head 256, window 1024, vocabulary 262208), bf16. */
    @Test
    void fourBillionAt32kAndAtItsWholeContext() {
        GemmaConfig fourB = released("4b");
        ActivationHeadroom at32k = ActivationHeadroom.of(fourB, 2, 2048, 64, 32768);
        assertThat(at32k.residualBytes()).isEqualTo(41_943_040L);
        assertThat(at32k.ropeBytes()).isEqualTo(8_388_608L);
        assertThat(at32k.maskBytes()).isEqualTo(2L * 2048 * 32768 * 4 + 2L * 2048 * 3072 * 4); // 587,202,560
        assertThat(at32k.attentionBytes()).isEqualTo(3L * 2048 * 16 * 256 * 4 + 2L * 64 * 32768 * 4 * 256 * 6
                + 3L * 2048 * 8 * 256 * 4); // 25,920,798,720
        assertThat(at32k.mlpBytes()).isEqualTo(293_601_280L);
        assertThat(at32k.logitsBytes()).isEqualTo(64L * 262208 * 6); // 100,687,872
        assertThat(at32k.totalBytes()).isEqualTo(26_558_332_928L);

        // 131072 tokens: the gathered K/V of 64 sequences alone is 96 GiB, more than an 80 GB GPU has.
        ActivationHeadroom whole = ActivationHeadroom.of(fourB, 2, 2048, 64, 131072);
        assertThat(whole.maskBytes()).isEqualTo(2_197_815_296L);
        assertThat(whole.attentionBytes()).isEqualTo(103_230_210_048L);
        assertThat(whole.totalBytes()).isEqualTo(105_478_356_992L);
    }

    @Test
    void aStepHasNoMoreSequencesThanTokensAndFloat32DoublesTheCacheCopies() {
        // 256 sequences but 128 tokens: at most 128 sequences in the step.
        ActivationHeadroom capped = ActivationHeadroom.of(released("1b"), 2, 128, 256, 4096);
        ActivationHeadroom exact = ActivationHeadroom.of(released("1b"), 2, 128, 128, 4096);
        assertThat(capped).isEqualTo(exact);
        assertThat(capped.logitsBytes()).isEqualTo(128L * 262144 * 6);

        ActivationHeadroom f32 = ActivationHeadroom.of(released("1b"), 4, 128, 128, 4096);
        assertThat(f32.attentionBytes() - exact.attentionBytes()).isEqualTo(2L * 128 * 4096 * 256 * 2);
        assertThat(f32.logitsBytes()).isEqualTo(128L * 262144 * 8);
    }

    @Test
    void aContextShorterThanTheWindowBoundsTheSlidingMask() {
        // Context 256 < window 512 + 16 tokens: both layer types see 256 keys.
        ActivationHeadroom h = ActivationHeadroom.of(released("1b"), 2, 16, 4, 256);
        assertThat(h.maskBytes()).isEqualTo(2 * (4L * 16 * 256 * 4));
    }

    @Test
    void countsMustBePositive() {
        GemmaConfig oneB = released("1b");
        assertThatThrownBy(() -> ActivationHeadroom.of(oneB, 2, 0, 64, 1024))
                .hasMessage("maxTokensPerStep must be > 0, got 0");
        assertThatThrownBy(() -> ActivationHeadroom.of(oneB, 2, 16, 64, 0))
                .hasMessage("longestContext must be > 0, got 0");
    }
}
