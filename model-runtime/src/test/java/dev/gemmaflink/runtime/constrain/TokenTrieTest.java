package dev.gemmaflink.runtime.constrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.model.TokenMask;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Masks from the token trie on a hand-made vocabulary, worked out by hand: tokens that span a key, its closing quote
 * and the colon; multi-byte characters as one token or as byte-fallback tokens; escapes; maxLength counted in
 * characters across multi-character tokens; end ids only where the output is complete.
 */
class TokenTrieTest {

    private static final int EOS = 1;
    private static final List<byte[]> TOKENS = new ArrayList<>();

    static {
        add(null); // 0 <pad>
        add(null); // 1 <eos>
        add("{"); // 2
        add("{\""); // 3
        add("\""); // 4
        add("name"); // 5
        add("\":"); // 6
        add("\":\""); // 7
        add("\"name\":"); // 8
        add("a"); // 9
        add("é"); // 10: C3 A9
        TOKENS.add(new byte[] {(byte) 0xC3}); // 11: byte fallback <0xC3>
        TOKENS.add(new byte[] {(byte) 0xA9}); // 12: byte fallback <0xA9>
        add("}"); // 13
        add("\"}"); // 14
        add("aaaa"); // 15
        add("aaa"); // 16
        add(" "); // 17
        add("na"); // 18
        add("\\"); // 19
        add("\\\""); // 20
        add("n"); // 21
        add("e"); // 22
        add("m"); // 23
        add("\"a"); // 24
        add("a"); // 25: same bytes as 9 (a byte-fallback twin)
    }

    private static void add(String s) {
        TOKENS.add(s == null ? null : s.getBytes(StandardCharsets.UTF_8));
    }

    private static final String SCHEMA = """
            {"type":"object","properties":{"name":{"type":"string","maxLength":3}},"required":["name"]}""";

    private static ConstraintCompiler compiler() {
        return new ConstraintCompiler(TokenVocabulary.of(TOKENS), Runnable::run, 4);
    }

    private static int[] maskAfter(CompiledConstraint c, int... tokens) {
        ConstraintCursor cur = c.start();
        for (int t : tokens) {
            cur.advance(t);
        }
        return cur.mask().toIds();
    }

    @Test
    void trieLayout() {
        TokenTrie t = compiler().trie();
        assertThat(t.maxTokenBytes()).isEqualTo(7); // "name":
        assertThat(t.vocabSize()).isEqualTo(TOKENS.size());
        // distinct byte strings 24 (tokens 9 and 25 share one); shared prefixes make fewer nodes than bytes
        assertThat(t.numNodes()).isLessThan(1 + TOKENS.stream().mapToInt(b -> b == null ? 0 : b.length).sum());
    }

    @Test
    void tokensSpanningKeyQuoteAndColon() {
        CompiledConstraint c = compiler().compile(Constraint.jsonSchema(SCHEMA, 0), new int[] {EOS});
        assertThat(maskAfter(c)).containsExactly(2, 3); // '{' or '{"'
        assertThat(maskAfter(c, 2)).containsExactly(4, 8); // '"' or the whole '"name":'
        assertThat(maskAfter(c, 3)).containsExactly(5, 18, 21); // name, na, n
        assertThat(maskAfter(c, 3, 18)).containsExactly(23); // "m" (then "e")
        assertThat(maskAfter(c, 3, 5)).containsExactly(4, 6, 7); // '"', '":' and '":"' (closes the value's quote open)
        // the value's opening quote, alone or with what follows it in the string: ':', ':"' (the string ":"), '}', 'a'
        assertThat(maskAfter(c, 2, 8)).containsExactly(4, 6, 7, 14, 24);
        assertThat(maskAfter(c, 3, 5, 6)).isEqualTo(maskAfter(c, 2, 8)); // same state, same mask
    }

    @Test
    void insideAStringMultiByteEscapesAndLength() {
        CompiledConstraint c = compiler().compile(Constraint.jsonSchema(SCHEMA, 0), new int[] {EOS});
        // empty string so far: any character token of at most 3 characters; '{"' closes the string and may be
        // followed by '}'; 'aaaa' is too long, 0xA9 cannot start a character
        assertThat(maskAfter(c, 3, 5, 7)).containsExactly(2, 3, 4, 9, 10, 11, 13, 14, 16, 17, 18, 19, 20, 21, 22,
                23, 25);
        assertThat(maskAfter(c, 3, 5, 7, 11)).containsExactly(12); // after <0xC3> only its continuation byte
        assertThat(maskAfter(c, 3, 5, 7, 11, 12, 9)).containsExactly(2, 3, 4, 9, 10, 11, 13, 14, 17, 19, 20, 21,
                22, 23, 25); // é a: two characters, room for one
        assertThat(maskAfter(c, 3, 5, 7, 16)).containsExactly(4, 14); // three characters: only the closing quote
        // after a backslash, the tokens that start with an escape letter: '"' ('\"'), '":' and '":"' (then ':' and
        // the closing quote), '"}', '"a', 'n' and 'na' ('\n'), '\' and '\"' ('\\'); not 'name' (4 characters)
        assertThat(maskAfter(c, 3, 5, 7, 19)).containsExactly(4, 6, 7, 14, 18, 19, 20, 21, 24);
        assertThat(maskAfter(c, 3, 5, 7, 20, 20)).containsExactly(2, 3, 4, 9, 10, 11, 13, 14, 17, 19, 20, 21, 22,
                23, 25); // \"\" is two characters
    }

