package dev.gemmaflink.runtime.constrain;

import java.util.List;

/** A parsed regular expression (see {@link RegexParser}): character sets, sequences, alternatives, repetitions. */
sealed interface RegexNode {

    /** One character from the set. */
    record Chars(CodePointSet set) implements RegexNode {
    }

    /** The parts one after another (empty: the empty string). */
    record Concat(List<RegexNode> parts) implements RegexNode {
    }

    /** Any one of the alternatives. */
    record Alt(List<RegexNode> alternatives) implements RegexNode {
    }

    /** {@code min} to {@code max} repetitions; {@code max} -1 for unbounded. */
    record Repeat(RegexNode node, int min, int max) implements RegexNode {
    }
}
