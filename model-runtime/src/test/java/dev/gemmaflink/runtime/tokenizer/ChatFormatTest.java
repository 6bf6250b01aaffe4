package dev.gemmaflink.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ChatFormatTest {
    @Test
    void singleUserTurnOpensTheModelTurn() {
        assertThat(ChatFormat.prompt("Hi there")).isEqualTo(
                "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n");
    }

    @Test
    void systemTextAndABlankLineGoInFrontOfTheFirstUserTurn() {
        assertThat(ChatFormat.prompt("Answer in French.", "Hello")).isEqualTo(
                "<start_of_turn>user\nAnswer in French.\n\nHello<end_of_turn>\n<start_of_turn>model\n");
        assertThat(ChatFormat.prompt("", "Hello")).isEqualTo(ChatFormat.prompt("Hello"));
    }

    @Test
    void multiTurnConversationAlternatesAndTrimsTurnText() {
        String s = ChatFormat.format(List.of(ChatMessage.system("Be brief."), ChatMessage.user("  Q1 \n"),
                ChatMessage.model("A1"), ChatMessage.user("Q2")), true);
        assertThat(s).isEqualTo("<start_of_turn>user\nBe brief.\n\nQ1<end_of_turn>\n"
                + "<start_of_turn>model\nA1<end_of_turn>\n"
                + "<start_of_turn>user\nQ2<end_of_turn>\n"
                + "<start_of_turn>model\n");
        assertThat(ChatFormat.format(List.of(ChatMessage.user("Q")), false))
                .isEqualTo("<start_of_turn>user\nQ<end_of_turn>\n");
    }

    @Test
    void rolesMustAlternate() {
        assertThatThrownBy(() -> ChatFormat.format(List.of(ChatMessage.user("a"), ChatMessage.user("b")), true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("message 1 has role USER but MODEL");
        assertThatThrownBy(() -> ChatFormat.format(List.of(ChatMessage.user("a"), ChatMessage.system("s")), true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("role SYSTEM");
        assertThatThrownBy(() -> ChatFormat.format(List.of(ChatMessage.model("a")), true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("message 0 has role MODEL but USER");
    }
}
