package dev.gemmaflink.runtime.constrain;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.model.TokenMask;
import dev.gemmaflink.runtime.tokenizer.GemmaTokenizer;
import dev.gemmaflink.runtime.tokenizer.SharedRealTokenizer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Masks over the real Gemma 3 vocabulary (262,145 ids): the trie's answer equals a brute-force check of every token
 * in states met along random walks; Gemma's own multi-byte and byte-fallback tokens behave as the hand-worked cases.
 */
class RealVocabularyMaskTest {

    static GemmaTokenizer tok;
    static ConstraintCompiler compiler;

    @BeforeAll
    static void load() {
        tok = SharedRealTokenizer.get();
        compiler = ConstraintCompiler.forTokenizer(tok, Runnable::run);
    }

    private static int id(String piece) {
        return tok.tokenId(piece).orElseThrow(() -> new AssertionError("no piece " + piece));
    }

    /** Every id whose bytes keep the automaton alive (end ids apart), by stepping each token through it. */
    private static int[] bruteForce(CompiledConstraint c, int state) {
        ByteDfa dfa = c.automaton();
        int[] out = new int[tok.vocabSize()];
        int n = 0;
        for (int id = 0; id < tok.vocabSize(); id++) {
            byte[] b = tok.tokenBytes(id);
            if (b.length > 0 && Arrays.binarySearch(c.endIds(), id) < 0 && dfa.step(state, b) != ByteDfa.DEAD) {
                out[n++] = id;
            }
        }
        if (dfa.isAccepting(state)) {
            for (int e : c.endIds()) {
                out[n++] = e;
            }
        }
        int[] r = Arrays.copyOf(out, n);
        Arrays.sort(r);
        return r;
    }

    @Test
    void trieMasksEqualBruteForceAlongRandomWalks() {
        Constraint schema = Constraint.jsonSchema("""
                {"type":"object","properties":{"id":{"type":"string","pattern":"[A-Z]{2}[0-9]{4}"},
                 "note":{"type":"string","maxLength":6},"amount":{"type":"number"},"ok":{"type":"boolean"},
                 "tags":{"type":"array","items":{"enum":["a","b c"]},"maxItems":2}},"required":["id","amount"]}""");
        CompiledConstraint c = compiler.compile(schema, tok.stopIds());
        SplittableRandom rnd = new SplittableRandom(5);
        int checked = 0;
        for (int walk = 0; walk < 3; walk++) {
            ConstraintCursor cur = c.start();
            for (int step = 0; step < 40 && !cur.isClosed(); step++) {
                TokenMask m = cur.mask();
                if (step % 4 == 0) {
                    assertThat(m.toIds()).as("state %d", cur.state()).isEqualTo(bruteForce(c, cur.state()));
                    checked++;
                }
                int[] ids = Arrays.stream(m.toIds()).filter(i -> Arrays.binarySearch(c.endIds(), i) < 0).toArray();
                if (ids.length == 0) {
                    break;
                }
                cur.advance(ids[rnd.nextInt(ids.length)]);
            }
        }
        assertThat(checked).isGreaterThanOrEqualTo(10);
    }

    @Test
    void gemmaMultiByteAndByteFallbackTokens() {
        CompiledConstraint c = compiler.compile(Constraint.jsonSchema("{\"type\":\"string\",\"maxLength\":2}"),
                tok.stopIds());
        ConstraintCursor cur = c.start();
        TokenMask open = cur.mask();
        assertThat(open.allows(id("\""))).isTrue();
        assertThat(open.allows(id("{"))).isFalse();
        assertThat(open.allows(tok.stopIds()[0])).isFalse();
        cur.advance(id("\""));
        TokenMask in = cur.mask();
        assertThat(in.allows(id("é"))).isTrue();
        assertThat(in.allows(id("<0xC3>"))).isTrue(); // starts a 2-byte character
        assertThat(in.allows(id("<0xA9>"))).isFalse(); // a continuation byte cannot start one
        assertThat(in.allows(id("<0xF0>"))).isTrue();
        assertThat(in.allows(id("<0x0A>"))).isFalse(); // raw line feed: not in a JSON string
        assertThat(in.allows(id("▁the"))).isFalse(); // " the": 4 characters
        assertThat(in.allows(id("▁a"))).isTrue(); // " a": 2
        cur.advance(id("<0xF0>"));
        TokenMask cont = cur.mask();
        assertThat(Arrays.stream(cont.toIds()).boxed()).allMatch(i -> tok.piece(i).startsWith("<0x"));
        assertThat(cont.allows(id("<0x9F>"))).isTrue();
        assertThat(cont.allows(id("<0x80>"))).isFalse(); // F0 80: overlong
        for (String b : new String[] {"<0x9F>", "<0x98>", "<0x80>"}) { // U+1F600 as four byte tokens
            cur.advance(id(b));
        }
        TokenMask afterEmoji = cur.mask();
        assertThat(afterEmoji.allows(id("\""))).isTrue();
        assertThat(afterEmoji.allows(id("a"))).isTrue();
        assertThat(afterEmoji.allows(id("ab"))).isFalse(); // 1 + 2 > maxLength
    }

    @Test
    void realTokensSpanningKeyAndColon() {
        CompiledConstraint c = compiler.compile(Constraint.jsonSchema(
                "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"]}", 0),
                tok.stopIds());
        ConstraintCursor cur = c.start();
        TokenMask start = cur.mask();
        assertThat(Arrays.stream(start.toIds()).boxed())
                .allMatch(i -> new String(tok.tokenBytes(i), StandardCharsets.UTF_8).startsWith("{"));
        int[] path = tok.encode("{\"name\":\"x\"}", false);
        for (int t : path) {
            assertThat(cur.mask().allows(t)).as("token %s", tok.piece(t)).isTrue();
            cur.advance(t);
        }
        assertThat(cur.isClosed()).isTrue();
        // a token ending the key and opening its value at once, if the vocabulary has one
        tok.tokenId("\":\"").ifPresent(t -> {
            ConstraintCursor k = c.start();
            for (int x : tok.encode("{\"name", false)) {
                k.advance(x);
            }
            assertThat(k.mask().allows(t)).isTrue();
        });
    }
}
