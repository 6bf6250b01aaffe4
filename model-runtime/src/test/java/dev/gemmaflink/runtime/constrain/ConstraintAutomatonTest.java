package dev.gemmaflink.runtime.constrain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The byte automata of choices, regular expressions and JSON schemas, on hand-worked inputs. */
class ConstraintAutomatonTest {

    private static ByteDfa schema(String json) {
        return Constraint.jsonSchema(json).automaton();
    }

    private static ByteDfa compact(String json) {
        return Constraint.jsonSchema(json, 0).automaton();
    }

    @Test
    void choiceMatchesExactlyTheLabels() {
        ByteDfa d = Constraint.choice(List.of("cat", "catalog", "dog", "ünï")).automaton();
        assertThat(d.matches("cat")).isTrue();
        assertThat(d.matches("catalog")).isTrue();
        assertThat(d.matches("ünï")).isTrue();
        assertThat(d.matches("ca")).isFalse();
        assertThat(d.matches("cats")).isFalse();
        assertThat(d.matches("dog ")).isFalse();
        int afterCat = d.step(d.start(), bytes("cat"));
        assertThat(d.isAccepting(afterCat)).isTrue();
        assertThat(d.hasTransitions(afterCat)).isTrue(); // "catalog" may follow
        int afterDog = d.step(d.start(), bytes("dog"));
        assertThat(d.isAccepting(afterDog)).isTrue();
        assertThat(d.hasTransitions(afterDog)).isFalse(); // closed
    }

    @Test
    void choiceRejectsBadLabels() {
        assertThatThrownBy(() -> Constraint.choice(List.of())).isInstanceOf(ConstraintException.class);
        assertThatThrownBy(() -> Constraint.choice(List.of("a", "a"))).hasMessageContaining("duplicate");
        assertThatThrownBy(() -> Constraint.choice(List.of("a", ""))).hasMessageContaining("non-empty");
        assertThatThrownBy(() -> Constraint.choice(List.of("\uD800"))).hasMessageContaining("surrogate");
    }

    @Test
    void multiLabelChoiceIsAJsonArrayOfDistinctLabelsInOrder() {
        List<String> labels = List.of("billing", "a, b", "say \"hi\"", "ünï €", "back\\slash", "tab\there");
        Constraint c = Constraint.choice(labels, 2);
        ByteDfa d = c.automaton();
        assertThat(d.matches("[\"billing\"]")).isTrue();
        assertThat(d.matches("[\"billing\", \"a, b\"]")).isTrue();
        assertThat(d.matches("[\"a, b\"]")).isTrue(); // a comma inside a label is inside its quotes
        assertThat(d.matches("[\"say \\\"hi\\\"\"]")).isTrue(); // ["say \"hi\""]
        assertThat(d.matches("[\"say \\\"hi\\\"\", \"ünï €\"]")).isTrue();
        assertThat(d.matches("[\"back\\\\slash\"]")).isTrue(); // ["back\\slash"]
        assertThat(d.matches("[\"tab\\there\"]")).isTrue(); // the tab escaped as \t
        assertThat(d.matches("[\"ünï €\", \"tab\\there\"]")).isTrue(); // multi-byte UTF-8 as is
        // rejected: empty, more than 2, duplicates, out of order, unquoted, unescaped, other whitespace, unknown
        assertThat(d.matches("[]")).isFalse();
        assertThat(d.matches("[\"billing\", \"a, b\", \"ünï €\"]")).isFalse();
        assertThat(d.matches("[\"billing\", \"billing\"]")).isFalse();
        assertThat(d.matches("[\"a, b\", \"billing\"]")).isFalse();
        assertThat(d.matches("billing")).isFalse();
        assertThat(d.matches("[billing]")).isFalse();
        assertThat(d.matches("[\"say \"hi\"\"]")).isFalse();
        assertThat(d.matches("[\"tab\there\"]")).isFalse(); // a raw tab is not valid JSON
        assertThat(d.matches("[\"\\u00fcn\u00ef \u20ac\"]")).isFalse(); // one spelling per label: no \\u escapes
        assertThat(d.matches("[\"billing\",\"a, b\"]")).isFalse();
        assertThat(d.matches("[ \"billing\"]")).isFalse();
        assertThat(d.matches("[\"billing\"] ")).isFalse();
        assertThat(d.matches("[\"bill\"]")).isFalse();
        int closed = d.step(d.start(), bytes("[\"billing\"]"));
        assertThat(d.isAccepting(closed)).isTrue();
        assertThat(d.hasTransitions(closed)).isFalse(); // "]" closes the output
        // the last label can only end the array: nothing comes after it in the label order
        int last = d.step(d.start(), bytes("[\"tab\\there\""));
        assertThat(d.next(last, ',')).isEqualTo(ByteDfa.DEAD);
        assertThat(c.chosenLabels("[\"billing\", \"ünï €\"]")).containsExactly("billing", "ünï €");
        assertThat(c.chosenLabels("[\"say \\\"hi\\\"\"]")).containsExactly("say \"hi\"");
        assertThatThrownBy(() -> c.chosenLabels("[\"a, b\", \"billing\"]")).hasMessageContaining("order");
        assertThatThrownBy(() -> c.chosenLabels("billing")).hasMessageContaining("JSON array");
    }

