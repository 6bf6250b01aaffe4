package dev.gemmaflink.runtime.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.model.ForwardBatch;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.KvStorage;
import dev.gemmaflink.runtime.model.LoadProgress;
import dev.gemmaflink.runtime.model.ModelOptions;
import dev.gemmaflink.runtime.model.Precision;
import dev.gemmaflink.runtime.model.SequenceCache;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.weights.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GeneratorTest {

    @TempDir
    static Path tmp;

    static TinyCheckpoint ckpt;
    static GemmaModel model;
    static GemmaTokenizer tokenizer;

    @BeforeAll
    static void load() {
        ckpt = TinyCheckpointWriter.write(tmp.resolve("ckpt"), TinyCheckpointSpec.builder().layers(6).hidden(64)
                .heads(4).kvHeads(2).headDim(16).window(8).maxPositions(64).dtype(DType.BF16).seed(3).build());
        model = GemmaModel.load(ckpt.directory(), ModelOptions.builder().threads(1).precision(Precision.FLOAT32).build(),
                LoadProgress.NONE);
        tokenizer = GemmaTokenizer.load(ckpt.directory());
    }

    @AfterAll
    static void close() {
        model.close();
        tokenizer.close();
    }

    /** Greedy continuation by recomputing the whole sequence each step (no cache reuse). */
    private static List<Integer> greedyByRecomputation(int[] prompt, int n) {
        List<Integer> out = new ArrayList<>();
        int[] seq = prompt.clone();
        for (int i = 0; i < n; i++) {
            try (KvStorage kv = model.allocateKv(seq.length, seq.length)) {
                SequenceCache c = new SequenceCache(model.config(), 0, seq.length);
                float[] logits = model.forward(ForwardBatch.of(c.append(seq, false)), kv).lastLogits(0);
                int next = Sampler.argmax(logits);
                out.add(next);
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = next;
            }
        }
        return out;
    }

    @Test
    void greedyGenerationEqualsArgmaxOfFullRecomputationAndStreamsEveryToken() {
        int[] prompt = {2, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49};
        GenerationParams greedy = GenerationParams.builder().temperature(0).maxNewTokens(12).stopIds().build();
        List<Integer> streamed = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        try (Generator gen = new Generator(model, tokenizer, 0)) {
            GenerationResult r = gen.generate(prompt, greedy, (id, delta) -> {
                streamed.add(id);
                text.append(delta);
            });
            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(Arrays.stream(r.tokens()).boxed().toList()).isEqualTo(greedyByRecomputation(prompt, 12));
            assertThat(streamed).isEqualTo(Arrays.stream(r.tokens()).boxed().toList());
            assertThat(r.text()).isEqualTo(text.toString()).isEqualTo(tokenizer.decode(r.tokens(), true));
            assertThat(r.promptTokens()).isEqualTo(prompt.length);
            assertThat(r.timeToFirstTokenNanos()).isPositive().isLessThanOrEqualTo(r.totalNanos());
        }
    }

    @Test
    void chunkedPrefillGivesTheSameTokens() {
        int[] prompt = {2, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81};
        GenerationParams p = GenerationParams.builder().seed(9).maxNewTokens(8).stopIds().build();
        try (Generator whole = new Generator(model, tokenizer, 0);
             Generator chunked = new Generator(model, tokenizer, 0, 4)) {
            assertThat(chunked.generate(prompt, p, null).tokens()).containsExactly(whole.generate(prompt, p, null).tokens());
        }
        assertThatThrownBy(() -> new Generator(model, tokenizer, 0, 0)).hasMessageContaining("prefillChunk");
    }

    @Test
    void seededSamplingIsReproducibleAndSeedsMatter() {
        int[] prompt = {2, 50, 51, 52};
        try (Generator gen = new Generator(model, tokenizer, 0)) {
            GenerationParams p = GenerationParams.builder().seed(77).maxNewTokens(20).stopIds().build();
            int[] a = gen.generate(prompt, p, null).tokens();
            int[] b = gen.generate(prompt, p, null).tokens();
            assertThat(b).containsExactly(a);
            boolean anyDiffers = false;
            for (long seed = 1; seed <= 5 && !anyDiffers; seed++) {
                int[] c = gen.generate(prompt, GenerationParams.builder().seed(seed).maxNewTokens(20).stopIds().build(),
                        null).tokens();
                anyDiffers = !Arrays.equals(a, c);
            }
            assertThat(anyDiffers).isTrue();
        }
    }

    @Test
    void deviceSamplingGivesTheJavaReferencesTokensAndCopiesOnlyTokenIds() {
        int[] prompt = {2, 90, 91, 92, 93, 94};
        List<GenerationParams> params = List.of(
                GenerationParams.builder().temperature(0).maxNewTokens(16).stopIds().build(),
                GenerationParams.builder().seed(1).maxNewTokens(16).stopIds().build(), // Gemma defaults: T 1, k 64, p 0.95
                GenerationParams.builder().seed(2).temperature(1.7).topK(0).topP(1.0).maxNewTokens(16).stopIds().build(),
                GenerationParams.builder().seed(3).temperature(0.6).topK(5).topP(0.7).maxNewTokens(16).stopIds().build(),
                GenerationParams.builder().seed(4).temperature(1.0).topK(1).maxNewTokens(16).stopIds().build());
        try (Generator device = new Generator(model, tokenizer, 0, 3); // chunked prefill: chunks without a sample
             Generator host = new Generator(model, tokenizer, 0, 3, Generator.Sampling.HOST_REFERENCE)) {
            for (GenerationParams p : params) {
                long before = model.deviceToHostBytes();
                int[] got = device.generate(prompt, p, null).tokens();
                long copied = model.deviceToHostBytes() - before;
                assertThat(got).as("%s", p).containsExactly(host.generate(prompt, p, null).tokens());
                // One sample per generated token, 16 bytes each: never a logit row.
                assertThat(copied).as("%s", p).isEqualTo(16L * got.length);
            }
            // top-k 1 is greedy.
            assertThat(device.generate(prompt, params.get(4), null).tokens())
                    .containsExactly(device.generate(prompt, params.get(0), null).tokens());
        }
    }

    @Test
    void stopsOnAStopIdAndAtTheContextLimit() {
        int[] prompt = {2, 60, 61, 62, 63};
        try (Generator gen = new Generator(model, tokenizer, 0)) {
            int first = gen.generate(prompt, GenerationParams.builder().temperature(0).maxNewTokens(1).stopIds().build(),
                    null).tokens()[0];
            GenerationResult stopped = gen.generate(prompt,
                    GenerationParams.builder().temperature(0).maxNewTokens(10).stopIds(first).build(), null);
            assertThat(stopped.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(stopped.tokens()).isEmpty();
        }
        try (Generator small = new Generator(model, tokenizer, 8)) {
            GenerationResult r = small.generate(prompt, GenerationParams.builder().temperature(0).maxNewTokens(50)
                    .stopIds().build(), null);
            assertThat(r.finishReason()).isEqualTo(FinishReason.CONTEXT_LIMIT);
            assertThat(r.tokens()).hasSize(3);
            assertThatThrownBy(() -> small.generate(new int[] {2, 3, 4, 5, 6, 7, 8, 9},
                    GenerationParams.defaults(), null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("8 tokens")
                    .hasMessageContaining("context limit is 8");
        }
        // The model's max_position_embeddings (64) bounds any configured limit.
        try (Generator big = new Generator(model, tokenizer, 1000)) {
            assertThat(big.contextLimit()).isEqualTo(64);
            assertThatThrownBy(() -> big.generate(new int[70], GenerationParams.defaults(), null))
                    .hasMessageContaining("70 tokens");
        }
    }

    @Test
    void textPromptsAreTokenizedWithBosAndChatFormat() {
        try (Generator gen = new Generator(model, tokenizer, 0)) {
            GenerationParams p = GenerationParams.builder().temperature(0).maxNewTokens(3).stopIds().build();
            GenerationResult chat = gen.generate("hello world", true, p, null);
            int[] ids = tokenizer.encode("<start_of_turn>user\nhello world<end_of_turn>\n<start_of_turn>model\n", true);
            assertThat(chat.promptTokens()).isEqualTo(ids.length);
            assertThat(chat.tokens()).containsExactly(gen.generate(ids, p, null).tokens());
            assertThat(ids[0]).isEqualTo(2);
        }
    }
}
