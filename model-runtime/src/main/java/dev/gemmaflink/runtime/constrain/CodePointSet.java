package dev.gemmaflink.runtime.constrain;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** An immutable set of Unicode code points as sorted, disjoint, non-adjacent ranges (regex character classes). */
final class CodePointSet {

    static final int MAX = 0x10FFFF;
    static final CodePointSet EMPTY = new CodePointSet(new int[0]);
    static final CodePointSet ALL = range(0, MAX);

    /** lo0, hi0, lo1, hi1, ... (inclusive). */
    private final int[] ranges;

    private CodePointSet(int[] ranges) {
        this.ranges = ranges;
    }

    static CodePointSet of(int codePoint) {
        return range(codePoint, codePoint);
    }

    static CodePointSet range(int lo, int hi) {
        if (lo < 0 || hi > MAX || lo > hi) {
            throw new IllegalArgumentException("bad code point range " + lo + ".." + hi);
        }
        return new CodePointSet(new int[] {lo, hi});
    }

    /** A set from unsorted, possibly overlapping ranges (lo, hi pairs). */
    static CodePointSet ofRanges(int... pairs) {
        CodePointSet s = EMPTY;
        for (int i = 0; i < pairs.length; i += 2) {
            s = s.union(range(pairs[i], pairs[i + 1]));
        }
        return s;
    }

    CodePointSet union(CodePointSet o) {
        int n = ranges.length / 2 + o.ranges.length / 2;
        long[] all = new long[n];
        int k = 0;
        for (int i = 0; i < ranges.length; i += 2) {
            all[k++] = ((long) ranges[i] << 32) | ranges[i + 1];
        }
        for (int i = 0; i < o.ranges.length; i += 2) {
            all[k++] = ((long) o.ranges[i] << 32) | o.ranges[i + 1];
        }
        Arrays.sort(all);
        List<int[]> merged = new ArrayList<>();
        for (long r : all) {
            int lo = (int) (r >>> 32);
            int hi = (int) r;
            int[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (last != null && lo <= last[1] + 1) {
                last[1] = Math.max(last[1], hi);
            } else {
                merged.add(new int[] {lo, hi});
            }
        }
        int[] out = new int[merged.size() * 2];
        for (int i = 0; i < merged.size(); i++) {
            out[2 * i] = merged.get(i)[0];
            out[2 * i + 1] = merged.get(i)[1];
        }
        return new CodePointSet(out);
    }

    /** Every code point (0..U+10FFFF) not in this set. */
    CodePointSet complement() {
        List<Integer> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < ranges.length; i += 2) {
            if (ranges[i] > next) {
                out.add(next);
                out.add(ranges[i] - 1);
            }
            next = ranges[i + 1] + 1;
        }
        if (next <= MAX) {
            out.add(next);
            out.add(MAX);
        }
        return new CodePointSet(out.stream().mapToInt(Integer::intValue).toArray());
    }

    CodePointSet minus(CodePointSet o) {
        return complement().union(o).complement();
    }

    CodePointSet intersect(CodePointSet o) {
        return complement().union(o.complement()).complement();
    }

    boolean contains(int cp) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (cp >= ranges[i] && cp <= ranges[i + 1]) {
                return true;
            }
        }
        return false;
    }

    boolean isEmpty() {
        return ranges.length == 0;
    }

    int numRanges() {
        return ranges.length / 2;
    }

    int lo(int i) {
        return ranges[2 * i];
    }

    int hi(int i) {
        return ranges[2 * i + 1];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CodePointSet s && Arrays.equals(ranges, s.ranges);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ranges);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < ranges.length; i += 2) {
            b.append(String.format("%X-%X ", ranges[i], ranges[i + 1]));
        }
        return b.append(']').toString();
    }
}
