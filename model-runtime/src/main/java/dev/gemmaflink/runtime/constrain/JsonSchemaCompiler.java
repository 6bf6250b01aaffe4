package dev.gemmaflink.runtime.constrain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Adds the JSON texts that a {@link SchemaNode} accepts to an {@link Nfa}: compact JSON whose separators may carry a
 * bounded run of whitespace, keys in declaration order, strings as valid JSON (raw UTF-8 or escapes; no lone
 * surrogate escapes), numbers with bounded digit counts.
 *
 * <p>Whitespace: at each place JSON allows it (after {@code {} and {@code [}, around {@code :} and {@code ,}, before
 * {@code }} and {@code ]}) a run of at most {@code maxWhitespace} bytes: a single space when
 * {@code maxWhitespace} is 1 (the default), otherwise any of space, tab, line feed and carriage return.
 */
final class JsonSchemaCompiler {

    /** Integers have at most this many digits (they fit a signed 64-bit value). */
    static final int MAX_INTEGER_DIGITS = 18;
    /** Numbers: digits before the point. */
    static final int MAX_NUMBER_INT_DIGITS = 16;
    /** Numbers: digits after the point. */
    static final int MAX_FRACTION_DIGITS = 16;
    /** Numbers: exponent digits (|exponent| < 100, so every value is a finite double). */
    static final int MAX_EXPONENT_DIGITS = 2;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final CodePointSet STRING_RAW = CodePointSet.range(0x20, CodePointSet.MAX)
            .minus(CodePointSet.ofRanges('"', '"', '\\', '\\'));

    private final Nfa nfa;
    private final int maxWhitespace;
    private final RegexCompiler patterns;

    JsonSchemaCompiler(Nfa nfa, int maxWhitespace) {
        this.nfa = nfa;
        this.maxWhitespace = maxWhitespace;
        this.patterns = new RegexCompiler(nfa, RegexCompiler.Mode.JSON_STRING);
    }

    void emit(SchemaNode node, int from, int to) {
        if (node instanceof SchemaNode.ObjectSchema o) {
            object(o.properties(), from, to);
        } else if (node instanceof SchemaNode.StringSchema s) {
            string(s, from, to);
        } else if (node instanceof SchemaNode.IntegerSchema) {
            integer(from, to);
        } else if (node instanceof SchemaNode.NumberSchema) {
            number(from, to);
        } else if (node instanceof SchemaNode.BooleanSchema) {
            nfa.bytes(from, ascii("true"), to);
            nfa.bytes(from, ascii("false"), to);
        } else if (node instanceof SchemaNode.NullSchema) {
            nfa.bytes(from, ascii("null"), to);
        } else if (node instanceof SchemaNode.EnumSchema e) {
            for (String v : e.values()) {
                nfa.bytes(from, v.getBytes(StandardCharsets.UTF_8), to);
            }
        } else if (node instanceof SchemaNode.ArraySchema a) {
            array(a, from, to);
        } else if (node instanceof SchemaNode.AnyOfSchema a) {
            for (SchemaNode option : a.options()) {
                int s = nfa.newState();
                nfa.epsilon(from, s);
                emit(option, s, to);
            }
        } else {
            throw new IllegalStateException("unknown schema node " + node);
        }
    }

    /** A run of at most {@code maxWhitespace} whitespace bytes. */
    private void ws(int from, int to) {
        nfa.epsilon(from, to);
        int at = from;
        for (int i = 0; i < maxWhitespace; i++) {
            int next = nfa.newState();
            if (maxWhitespace == 1) {
                nfa.range(at, ' ', ' ', next);
            } else {
                nfa.range(at, ' ', ' ', next);
                nfa.range(at, '\t', '\n', next);
                nfa.range(at, '\r', '\r', next);
            }
            nfa.epsilon(next, to);
            at = next;
        }
    }

    /** ws, a literal, ws. */
    private void punct(int from, String literal, int to) {
        int a = nfa.newState();
        int b = nfa.newState();
        ws(from, a);
        nfa.bytes(a, ascii(literal), b);
        ws(b, to);
    }

