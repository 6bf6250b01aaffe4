package dev.gemmaflink.runtime.constrain;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Subset construction from an {@link Nfa} to a trimmed {@link ByteDfa}: byte classes from the NFA's range
 * boundaries, epsilon closures as sorted state sets, then removal of the states that cannot reach acceptance (so the
 * token masks never lead into a dead end) and renumbering in breadth-first order from the start.
 */
final class DfaBuilder {

    /** Above this many DFA states a constraint is refused (the table and the per-state masks would be too large). */
    static final int MAX_STATES = 200_000;

    private final Nfa nfa;
    private final int accept;
    private final int[] classOf = new int[256];
    private final int numClasses;
    private final int[] mark;
    private int stamp;

    private DfaBuilder(Nfa nfa, int accept) {
        this.nfa = nfa;
        this.accept = accept;
        boolean[] boundary = new boolean[257];
        boundary[0] = true;
        for (int s = 0; s < nfa.size(); s++) {
            int[] e = nfa.edges(s);
            for (int i = 0; i < nfa.edgeLength(s); i += 3) {
                boundary[e[i]] = true;
                boundary[e[i + 1] + 1] = true;
            }
        }
        int c = -1;
        for (int b = 0; b < 256; b++) {
            if (boundary[b]) {
                c++;
            }
            classOf[b] = c;
        }
        this.numClasses = c + 1;
        this.mark = new int[nfa.size()];
    }

    /** @return the trimmed DFA of the language from {@code start} to {@code accept} */
    static ByteDfa build(Nfa nfa, int start, int accept) {
        return new DfaBuilder(nfa, accept).determinize(start);
    }

    private ByteDfa determinize(int start) {
        Map<Key, Integer> ids = new HashMap<>();
        ArrayDeque<int[]> work = new ArrayDeque<>();
        int[] startSet = closure(new int[] {start}, 1);
        ids.put(new Key(startSet), 0);
        work.add(startSet);
        int[] table = new int[64 * numClasses];
        boolean[] accepting = new boolean[64];
        int count = 1;
        int[][] buckets = new int[numClasses][];
        int[] bucketLen = new int[numClasses];
        int processed = 0;
        while (!work.isEmpty()) {
            int[] set = work.poll();
            int id = processed++;
            if (id >= accepting.length) {
                accepting = Arrays.copyOf(accepting, accepting.length * 2);
            }
            Arrays.fill(bucketLen, 0);
            for (int s : set) {
                if (s == accept) {
                    accepting[id] = true;
                }
                int[] e = nfa.edges(s);
                for (int i = 0; i < nfa.edgeLength(s); i += 3) {
                    for (int k = classOf[e[i]]; k <= classOf[e[i + 1]]; k++) {
                        int[] b = buckets[k];
                        if (b == null) {
                            b = buckets[k] = new int[8];
                        } else if (bucketLen[k] == b.length) {
                            b = buckets[k] = Arrays.copyOf(b, b.length * 2);
                        }
                        b[bucketLen[k]++] = e[i + 2];
                    }
                }
            }
            if ((id + 1) * numClasses > table.length) {
                table = Arrays.copyOf(table, Math.max(table.length * 2, (id + 1) * numClasses));
            }
            for (int k = 0; k < numClasses; k++) {
                if (bucketLen[k] == 0) {
                    table[id * numClasses + k] = ByteDfa.DEAD;
                    continue;
                }
                int[] target = closure(buckets[k], bucketLen[k]);
                Key key = new Key(target);
                Integer t = ids.get(key);
                if (t == null) {
                    if (count == MAX_STATES) {
                        throw new ConstraintException("the constraint compiles to more than " + MAX_STATES
                                + " automaton states: lower maxLength / maxItems or simplify the pattern");
                    }
                    t = count++;
                    ids.put(key, t);
                    work.add(target);
                }
                table[id * numClasses + k] = t;
            }
        }
        return trim(Arrays.copyOf(table, count * numClasses), Arrays.copyOf(accepting, count), count);
    }

