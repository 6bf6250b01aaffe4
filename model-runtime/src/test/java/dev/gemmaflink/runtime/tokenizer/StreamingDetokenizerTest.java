package dev.gemmaflink.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.tools.checkpoint.TinyTokenizerJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Per-token output on the tiny tokenizer, where every non-ASCII character is split over byte tokens. */
class StreamingDetokenizerTest {
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

    private static List<String> stream(int[] ids, StreamingDetokenizer d) {
        List<String> out = new ArrayList<>();
        for (int id : ids) {
            out.add(d.accept(id));
        }
        out.add(d.flush());
        return out;
    }

    @Test
    void emojiAndKoreanSplitOverByteTokensComeOutWhole() {
        String text = "Hi 😀 안녕 👍🏽!";
        int[] ids = tok.encode(text, false);
        long byteTokens = java.util.Arrays.stream(ids).filter(id -> tok.piece(id).startsWith("<0x")).count();
        assertThat(byteTokens).isEqualTo(4 + 6 + 8); // 😀 = 4 bytes, 안녕 = 2 x 3, 👍🏽 = 2 x 4
        List<String> parts = stream(ids, tok.streamingDetokenizer(false));
        assertThat(String.join("", parts)).isEqualTo(text).isEqualTo(tok.decode(ids));
        assertThat(parts).noneMatch(p -> p.contains("\uFFFD"));
        assertThat(parts).contains("😀", "안", "녕");
        // Bytes of an unfinished character produce nothing yet.
        assertThat(parts.stream().filter(String::isEmpty).count()).isGreaterThanOrEqualTo(3 + 2 + 2);
    }

    @Test
    void heldBackBytesAreReportedAndFlushedAsReplacement() {
        StreamingDetokenizer d = tok.streamingDetokenizer(false);
        int f0 = tok.tokenId("<0xF0>").orElseThrow();
        int x9f = tok.tokenId("<0x9F>").orElseThrow();
        assertThat(d.accept(f0)).isEmpty();
        assertThat(d.accept(x9f)).isEmpty();
        assertThat(d.hasPending()).isTrue();
        assertThat(d.flush()).isEqualTo("\uFFFD");
        assertThat(d.hasPending()).isFalse();
        // A lone continuation byte can never complete: replaced at once.
        assertThat(d.accept(x9f)).isEqualTo("\uFFFD");
        // An unfinished character followed by ASCII: the broken bytes are replaced, the ASCII kept.
        d.accept(f0);
        assertThat(d.accept(tok.tokenId("a").orElseThrow())).isEqualTo("\uFFFDa");
    }

    @Test
    void specialTokensAreSkippedOnRequest() {
        assertThat(tok.streamingDetokenizer(true).accept(106)).isEmpty();
        assertThat(tok.streamingDetokenizer(false).accept(106)).isEqualTo("<end_of_turn>");
        StreamingDetokenizer d = tok.streamingDetokenizer(true);
        assertThat(d.accept(tok.tokenId("\u2581").orElseThrow())).isEqualTo(" ");
    }

    @Test
    void completePrefixHoldsOnlyValidBeginnings() {
        byte[] euro = "€".getBytes(java.nio.charset.StandardCharsets.UTF_8); // E2 82 AC
        assertThat(StreamingDetokenizer.completePrefix(new byte[] {'a', euro[0]})).isEqualTo(1);
        assertThat(StreamingDetokenizer.completePrefix(new byte[] {'a', euro[0], euro[1]})).isEqualTo(1);
        assertThat(StreamingDetokenizer.completePrefix(euro)).isEqualTo(3);
        assertThat(StreamingDetokenizer.completePrefix(new byte[] {'a', (byte) 0xC0})).isEqualTo(2); // invalid lead
        assertThat(StreamingDetokenizer.completePrefix(new byte[] {(byte) 0x80, (byte) 0x80, (byte) 0x80})).isEqualTo(3);
        assertThat(StreamingDetokenizer.completePrefix(new byte[0])).isZero();
    }
}