    /**
     * {@code {} ws, the properties in order, ws {@code }}. State {@code at[i][f]} stands before property i with
     * {@code f} = 1 while no property was written yet (so the next one takes no comma); an optional property may be
     * skipped from either.
     */
    private void object(List<SchemaNode.Property> props, int from, int to) {
        int n = props.size();
        int[][] at = new int[n + 1][2];
        for (int[] row : at) {
            row[0] = -1;
            row[1] = -1;
        }
        int open = nfa.newState();
        nfa.bytes(from, ascii("{"), open);
        at[0][1] = nfa.newState();
        ws(open, at[0][1]);
        for (int i = 0; i < n; i++) {
            SchemaNode.Property p = props.get(i);
            for (int first = 1; first >= 0; first--) {
                int s = at[i][first];
                if (s < 0) {
                    continue;
                }
                int keyStart = s;
                if (first == 0) {
                    keyStart = nfa.newState();
                    punct(s, ",", keyStart);
                }
                int value = nfa.newState();
                int afterKey = nfa.newState();
                nfa.bytes(keyStart, quote(p.name()), afterKey);
                punct(afterKey, ":", value);
                emit(p.schema(), value, state(at, i + 1, 0));
                if (!p.required()) {
                    nfa.epsilon(s, state(at, i + 1, first));
                }
            }
        }
        int close = nfa.newState();
        if (at[n][1] >= 0) {
            nfa.epsilon(at[n][1], close); // empty object: the whitespace after '{' was already allowed
        }
        if (at[n][0] >= 0) {
            ws(at[n][0], close);
        }
        nfa.bytes(close, ascii("}"), to);
    }

    private int state(int[][] at, int i, int first) {
        if (at[i][first] < 0) {
            at[i][first] = nfa.newState();
        }
        return at[i][first];
    }

    /** {@code [} ws, items separated by ws {@code ,} ws, ws {@code ]}. */
    private void array(SchemaNode.ArraySchema a, int from, int to) {
        int open = nfa.newState();
        nfa.bytes(from, ascii("["), open);
        int first = nfa.newState();
        ws(open, first);
        int close = nfa.newState();
        int min = a.minItems();
        int max = a.maxItems();
        if (min == 0) {
            nfa.epsilon(first, close);
        }
        if (max != 0) {
            int at = first;
            int count = 0;
            int bound = max < 0 ? Math.max(min, 1) : max; // items written before the loop (unbounded) or in all
            while (count < bound) {
                int start = at;
                if (count > 0) {
                    start = nfa.newState();
                    punct(at, ",", start);
                }
                int end = nfa.newState();
                emit(a.items(), start, end);
                count++;
                at = end;
                if (count >= min) {
                    int w = nfa.newState();
                    ws(at, w);
                    nfa.epsilon(w, close);
                }
            }
            if (max < 0) {
                int loopStart = nfa.newState();
                punct(at, ",", loopStart);
                emit(a.items(), loopStart, at);
            }
        }
        nfa.bytes(close, ascii("]"), to);
    }

    private void string(SchemaNode.StringSchema s, int from, int to) {
        int open = nfa.newState();
        int close = nfa.newState();
        nfa.bytes(from, ascii("\""), open);
        nfa.bytes(close, ascii("\""), to);
        if (s.pattern() != null) {
            patterns.emit(s.pattern(), open, close);
            return;
        }
        int at = open;
        int max = s.maxLength();
        int upTo = max < 0 ? s.minLength() : max;
        for (int i = 0; i < upTo; i++) {
            if (i >= s.minLength()) {
                nfa.epsilon(at, close);
            }
            int next = nfa.newState();
            stringChar(at, next);
            at = next;
        }
        if (max < 0) {
            int loop = nfa.newState();
            nfa.epsilon(at, loop);
            int body = nfa.newState();
            stringChar(loop, body);
            nfa.epsilon(body, loop);
            nfa.epsilon(loop, close);
        } else {
            nfa.epsilon(at, close);
        }
    }