    /** The epsilon closure of the first {@code n} states of {@code seeds}, sorted. */
    private int[] closure(int[] seeds, int n) {
        stamp++;
        int[] stack = new int[Math.max(16, n)];
        int sp = 0;
        int[] out = new int[Math.max(16, n)];
        int len = 0;
        for (int i = 0; i < n; i++) {
            int s = seeds[i];
            if (mark[s] != stamp) {
                mark[s] = stamp;
                if (sp == stack.length) {
                    stack = Arrays.copyOf(stack, sp * 2);
                }
                stack[sp++] = s;
            }
        }
        while (sp > 0) {
            int s = stack[--sp];
            if (len == out.length) {
                out = Arrays.copyOf(out, len * 2);
            }
            out[len++] = s;
            int[] e = nfa.epsilons(s);
            for (int i = 0; i < nfa.epsilonLength(s); i++) {
                int t = e[i];
                if (mark[t] != stamp) {
                    mark[t] = stamp;
                    if (sp == stack.length) {
                        stack = Arrays.copyOf(stack, sp * 2);
                    }
                    stack[sp++] = t;
                }
            }
        }
        int[] set = Arrays.copyOf(out, len);
        Arrays.sort(set);
        return set;
    }

    /** Drops the states that cannot reach acceptance, renumbers breadth-first from the start. */
    private ByteDfa trim(int[] table, boolean[] accepting, int count) {
        // Reverse reachability from the accepting states.
        int[] revCount = new int[count + 1];
        for (int s = 0; s < count; s++) {
            for (int k = 0; k < numClasses; k++) {
                int t = table[s * numClasses + k];
                if (t != ByteDfa.DEAD) {
                    revCount[t + 1]++;
                }
            }
        }
        for (int i = 0; i < count; i++) {
            revCount[i + 1] += revCount[i];
        }
        int[] rev = new int[revCount[count]];
        int[] fill = Arrays.copyOf(revCount, count);
        for (int s = 0; s < count; s++) {
            for (int k = 0; k < numClasses; k++) {
                int t = table[s * numClasses + k];
                if (t != ByteDfa.DEAD) {
                    rev[fill[t]++] = s;
                }
            }
        }
        boolean[] live = new boolean[count];
        ArrayDeque<Integer> q = new ArrayDeque<>();
        for (int s = 0; s < count; s++) {
            if (accepting[s]) {
                live[s] = true;
                q.add(s);
            }
        }
        while (!q.isEmpty()) {
            int t = q.poll();
            for (int i = revCount[t]; i < revCount[t + 1]; i++) {
                if (!live[rev[i]]) {
                    live[rev[i]] = true;
                    q.add(rev[i]);
                }
            }
        }
        if (!live[0]) {
            throw new ConstraintException("the constraint matches no output at all");
        }
        int[] newId = new int[count];
        Arrays.fill(newId, -1);
        int[] order = new int[count];
        int n = 0;
        newId[0] = n;
        order[n++] = 0;
        for (int i = 0; i < n; i++) {
            int s = order[i];
            for (int k = 0; k < numClasses; k++) {
                int t = table[s * numClasses + k];
                if (t != ByteDfa.DEAD && live[t] && newId[t] < 0) {
                    newId[t] = n;
                    order[n++] = t;
                }
            }
        }
        int[] out = new int[n * numClasses];
        boolean[] acc = new boolean[n];
        for (int i = 0; i < n; i++) {
            int s = order[i];
            acc[i] = accepting[s];
            for (int k = 0; k < numClasses; k++) {
                int t = table[s * numClasses + k];
                out[i * numClasses + k] = t != ByteDfa.DEAD && live[t] ? newId[t] : ByteDfa.DEAD;
            }
        }
        return new ByteDfa(classOf.clone(), numClasses, out, acc);
    }

    /** A state set as a hash key. */
    private static final class Key {
        private final int[] set;
        private final int hash;

        Key(int[] set) {
            this.set = set;
            this.hash = Arrays.hashCode(set);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && hash == k.hash && Arrays.equals(set, k.set);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