    @Test
    void multiLabelChoiceAllowsEveryIncreasingSubsetUpToN() {
        List<String> labels = List.of("a", "b", "c", "d");
        ByteDfa three = Constraint.choice(labels, 3).automaton();
        int accepted = 0;
        for (int mask = 0; mask < 16; mask++) {
            StringBuilder s = new StringBuilder("[");
            for (int i = 0; i < 4; i++) {
                if ((mask & (1 << i)) != 0) {
                    s.append(s.length() > 1 ? ", " : "").append('"').append(labels.get(i)).append('"');
                }
            }
            String out = s.append(']').toString();
            boolean expected = Integer.bitCount(mask) >= 1 && Integer.bitCount(mask) <= 3;
            assertThat(three.matches(out)).as(out).isEqualTo(expected);
            accepted += expected ? 1 : 0;
        }
        assertThat(accepted).isEqualTo(4 + 6 + 4);
        // more than the labels allows them all; the size stays labels x N
        ByteDfa all = Constraint.choice(labels, 10).automaton();
        assertThat(all.matches("[\"a\", \"b\", \"c\", \"d\"]")).isTrue();
        ByteDfa wide = Constraint.choice(java.util.stream.IntStream.range(0, 40).mapToObj(i -> "label" + i).toList(), 4)
                .automaton();
        assertThat(wide.numStates()).isLessThan(40 * 4 * 12);
    }

    @Test
    void singleLabelChoiceIsUnchangedByMaxLabels() {
        Constraint one = Constraint.choice(List.of("x", "y"), 1);
        assertThat(one).isEqualTo(Constraint.choice(List.of("x", "y")));
        assertThat(one.maxLabels()).isEqualTo(1);
        assertThat(one.automaton().matches("x")).isTrue();
        assertThat(one.automaton().matches("[\"x\"]")).isFalse();
        assertThat(one.chosenLabels("y")).containsExactly("y");
        assertThat(Constraint.choice(List.of("x", "y"), 2)).isNotEqualTo(one);
        assertThatThrownBy(() -> Constraint.choice(List.of("x"), 0)).hasMessageContaining("maxLabels");
        assertThat(Constraint.regex("a").maxLabels()).isZero();
    }

    @Test
    void regexSubset() {
        ByteDfa id = Constraint.regex("^[A-Z]{2}-\\d{3,4}$").automaton();
        assertThat(id.matches("AB-123")).isTrue();
        assertThat(id.matches("AB-1234")).isTrue();
        assertThat(id.matches("AB-12")).isFalse();
        assertThat(id.matches("ab-123")).isFalse();
        assertThat(id.matches("AB-12345")).isFalse();
        ByteDfa alt = Constraint.regex("(?:yes|no)(, (?<why>[a-z ]+))?").automaton();
        assertThat(alt.matches("yes")).isTrue();
        assertThat(alt.matches("no, too late")).isTrue();
        assertThat(alt.matches("no,")).isFalse();
        ByteDfa esc = Constraint.regex("a\\.b\\\\c\\x41\\u00e9\\t[\\]x-]+").automaton();
        assertThat(esc.matches("a.b\\cAé\t]-x")).isTrue();
        assertThat(esc.matches("aXb\\cAé\t]")).isFalse();
        ByteDfa lazy = Constraint.regex("a+?b*?").automaton();
        assertThat(lazy.matches("aab")).isTrue();
    }

