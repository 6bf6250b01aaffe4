package dev.gemmaflink.runtime.constrain;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses the regular-expression subset that constraints support; the whole output must match (as if the pattern
 * were anchored at both ends, so {@code ^} and {@code $} are allowed only there).
 *
 * <p>Supported: literals, {@code .}, classes {@code [a-z]} / {@code [^...]}, {@code \d \D \w \W \s \S}, escapes
 * {@code \t \n \r \f \v \0 \xHH \\uHHHH} and escaped punctuation, groups {@code (...)}, {@code (?:...)},
 * {@code (?<name>...)}, alternation, and the quantifiers {@code * + ? {n} {n,} {n,m}} (a lazy {@code ?} suffix is
 * accepted: it matches the same strings). Character classes are defined so that a match satisfies both Java's and
 * ECMAScript's reading of them: {@code \d}, {@code \w} and {@code \s} are ASCII; {@code \S} and {@code .} exclude
 * every character either reads as whitespace or a line end.
 *
 * <p>Refused, with the construct and its offset named: backreferences, lookaround, word boundaries, inline flags,
 * possessive quantifiers, Unicode property classes, {@code ^}/{@code $} inside the pattern, repetition counts over
 * {@value #MAX_REPEAT}.
 */
final class RegexParser {

    static final int MAX_REPEAT = 1000;

    static final CodePointSet DIGIT = CodePointSet.range('0', '9');
    static final CodePointSet WORD = CodePointSet.ofRanges('0', '9', 'A', 'Z', 'a', 'z', '_', '_');
    static final CodePointSet SPACE_ASCII = CodePointSet.ofRanges(' ', ' ', '\t', '\r', 0x0B, 0x0C);
    /** Whitespace in ECMAScript's reading (a superset of Java's default one). */
    static final CodePointSet SPACE_ANY = SPACE_ASCII.union(CodePointSet.ofRanges(0xA0, 0xA0, 0x1680, 0x1680,
            0x2000, 0x200A, 0x2028, 0x2029, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000, 0xFEFF, 0xFEFF, 0x85, 0x85));
    /** {@code .}: anything but a line end in Java's or ECMAScript's reading. */
    static final CodePointSet DOT = CodePointSet.ofRanges('\n', '\n', '\r', '\r', 0x85, 0x85, 0x2028, 0x2029)
            .complement();

    private final String pattern;
    private final int[] cps;
    private int pos;
    private int depth;

    private RegexParser(String pattern) {
        this.pattern = pattern;
        this.cps = pattern.codePoints().toArray();
    }

    /** @throws ConstraintException naming the unsupported construct and its offset */
    static RegexNode parse(String pattern) {
        RegexParser p = new RegexParser(pattern);
        RegexNode n = p.alternation(true);
        if (p.pos < p.cps.length) {
            throw p.error("unbalanced ')'");
        }
        return n;
    }

    private RegexNode alternation(boolean top) {
        List<RegexNode> alts = new ArrayList<>();
        alts.add(concat(top));
        while (pos < cps.length && cps[pos] == '|') {
            pos++;
            alts.add(concat(top));
        }
        return alts.size() == 1 ? alts.get(0) : new RegexNode.Alt(alts);
    }

    private RegexNode concat(boolean top) {
        List<RegexNode> parts = new ArrayList<>();
        boolean start = true;
        while (pos < cps.length && cps[pos] != '|' && cps[pos] != ')') {
            int c = cps[pos];
            if (c == '^') {
                if (!(top && start)) {
                    throw error("'^' is supported only at the start (the whole output must match)");
                }
                pos++;
                continue;
            }
            if (c == '$') {
                pos++;
                if (!(top && (pos == cps.length || cps[pos] == '|'))) {
                    throw error("'$' is supported only at the end (the whole output must match)");
                }
                continue;
            }
            start = false;
            parts.add(repeat(atom()));
        }
        return parts.size() == 1 ? parts.get(0) : new RegexNode.Concat(parts);
    }

    private RegexNode repeat(RegexNode atom) {
        RegexNode n = atom;
        while (pos < cps.length) {
            int c = cps[pos];
            int min;
            int max;
            if (c == '*') {
                min = 0;
                max = -1;
                pos++;
            } else if (c == '+') {
                min = 1;
                max = -1;
                pos++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                pos++;
            } else if (c == '{' && isCountedRepeat()) {
                pos++;
                min = number();
                max = min;
                if (cps[pos] == ',') {
                    pos++;
                    max = cps[pos] == '}' ? -1 : number();
                }
                pos++; // '}'
                if (max >= 0 && max < min) {
                    throw error("repetition {" + min + "," + max + "} has max < min");
                }
                if (min > MAX_REPEAT || max > MAX_REPEAT) {
                    throw error("repetition counts above " + MAX_REPEAT + " are not supported");
                }
            } else {
                return n;
            }
            if (pos < cps.length && cps[pos] == '+') {
                throw error("possessive quantifiers are not supported");
            }
            if (pos < cps.length && cps[pos] == '?') {
                pos++; // lazy: same language
            }
            n = new RegexNode.Repeat(n, min, max);
        }
        return n;
    }

    private boolean isCountedRepeat() {
        int i = pos + 1;
        int digits = 0;
        while (i < cps.length && Character.isDigit(cps[i]) && cps[i] < 128) {
            i++;
            digits++;
        }
        if (digits == 0 || i >= cps.length) {
            return false;
        }
        if (cps[i] == '}') {
            return true;
        }
        if (cps[i] != ',') {
            return false;
        }
        i++;
        while (i < cps.length && Character.isDigit(cps[i]) && cps[i] < 128) {
            i++;
        }
        return i < cps.length && cps[i] == '}';
    }

    private int number() {
        long v = 0;
        while (pos < cps.length && cps[pos] >= '0' && cps[pos] <= '9') {
            v = Math.min(Integer.MAX_VALUE, v * 10 + (cps[pos++] - '0'));
        }
        return (int) v;
    }

    private RegexNode atom() {
        int c = cps[pos];
        switch (c) {
            case '(':
                return group();
            case '[':
                return new RegexNode.Chars(charClass());
            case '.':
                pos++;
                return new RegexNode.Chars(DOT);
            case '\\':
                return new RegexNode.Chars(escape(false));
            case '*':
            case '+':
            case '?':
                throw error("'" + Character.toString(c) + "' has nothing to repeat");
            case '{':
                if (isCountedRepeat()) {
                    throw error("'{' has nothing to repeat");
                }
                pos++;
                return new RegexNode.Chars(CodePointSet.of('{'));
            default:
                pos++;
                return new RegexNode.Chars(CodePointSet.of(c));
        }
    }

    private RegexNode group() {
        int open = pos;
        pos++;
        if (pos < cps.length && cps[pos] == '?') {
            String rest = pattern.substring(pattern.offsetByCodePoints(0, pos));
            if (rest.startsWith("?:")) {
                pos += 2;
            } else if (rest.startsWith("?=") || rest.startsWith("?!") || rest.startsWith("?<=")
                    || rest.startsWith("?<!")) {
                throw error("lookaround assertions are not supported");
            } else if (rest.startsWith("?<") || rest.startsWith("?P<")) {
                int close = rest.indexOf('>');
                if (close < 0) {
                    throw error("unterminated group name");
                }
                pos += rest.codePointCount(0, close + 1);
            } else {
                throw error("inline flags and special groups '(?' are not supported");
            }
        }
        depth++;
        RegexNode inner = alternation(false);
        depth--;
        if (pos >= cps.length || cps[pos] != ')') {
            pos = open;
            throw error("unclosed group '('");
        }
        pos++;
        return inner;
    }

    private CodePointSet charClass() {
        int open = pos;
        pos++;
        boolean negate = false;
        if (pos < cps.length && cps[pos] == '^') {
            negate = true;
            pos++;
        }
        CodePointSet set = CodePointSet.EMPTY;
        boolean first = true;
        while (true) {
            if (pos >= cps.length) {
                pos = open;
                throw error("unclosed character class '['");
            }
            int c = cps[pos];
            if (c == ']' && !first) {
                pos++;
                break;
            }
            first = false;
            int lo;
            if (c == '\\') {
                CodePointSet e = escape(true);
                if (e.numRanges() != 1 || e.lo(0) != e.hi(0)) {
                    set = set.union(e); // \d, \w, \s, ...: no range from it
                    continue;
                }
                lo = e.lo(0);
            } else if (c == '[' && pos + 1 < cps.length && (cps[pos + 1] == ':' || cps[pos + 1] == '=')) {
                throw error("POSIX classes '[:...:]' are not supported");
            } else {
                lo = c;
                pos++;
            }
            int hi = lo;
            if (pos + 1 < cps.length && cps[pos] == '-' && cps[pos + 1] != ']') {
                pos++;
                if (cps[pos] == '\\') {
                    CodePointSet e = escape(true);
                    if (e.numRanges() != 1 || e.lo(0) != e.hi(0)) {
                        throw error("a class escape cannot end a range");
                    }
                    hi = e.lo(0);
                } else {
                    hi = cps[pos++];
                }
                if (hi < lo) {
                    throw error("range out of order in character class");
                }
            }
            set = set.union(CodePointSet.range(lo, hi));
        }
        return negate ? set.complement() : set;
    }

    /** An escape at {@code pos} (the backslash); in a class {@code \b} is backspace. */
    private CodePointSet escape(boolean inClass) {
        pos++;
        if (pos >= cps.length) {
            throw error("trailing backslash");
        }
        int c = cps[pos++];
        switch (c) {
            case 'd': return DIGIT;
            case 'D': return DIGIT.complement();
            case 'w': return WORD;
            case 'W': return WORD.complement();
            case 's': return SPACE_ASCII;
            case 'S': return SPACE_ANY.complement();
            case 't': return CodePointSet.of('\t');
            case 'n': return CodePointSet.of('\n');
            case 'r': return CodePointSet.of('\r');
            case 'f': return CodePointSet.of('\f');
            case 'v': return CodePointSet.of(0x0B);
            case '0': return CodePointSet.of(0);
            case 'x': return CodePointSet.of(hex(2));
            case 'u': {
                int cp = hex(4);
                if (cp >= 0xD800 && cp <= 0xDFFF) {
                    throw error("surrogate escapes are not supported (write the character itself)");
                }
                return CodePointSet.of(cp);
            }
            case 'b':
                if (inClass) {
                    return CodePointSet.of(0x08);
                }
                throw error("word boundaries '\\b' are not supported");
            case 'B': throw error("word boundaries '\\B' are not supported");
            case 'p':
            case 'P': throw error("Unicode property classes '\\" + Character.toString(c) + "{...}' are not supported");
            case 'k': throw error("named backreferences are not supported");
            case 'c': throw error("control escapes '\\c' are not supported");
            default:
                if (c >= '1' && c <= '9') {
                    throw error("backreferences are not supported");
                }
                if (Character.isLetterOrDigit(c)) {
                    throw error("unknown escape '\\" + Character.toString(c) + "'");
                }
                return CodePointSet.of(c);
        }
    }

    private int hex(int digits) {
        int v = 0;
        for (int i = 0; i < digits; i++) {
            int d = pos < cps.length ? Character.digit(cps[pos], 16) : -1;
            if (d < 0) {
                throw error("expected " + digits + " hex digits");
            }
            v = v * 16 + d;
            pos++;
        }
        return v;
    }

    private ConstraintException error(String what) {
        return new ConstraintException("regular expression /" + pattern + "/ at offset " + Math.min(pos, cps.length)
                + ": " + what);
    }
}
