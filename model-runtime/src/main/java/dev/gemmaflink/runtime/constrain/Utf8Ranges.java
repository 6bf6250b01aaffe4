package dev.gemmaflink.runtime.constrain;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Splits a range of code points into sequences of byte ranges that match exactly the UTF-8 encodings of its scalar
 * values (surrogates U+D800..U+DFFF are left out: they have no UTF-8 form), as RE2 and Rust's regex-syntax do. Each
 * sequence is 1 to 4 byte ranges {@code [lo, hi]}; e.g. U+0080..U+07FF is the one sequence {@code [C2-DF][80-BF]}.
 */
final class Utf8Ranges {

    private Utf8Ranges() {
    }

    /** @return the sequences, each {@code {lo0, hi0, lo1, hi1, ...}} over bytes 0..255 */
    static List<int[]> sequences(int start, int end) {
        List<int[]> out = new ArrayList<>();
        Deque<int[]> stack = new ArrayDeque<>();
        stack.push(new int[] {start, end});
        outer:
        while (!stack.isEmpty()) {
            int[] r = stack.pop();
            int s = r[0];
            int e = r[1];
            while (true) {
                if (s <= 0xDFFF && e >= 0xD800) { // overlaps the surrogates
                    if (s < 0xD800 && e > 0xDFFF) {
                        stack.push(new int[] {0xE000, e});
                        e = 0xD7FF;
                    } else if (s < 0xD800) {
                        e = 0xD7FF;
                    } else if (e > 0xDFFF) {
                        s = 0xE000;
                    } else {
                        continue outer;
                    }
                }
                if (s > e) {
                    continue outer;
                }
                boolean split = false;
                for (int max : new int[] {0x7F, 0x7FF, 0xFFFF}) {
                    if (s <= max && max < e) {
                        stack.push(new int[] {max + 1, e});
                        e = max;
                        split = true;
                        break;
                    }
                }
                if (split) {
                    continue;
                }
                if (e <= 0x7F) {
                    out.add(new int[] {s, e});
                    continue outer;
                }
                for (int i = 1; i < 4; i++) {
                    int m = (1 << (6 * i)) - 1;
                    if ((s & ~m) != (e & ~m)) {
                        if ((s & m) != 0) {
                            stack.push(new int[] {(s | m) + 1, e});
                            e = s | m;
                            split = true;
                            break;
                        }
                        if ((e & m) != m) {
                            stack.push(new int[] {e & ~m, e});
                            e = (e & ~m) - 1;
                            split = true;
                            break;
                        }
                    }
                }
                if (split) {
                    continue;
                }
                int[] bs = encode(s);
                int[] be = encode(e);
                int[] seq = new int[bs.length * 2];
                for (int i = 0; i < bs.length; i++) {
                    seq[2 * i] = bs[i];
                    seq[2 * i + 1] = be[i];
                }
                out.add(seq);
                continue outer;
            }
        }
        return out;
    }

    /** The UTF-8 bytes of one scalar value. */
    static int[] encode(int cp) {
        if (cp < 0x80) {
            return new int[] {cp};
        }
        if (cp < 0x800) {
            return new int[] {0xC0 | (cp >> 6), 0x80 | (cp & 0x3F)};
        }
        if (cp < 0x10000) {
            return new int[] {0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)};
        }
        return new int[] {0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)};
    }
}
