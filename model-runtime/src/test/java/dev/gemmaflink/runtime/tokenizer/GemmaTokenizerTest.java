package dev.gemmaflink.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.ModelLoadException;
import dev.gemmaflink.runtime.tools.checkpoint.TinyTokenizerJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The generated tiny tokenizer through DJL: Gemma's special ids, byte fallback, no truncation. */
class GemmaTokenizerTest {
    @TempDir
    static Path dir;
    static GemmaTokenizer tok;

    @BeforeAll
    static void load() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), TinyTokenizerJson.generate(512));
        tok = GemmaTokenizer.load(dir);
    }

    @AfterAll
    static void close() {
        tok.close();
    }

    @Test
    void keepsGemmaSpecialIds() {
        assertThat(tok.vocabSize()).isEqualTo(512);
        assertThat(tok.tokenId("<pad>")).contains(0);
        assertThat(tok.tokenId("<eos>")).contains(1);
        assertThat(tok.tokenId("<bos>")).contains(2);
        assertThat(tok.tokenId("<start_of_turn>")).contains(105);
        assertThat(tok.tokenId("<end_of_turn>")).contains(106);
        assertThat(tok.bosId()).isEqualTo(2);
        assertThat(tok.stopIds()).containsExactly(1, 106);
        assertThat(tok.piece(107)).isEqualTo("<0x00>");
        assertThat(tok.piece(362)).isEqualTo("<0xFF>");
        assertThat(tok.isSpecial(106)).isTrue();
        assertThat(tok.isSpecial(4)).isFalse();
    }

    @Test
    void bosIsAddedOnlyOnRequestAndChatMarkupBecomesSpecialIds() {
        int[] plain = tok.encode("hello", false);
        int[] withBos = tok.encode("hello", true);
        assertThat(withBos[0]).isEqualTo(2);
        assertThat(Arrays.copyOfRange(withBos, 1, withBos.length)).containsExactly(plain);
        assertThat(plain).doesNotContain(2);
        int[] chat = tok.encodeChat(List.of(ChatMessage.user("hi")));
        assertThat(chat[0]).isEqualTo(2);
        assertThat(chat[1]).isEqualTo(105);
        assertThat(chat).contains(106);
        assertThat(tok.decode(chat)).isEqualTo("<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n");
        assertThat(tok.decode(chat, true)).isEqualTo("user\nhi\nmodel\n");
        // The typed text "[BOS]" is just text.
        assertThat(tok.encode("[BOS]", false)).doesNotContain(2);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Hello, world!", "  two  spaces  ", "tabs\tand\nnewlines\n\n", "Grüße, 안녕하세요 😀 日本語",
        "public static void main(String[] args) {}", "", "∑ x² ≠ y³"})
    void anyTextRoundTripsThroughByteFallback(String text) {
        int[] ids = tok.encode(text, false);
        assertThat(java.util.Arrays.stream(ids).allMatch(id -> id >= 0 && id < 512)).isTrue();
        assertThat(ids).doesNotContain(3); // never <unk> with byte fallback
        assertThat(tok.decode(ids)).isEqualTo(text);
    }

    @Test
    void learntMergesShortenCommonEnglish() {
        String text = "the streaming job reads the events from the topic";
        // 512 ids leave room for about 50 merges: still well under one token per character.
        assertThat(tok.encode(text, false).length).isLessThan(text.length() * 3 / 5);
    }

    @Test
    void noTruncationAt512Tokens() {
        String longText = "the quick brown fox ".repeat(400);
        int[] ids = tok.encode(longText, true);
        assertThat(ids.length).isGreaterThan(1000);
        assertThat(tok.decode(Arrays.copyOfRange(ids, 1, ids.length))).isEqualTo(longText);
    }

    @Test
    void piecesMatchTheNativeDecoderForEveryId() {
        for (int id = 0; id < tok.vocabSize(); id++) {
            String piece = tok.piece(id);
            if (piece.startsWith("<0x")) {
                continue; // a lone byte is not valid text on its own
            }
            assertThat(tok.decode(new int[] {id})).as("id %d", id).isEqualTo(piece.replace('\u2581', ' '));
        }
    }

    @Test
    void smallerVocabulariesDegradeAsDocumented() throws IOException {
        Path p300 = dir.resolve("v300.json");
        Files.writeString(p300, TinyTokenizerJson.generate(300));
        try (GemmaTokenizer t = GemmaTokenizer.load(p300)) {
            assertThat(t.vocabSize()).isEqualTo(300);
            assertThat(t.tokenId("<start_of_turn>")).isEmpty();
            assertThat(t.stopIds()).containsExactly(1);
            assertThat(t.decode(t.encode("ok 😀", false))).isEqualTo("ok 😀");
        }
        Path p64 = dir.resolve("v64.json");
        Files.writeString(p64, TinyTokenizerJson.generate(64));
        try (GemmaTokenizer t = GemmaTokenizer.load(p64)) {
            assertThat(t.vocabSize()).isEqualTo(64);
            assertThat(t.encode("é", false)).containsExactly(3); // <unk> without byte fallback
        }
    }

    @Test
    void missingOrBrokenTokenizerIsAModelLoadException() throws IOException {
        assertThatThrownBy(() -> GemmaTokenizer.load(dir.resolve("absent"))).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("tokenizer.json not found");
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"model\": 1");
        assertThatThrownBy(() -> GemmaTokenizer.load(bad)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(bad.toString());
    }
}
