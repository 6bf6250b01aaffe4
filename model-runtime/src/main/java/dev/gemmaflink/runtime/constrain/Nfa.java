package dev.gemmaflink.runtime.constrain;

import java.util.Arrays;
import java.util.List;

/**
 * A nondeterministic automaton over bytes under construction: states, epsilon moves and byte-range moves. The
 * compilers add the language of a piece "between two states" ({@code from}, {@code to}), so a fragment can be reached
 * from several places without being copied (the object compiler's "any property emitted yet" states rely on it).
 * {@link DfaBuilder} turns it into a {@link ByteDfa}.
 */
final class Nfa {

    /** Above this many states a constraint is refused rather than compiled (memory and compile time). */
    static final int MAX_STATES = 2_000_000;

    private int[][] edges = new int[256][]; // per state: lo, hi, target triples
    private int[] edgeLen = new int[256];
    private int[][] eps = new int[256][];
    private int[] epsLen = new int[256];
    private int size;

    int newState() {
        if (size == MAX_STATES) {
            throw new ConstraintException("the constraint needs more than " + MAX_STATES + " automaton states: lower "
                    + "maxLength / maxItems or simplify the pattern");
        }
        if (size == edges.length) {
            int n = size * 2;
            edges = Arrays.copyOf(edges, n);
            edgeLen = Arrays.copyOf(edgeLen, n);
            eps = Arrays.copyOf(eps, n);
            epsLen = Arrays.copyOf(epsLen, n);
        }
        return size++;
    }

    int size() {
        return size;
    }

    void epsilon(int from, int to) {
        int[] e = eps[from];
        if (e == null) {
            e = eps[from] = new int[2];
        } else if (epsLen[from] == e.length) {
            e = eps[from] = Arrays.copyOf(e, e.length * 2);
        }
        e[epsLen[from]++] = to;
    }

    /** A move on any byte in {@code lo..hi}. */
    void range(int from, int lo, int hi, int to) {
        int[] e = edges[from];
        if (e == null) {
            e = edges[from] = new int[6];
        } else if (edgeLen[from] + 3 > e.length) {
            e = edges[from] = Arrays.copyOf(e, e.length * 2);
        }
        int n = edgeLen[from];
        e[n] = lo;
        e[n + 1] = hi;
        e[n + 2] = to;
        edgeLen[from] = n + 3;
    }

    void bytes(int from, byte[] literal, int to) {
        if (literal.length == 0) {
            epsilon(from, to);
            return;
        }
        int at = from;
        for (int i = 0; i < literal.length; i++) {
            int next = i == literal.length - 1 ? to : newState();
            int b = literal[i] & 0xFF;
            range(at, b, b, next);
            at = next;
        }
    }

    /** The UTF-8 encodings of the code points in {@code set} (surrogates excluded). */
    void utf8(int from, CodePointSet set, int to) {
        for (int r = 0; r < set.numRanges(); r++) {
            for (int[] seq : Utf8Ranges.sequences(set.lo(r), set.hi(r))) {
                sequence(from, seq, to);
            }
        }
    }

    /** One sequence of byte ranges {@code {lo0, hi0, lo1, hi1, ...}}. */
    void sequence(int from, int[] seq, int to) {
        int at = from;
        for (int i = 0; i < seq.length; i += 2) {
            int next = i == seq.length - 2 ? to : newState();
            range(at, seq[i], seq[i + 1], next);
            at = next;
        }
    }

    /** Any one of {@code alternatives}, each a literal. */
    void anyOf(int from, List<byte[]> alternatives, int to) {
        for (byte[] a : alternatives) {
            bytes(from, a, to);
        }
    }

    int[] edges(int state) {
        return edges[state];
    }

    int edgeLength(int state) {
        return edgeLen[state];
    }

    int[] epsilons(int state) {
        return eps[state];
    }

    int epsilonLength(int state) {
        return epsLen[state];
    }
}