    @Test
    void regexClassesCoverMultiByteUtf8() {
        ByteDfa notA = Constraint.regex("[^a]").automaton();
        assertThat(notA.matches("b")).isTrue();
        assertThat(notA.matches("é")).isTrue(); // 2 bytes
        assertThat(notA.matches("€")).isTrue(); // 3 bytes
        assertThat(notA.matches("😀")).isTrue(); // 4 bytes
        assertThat(notA.matches("a")).isFalse();
        assertThat(notA.matches("ab")).isFalse();
        // no encoded surrogates, no overlong forms, no truncated sequences
        assertThat(notA.matches(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80})).isFalse();
        assertThat(notA.matches(new byte[] {(byte) 0xC0, (byte) 0xAF})).isFalse();
        assertThat(notA.matches(new byte[] {(byte) 0xE2, (byte) 0x82})).isFalse();
        ByteDfa dot = Constraint.regex(".{2}").automaton();
        assertThat(dot.matches("é😀")).isTrue();
        assertThat(dot.matches("a\n")).isFalse();
        ByteDfa range = Constraint.regex("[α-ω]+").automaton();
        assertThat(range.matches("λόγος".replace("ό", "ο"))).isTrue();
        assertThat(range.matches("abc")).isFalse();
        ByteDfa s = Constraint.regex("\\S\\s\\w\\W\\d\\D").automaton();
        assertThat(s.matches("é x-1z")).isTrue();
        assertThat(Constraint.regex("\\S").automaton().matches("\u00A0")).isFalse(); // ECMAScript whitespace
    }

    @Test
    void regexRefusesWhatItCannotEnforce() {
        assertThatThrownBy(() -> Constraint.regex("(a)\\1")).hasMessageContaining("backreferences");
        assertThatThrownBy(() -> Constraint.regex("a(?=b)")).hasMessageContaining("lookaround");
        assertThatThrownBy(() -> Constraint.regex("\\bword")).hasMessageContaining("word boundaries");
        assertThatThrownBy(() -> Constraint.regex("(?i)abc")).hasMessageContaining("inline flags");
        assertThatThrownBy(() -> Constraint.regex("a^b")).hasMessageContaining("'^'");
        assertThatThrownBy(() -> Constraint.regex("a$b")).hasMessageContaining("'$'");
        assertThatThrownBy(() -> Constraint.regex("a{2000}")).hasMessageContaining("1000");
        assertThatThrownBy(() -> Constraint.regex("a++")).hasMessageContaining("possessive");
        assertThatThrownBy(() -> Constraint.regex("\\p{L}")).hasMessageContaining("Unicode property");
        assertThatThrownBy(() -> Constraint.regex("(ab")).hasMessageContaining("unclosed group");
        assertThatThrownBy(() -> Constraint.regex("[ab")).hasMessageContaining("unclosed character class");
        assertThatThrownBy(() -> Constraint.regex("*a")).hasMessageContaining("nothing to repeat");
        // an empty language parses, and is refused when compiled (at submit)
        assertThatThrownBy(() -> Constraint.regex("[^\\d\\D]").automaton()).hasMessageContaining("matches no output");
    }

    @Test
    void objectKeysInOrderWithOptionalOnesAndBoundedWhitespace() {
        ByteDfa d = schema("""
                {"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"boolean"},
                 "c":{"type":"null"}},"required":["b"]}""");
        assertThat(d.matches("{\"a\":1,\"b\":true,\"c\":null}")).isTrue();
        assertThat(d.matches("{\"b\":false}")).isTrue();
        assertThat(d.matches("{\"a\":-20,\"b\":true}")).isTrue();
        assertThat(d.matches("{\"b\":true,\"c\":null}")).isTrue();
        assertThat(d.matches("{ \"a\": 1, \"b\": true }")).isTrue(); // one space at each separator
        assertThat(d.matches("{  \"b\":true}")).isFalse(); // two spaces
        assertThat(d.matches("{\n\"b\":true}")).isFalse(); // default: spaces only
        assertThat(d.matches("{\"a\":1}")).isFalse(); // b is required
        assertThat(d.matches("{\"b\":true,\"a\":1}")).isFalse(); // declaration order
        assertThat(d.matches("{,\"b\":true}")).isFalse();
        assertThat(d.matches("{\"b\":true,}")).isFalse();
        assertThat(d.matches("{\"b\":true} ")).isFalse(); // nothing after the value
        ByteDfa pretty = Constraint.jsonSchema("{\"type\":\"object\",\"properties\":{\"b\":{\"type\":\"boolean\"}}}", 4)
                .automaton();
        assertThat(pretty.matches("{\n  \"b\": true\n}")).isTrue();
        assertThat(pretty.matches("{}")).isTrue();
        assertThat(pretty.matches("{\n     \"b\": true}")).isFalse(); // five
    }

    @Test
    void stringsWithEscapesMultiByteCharactersAndLengthsInCodePoints() {
        ByteDfa d = compact("{\"type\":\"string\",\"maxLength\":3}");
        assertThat(d.matches("\"\"")).isTrue();
        assertThat(d.matches("\"abc\"")).isTrue();
        assertThat(d.matches("\"abcd\"")).isFalse();
        assertThat(d.matches("\"é😀€\"")).isTrue(); // 3 code points, 9 bytes
        assertThat(d.matches("\"é😀€a\"")).isFalse();
        assertThat(d.matches("\"\\\"\\\\\\/\"")).isTrue(); // \" \\ \/ : three characters
        assertThat(d.matches("\"\\n\\t\\u00e9\"")).isTrue();
        assertThat(d.matches("\"\\u00E9\\b\\f\"")).isTrue();
        assertThat(d.matches("\"\\ud83d\"")).isFalse(); // lone surrogate escape
        assertThat(d.matches("\"\\x41\"")).isFalse(); // not a JSON escape
        assertThat(d.matches("\"a\nb\"")).isFalse(); // raw control character
        assertThat(d.matches("\"a\"b\"")).isFalse();
        ByteDfa min = compact("{\"type\":\"string\",\"minLength\":2}");
        assertThat(min.matches("\"a\"")).isFalse();
        assertThat(min.matches("\"ab\"")).isTrue();
        assertThat(min.matches("\"" + "x".repeat(500) + "\"")).isTrue();
    }

    @Test
    void patternsMatchTheDecodedStringWhole() {
        ByteDfa d = compact("{\"type\":\"string\",\"pattern\":\"^[A-Z]{2}[0-9]{2}\\\"?$\"}");
        assertThat(d.matches("\"AB12\"")).isTrue();
        assertThat(d.matches("\"AB12\\\"\"")).isTrue(); // the quote character, escaped in JSON
        assertThat(d.matches("\"AB12\"\"")).isFalse();
        assertThat(d.matches("\"xAB12\"")).isFalse(); // whole match, not search
        ByteDfa nl = compact("{\"type\":\"string\",\"pattern\":\"a\\nb\"}");
        assertThat(nl.matches("\"a\\nb\"")).isTrue();
        assertThat(nl.matches("\"a\nb\"")).isFalse();
    }

    @Test
    void numbersWithExponentsAndIntegers() {
        ByteDfa n = compact("{\"type\":\"number\"}");
        for (String ok : List.of("0", "-0", "12", "-3.25", "1e5", "1E+5", "-0.5e-3", "6.02E23", "0.0001")) {
            assertThat(n.matches(ok)).as(ok).isTrue();
        }
        for (String bad : List.of("01", "1.", ".5", "1e", "1e+", "+1", "--1", "1e100", "1.5.2", "NaN", "Infinity")) {
            assertThat(n.matches(bad)).as(bad).isFalse();
        }
        ByteDfa i = compact("{\"type\":\"integer\"}");
        assertThat(i.matches("-42")).isTrue();
        assertThat(i.matches("123456789012345678")).isTrue(); // 18 digits
        assertThat(i.matches("1234567890123456789")).isFalse(); // 19
        assertThat(i.matches("1.0")).isFalse();
        assertThat(i.matches("1e3")).isFalse();
        assertThat(i.matches("00")).isFalse();
    }

    @Test
    void arraysEnumsAnyOfAndNesting() {
        ByteDfa a = compact("""
                {"type":"array","items":{"enum":["x",1,null,{"k":[true]}]},"minItems":1,"maxItems":3}""");
        assertThat(a.matches("[\"x\"]")).isTrue();
        assertThat(a.matches("[1,null,{\"k\":[true]}]")).isTrue();
        assertThat(a.matches("[]")).isFalse();
        assertThat(a.matches("[1,1,1,1]")).isFalse();
        assertThat(a.matches("[\"y\"]")).isFalse();
        ByteDfa open = schema("{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}");
        assertThat(open.matches("[]")).isTrue();
        assertThat(open.matches("[ ]")).isTrue();
        assertThat(open.matches("[1, 2, 3, 4, 5]")).isTrue();
        assertThat(open.matches("[1,]")).isFalse();
        ByteDfa any = compact("""
                {"anyOf":[{"type":"string","maxLength":1},{"type":"object","properties":{"n":{"type":["integer","null"]}},
                 "required":["n"]}]}""");
        assertThat(any.matches("\"q\"")).isTrue();
        assertThat(any.matches("{\"n\":null}")).isTrue();
        assertThat(any.matches("{\"n\":7}")).isTrue();
        assertThat(any.matches("{}")).isFalse();
        ByteDfa nested = compact("""
                {"type":"object","properties":{"o":{"type":"object","properties":{"p":{"type":"array",
                 "items":{"type":"object","properties":{"q":{"const":"é"}},"required":["q"]}}},"required":["p"]}},
                 "required":["o"],"additionalProperties":false}""");
        assertThat(nested.matches("{\"o\":{\"p\":[{\"q\":\"é\"},{\"q\":\"é\"}]}}")).isTrue();
        assertThat(nested.matches("{\"o\":{\"p\":[{\"q\":\"e\"}]}}")).isFalse();
    }

    @Test
    void unsupportedKeywordsAreNamedWithTheirPointer() {
        assertThatThrownBy(() -> Constraint.jsonSchema("""
                {"type":"object","properties":{"age":{"type":"integer","minimum":0}}}"""))
                .isInstanceOf(ConstraintException.class)
                .hasMessageContaining("unsupported JSON Schema keyword 'minimum'")
                .hasMessageContaining("/properties/age/minimum");
        assertThatThrownBy(() -> Constraint.jsonSchema("{\"$ref\":\"#/$defs/x\"}"))
                .hasMessageContaining("'$ref'");
        assertThatThrownBy(() -> Constraint.jsonSchema("{\"type\":\"string\",\"format\":\"email\"}"))
                .hasMessageContaining("'format'");
        assertThatThrownBy(() -> Constraint.jsonSchema("{\"oneOf\":[{\"type\":\"string\"}]}"))
                .hasMessageContaining("'oneOf'");
        assertThatThrownBy(() -> Constraint.jsonSchema("{\"type\":\"object\",\"additionalProperties\":{}}"))
                .hasMessageContaining("additionalProperties");
        assertThatThrownBy(() -> Constraint.jsonSchema("{\"type\":\"object\",\"required\":[\"x\"]}"))
                .hasMessageContaining("required property 'x'");
        assertThatThrownBy(() -> Constraint.jsonSchema("{\"type\":\"array\"}")).hasMessageContaining("no 'items'");
        assertThatThrownBy(() -> Constraint.jsonSchema("{}")).hasMessageContaining("has no type");
        assertThatThrownBy(() -> Constraint.jsonSchema("{\"type\":\"date\"}")).hasMessageContaining("'date'");
        assertThatThrownBy(() -> Constraint.jsonSchema("{\"type\":\"string\",\"pattern\":\"(a)\\\\1\"}"))
                .hasMessageContaining("/pattern").hasMessageContaining("backreferences");
        assertThatThrownBy(() -> Constraint.jsonSchema("{\"type\":\"string\",\"maxLength\":-1}"))
                .hasMessageContaining("non-negative");
        assertThatThrownBy(() -> Constraint.jsonSchema("{not json")).hasMessageContaining("not valid JSON");
        // annotations are fine
        Constraint ok = Constraint.jsonSchema("""
                {"$schema":"https://json-schema.org/draft/2020-12/schema","title":"T","description":"d",
                 "type":"boolean","examples":[true]}""");
        assertThat(ok.automaton().matches("true")).isTrue();
    }

    @Test
    void equalSchemasShareOneKey() {
        Constraint a = Constraint.jsonSchema("{ \"type\" : \"string\" }");
        Constraint b = Constraint.jsonSchema("{\"type\":\"string\"}");
        assertThat(a).isEqualTo(b);
        assertThat(a.key()).isEqualTo(b.key());
        assertThat(Constraint.jsonSchema("{\"type\":\"string\"}", 0)).isNotEqualTo(b);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
