package dev.gemmaflink.operators.gemma;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OutputTextTest {

    @Test
    void plainTextIsOnlyTrimmed() {
        assertThat(OutputText.clean("  A short summary.\n")).isEqualTo("A short summary.");
    }

    @Test
    void textAfterTheEndOfTurnIsCut() {
        assertThat(OutputText.clean("Bonjour.<end_of_turn>\n<start_of_turn>user\nmore")).isEqualTo("Bonjour.");
        assertThat(OutputText.clean("Done<eos>garbage")).isEqualTo("Done");
    }

    @Test
    void aLeadingModelTurnMarkerIsDropped() {
        assertThat(OutputText.clean("<start_of_turn>model\nHallo Welt<end_of_turn>")).isEqualTo("Hallo Welt");
    }

    @Test
    void nullAndMarkerOnlyGiveEmpty() {
        assertThat(OutputText.clean(null)).isEmpty();
        assertThat(OutputText.clean("<end_of_turn>")).isEmpty();
    }
}