    @Test
    void endIdsOnlyWhereTheOutputIsComplete() {
        CompiledConstraint c = compiler().compile(Constraint.jsonSchema(SCHEMA, 0), new int[] {EOS});
        ConstraintCursor cur = c.start();
        for (int t : new int[] {3, 5, 7, 9, 4}) {
            assertThat(cur.mask().allows(EOS)).isFalse();
            cur.advance(t);
        }
        assertThat(cur.mask().toIds()).containsExactly(13);
        assertThat(cur.isAccepting()).isFalse();
        cur.advance(13);
        assertThat(cur.isAccepting()).isTrue();
        assertThat(cur.isClosed()).isTrue();
        assertThat(cur.mask().toIds()).containsExactly(EOS);
        assertThatThrownBy(() -> c.start().advance(EOS)).hasMessageContaining("before the output is a complete match");
        assertThatThrownBy(() -> c.start().advance(9)).hasMessageContaining("not allowed");
    }

    @Test
    void choiceWithPrefixLabelsAllowsEndAfterTheShorterOne() {
        CompiledConstraint c = compiler().compile(Constraint.choice(List.of("a", "aaaa")), new int[] {EOS});
        assertThat(maskAfter(c)).containsExactly(9, 15, 16, 25); // a, aaaa, aaa
        assertThat(maskAfter(c, 9)).containsExactly(EOS, 9, 16, 25); // end here, or go on to aaaa
        assertThat(maskAfter(c, 16)).containsExactly(9, 25);
        ConstraintCursor cur = c.start();
        cur.advance(15);
        assertThat(cur.isClosed()).isTrue();
    }

    @Test
    void compiledOncePerConstraintAndEndIds() {
        ConstraintCompiler comp = compiler();
        CompiledConstraint a = comp.compile(Constraint.jsonSchema(SCHEMA, 0), new int[] {EOS});
        assertThat(comp.compile(Constraint.jsonSchema(SCHEMA, 0), new int[] {EOS, EOS})).isSameAs(a);
        assertThat(comp.compile(Constraint.jsonSchema(SCHEMA, 0), new int[] {})).isNotSameAs(a);
        a.start().mask();
        a.start().mask();
        assertThat(a.cachedMasks()).isEqualTo(1);
        a.precomputeAllMasks();
        assertThat(a.cachedMasks()).isEqualTo(a.automaton().numStates());
        assertThat(a.distinctMasks()).isLessThanOrEqualTo(a.cachedMasks());
        for (int i = 0; i < 6; i++) {
            comp.compile(Constraint.choice(List.of("a" + i)), new int[] {EOS});
        }
        assertThat(comp.size()).isEqualTo(4); // least recently used dropped
    }

    @Test
    void maskForms() {
        TokenMask sparse = TokenMask.of(1000, 5, 900, 5, 64);
        assertThat(sparse.cardinality()).isEqualTo(3);
        assertThat(sparse.toIds()).containsExactly(5, 64, 900);
        assertThat(sparse.nextAllowed(6)).isEqualTo(64);
        assertThat(sparse.nextAllowed(901)).isEqualTo(-1);
        assertThat(sparse.allows(900)).isTrue();
        assertThat(sparse.allows(901)).isFalse();
        int[] row = sparse.words(); // the device form: int32 words, bit t & 31 of word t >>> 5
        assertThat(row).hasSize(TokenMask.wordsFor(1000)).hasSize(32);
        assertThat(row[0]).isEqualTo(1 << 5);
        assertThat(row[2]).isEqualTo(1);
        assertThat(row[28]).isEqualTo(1 << (900 - 28 * 32));
        assertThat(TokenMask.fromWords(1000, row)).isEqualTo(sparse);
        int[] many = new int[500];
        for (int i = 0; i < many.length; i++) {
            many[i] = 2 * i;
        }
        TokenMask dense = TokenMask.of(1000, many);
        assertThat(dense.cardinality()).isEqualTo(500);
        assertThat(dense.nextAllowed(1)).isEqualTo(2);
        assertThat(dense.nextAllowed(999)).isEqualTo(-1);
        int[] w = dense.words();
        assertThat(w[0]).isEqualTo(0x55555555);
        assertThat(w[31]).isEqualTo(0x55555555 & ((1 << (1000 - 31 * 32)) - 1));
        assertThat(dense).isEqualTo(TokenMask.of(1000, many.clone())).isEqualTo(TokenMask.fromWords(1000, w));
        long[] bits = new long[16];
        bits[0] = 0x5555555555555555L;
        bits[15] = -1L; // bits at or past the vocabulary are ignored
        assertThat(TokenMask.fromBits(1000, bits).toIds()).startsWith(0, 2, 4).endsWith(997, 998, 999);
        assertThatThrownBy(() -> TokenMask.of(10, 10)).hasMessageContaining("outside");
        assertThatThrownBy(() -> TokenMask.fromBits(1000, new long[16])).hasMessageContaining("at least one");
    }

}
