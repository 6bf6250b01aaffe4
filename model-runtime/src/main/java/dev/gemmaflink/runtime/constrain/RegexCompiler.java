package dev.gemmaflink.runtime.constrain;

import java.nio.charset.StandardCharsets;

/**
 * Adds a {@link RegexNode} to an {@link Nfa} between two states, writing each character either as raw UTF-8 (a
 * regular-expression constraint on the whole output) or as the content of a JSON string (a schema's
 * {@code pattern}): there a character that JSON must escape ({@code "}, {@code \}, controls) is written as its
 * escape, every other one as itself, so the decoded string is what the pattern matched.
 */
final class RegexCompiler {

    /** How a matched character becomes bytes. */
    enum Mode {
        /** The character's UTF-8 bytes. */
        UTF8,
        /** The character inside a JSON string literal. */
        JSON_STRING
    }

    /** Characters JSON strings must escape. */
    static final CodePointSet JSON_ESCAPED = CodePointSet.ofRanges(0, 0x1F, '"', '"', '\\', '\\');

    private final Nfa nfa;
    private final Mode mode;

    RegexCompiler(Nfa nfa, Mode mode) {
        this.nfa = nfa;
        this.mode = mode;
    }

    void emit(RegexNode node, int from, int to) {
        if (node instanceof RegexNode.Chars c) {
            chars(c.set(), from, to);
        } else if (node instanceof RegexNode.Concat c) {
            if (c.parts().isEmpty()) {
                nfa.epsilon(from, to);
                return;
            }
            int at = from;
            for (int i = 0; i < c.parts().size(); i++) {
                int next = i == c.parts().size() - 1 ? to : nfa.newState();
                emit(c.parts().get(i), at, next);
                at = next;
            }
        } else if (node instanceof RegexNode.Alt a) {
            for (RegexNode alt : a.alternatives()) {
                int s = nfa.newState();
                nfa.epsilon(from, s);
                emit(alt, s, to);
            }
        } else if (node instanceof RegexNode.Repeat r) {
            repeat(r, from, to);
        } else {
            throw new IllegalStateException("unknown regex node " + node);
        }
    }

    private void repeat(RegexNode.Repeat r, int from, int to) {
        int at = from;
        for (int i = 0; i < r.min(); i++) {
            int next = nfa.newState();
            emit(r.node(), at, next);
            at = next;
        }
        if (r.max() < 0) {
            // Fresh loop state so that no epsilon path leads back before this repetition.
            int loop = nfa.newState();
            nfa.epsilon(at, loop);
            int body = nfa.newState();
            emit(r.node(), loop, body);
            nfa.epsilon(body, loop);
            nfa.epsilon(loop, to);
            return;
        }
        for (int i = r.min(); i < r.max(); i++) {
            nfa.epsilon(at, to);
            int next = i == r.max() - 1 ? to : nfa.newState();
            emit(r.node(), at, next);
            at = next;
        }
        if (r.min() == r.max()) {
            nfa.epsilon(at, to);
        }
    }

    private void chars(CodePointSet set, int from, int to) {
        if (mode == Mode.UTF8) {
            nfa.utf8(from, set, to);
            return;
        }
        nfa.utf8(from, set.minus(JSON_ESCAPED), to);
        CodePointSet escaped = set.intersect(JSON_ESCAPED);
        for (int r = 0; r < escaped.numRanges(); r++) {
            for (int cp = escaped.lo(r); cp <= escaped.hi(r); cp++) {
                nfa.bytes(from, jsonEscape(cp), to);
            }
        }
    }

    /** The JSON escape of a character that must be escaped. */
    static byte[] jsonEscape(int cp) {
        String s;
        switch (cp) {
            case '"': s = "\\\""; break;
            case '\\': s = "\\\\"; break;
            case '\n': s = "\\n"; break;
            case '\r': s = "\\r"; break;
            case '\t': s = "\\t"; break;
            case '\b': s = "\\b"; break;
            case '\f': s = "\\f"; break;
            default: s = String.format("\\u%04x", cp);
        }
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