    /** One character of a JSON string: raw UTF-8 other than {@code "}, {@code \} and controls, or an escape. */
    private void stringChar(int from, int to) {
        nfa.utf8(from, STRING_RAW, to);
        int bs = nfa.newState();
        nfa.range(from, '\\', '\\', bs);
        for (char c : new char[] {'"', '\\', '/', 'b', 'f', 'n', 'r', 't'}) {
            nfa.range(bs, c, c, to);
        }
        // backslash u and four hex digits, no surrogate (D800-DFFF): a lone one is not a character
        int u = nfa.newState();
        nfa.range(bs, 'u', 'u', u);
        int h1 = nfa.newState();
        int h1d = nfa.newState();
        hexNotD(u, h1);
        nfa.range(u, 'd', 'd', h1d);
        nfa.range(u, 'D', 'D', h1d);
        int h2 = nfa.newState();
        hex(h1, h2);
        nfa.range(h1d, '0', '7', h2);
        int h3 = nfa.newState();
        hex(h2, h3);
        hex(h3, to);
    }

    private void hex(int from, int to) {
        nfa.range(from, '0', '9', to);
        nfa.range(from, 'a', 'f', to);
        nfa.range(from, 'A', 'F', to);
    }

    /** A hex digit other than d/D. */
    private void hexNotD(int from, int to) {
        nfa.range(from, '0', '9', to);
        nfa.range(from, 'a', 'c', to);
        nfa.range(from, 'e', 'f', to);
        nfa.range(from, 'A', 'C', to);
        nfa.range(from, 'E', 'F', to);
    }

    /** {@code -?(0|[1-9][0-9]{0,17})}. */
    private void integer(int from, int to) {
        int sign = nfa.newState();
        nfa.epsilon(from, sign);
        nfa.range(from, '-', '-', sign);
        digitsInt(sign, to, MAX_INTEGER_DIGITS);
    }

    /** {@code 0|[1-9][0-9]{0,maxDigits-1}}. */
    private void digitsInt(int from, int to, int maxDigits) {
        nfa.range(from, '0', '0', to);
        int at = nfa.newState();
        nfa.range(from, '1', '9', at);
        for (int i = 1; i < maxDigits; i++) {
            nfa.epsilon(at, to);
            int next = nfa.newState();
            nfa.range(at, '0', '9', next);
            at = next;
        }
        nfa.epsilon(at, to);
    }

    /** {@code [0-9]{1,max}}. */
    private void digits(int from, int to, int max) {
        int at = nfa.newState();
        nfa.range(from, '0', '9', at);
        for (int i = 1; i < max; i++) {
            nfa.epsilon(at, to);
            int next = nfa.newState();
            nfa.range(at, '0', '9', next);
            at = next;
        }
        nfa.epsilon(at, to);
    }

    /** Integer part, optional {@code .digits}, optional {@code e[+-]?digits}. */
    private void number(int from, int to) {
        int sign = nfa.newState();
        nfa.epsilon(from, sign);
        nfa.range(from, '-', '-', sign);
        int intPart = nfa.newState();
        digitsInt(sign, intPart, MAX_NUMBER_INT_DIGITS);
        int frac = nfa.newState();
        nfa.epsilon(intPart, frac);
        int dot = nfa.newState();
        nfa.range(intPart, '.', '.', dot);
        digits(dot, frac, MAX_FRACTION_DIGITS);
        nfa.epsilon(frac, to);
        int e = nfa.newState();
        nfa.range(frac, 'e', 'e', e);
        nfa.range(frac, 'E', 'E', e);
        int expSign = nfa.newState();
        nfa.epsilon(e, expSign);
        nfa.range(e, '+', '+', expSign);
        nfa.range(e, '-', '-', expSign);
        digits(expSign, to, MAX_EXPONENT_DIGITS);
    }

    /** A JSON string literal of {@code s}, quotes included. */
    static byte[] quote(String s) {
        try {
            return JSON.writeValueAsString(s).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
