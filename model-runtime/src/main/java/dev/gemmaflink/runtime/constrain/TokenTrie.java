package dev.gemmaflink.runtime.constrain;

import java.util.Arrays;

/**
 * A trie of the vocabulary's byte strings, laid out flat in preorder so that one forward sweep with subtree skips
 * walks it: node i has a byte label, a depth, the index just past its subtree and the token ids whose bytes end at
 * it. {@link #allowed} runs an automaton state down the trie in step with the bytes: a subtree is skipped as soon as
 * the automaton dies, and every token whose node is reached is allowed. Immutable and thread-safe; built once per
 * vocabulary.
 */
public final class TokenTrie {

    private final byte[] label; // node -> byte on the edge into it (node 0: root)
    private final int[] depth; // node -> depth (root 0)
    private final int[] skip; // node -> first node after its subtree
    private final int[] tokenStart; // node -> first index into tokens; tokenStart[n] = tokens.length
    private final int[] tokens; // token ids, grouped by node
    private final int maxDepth;
    private final int vocabSize;

    private TokenTrie(byte[] label, int[] depth, int[] skip, int[] tokenStart, int[] tokens, int maxDepth,
            int vocabSize) {
        this.label = label;
        this.depth = depth;
        this.skip = skip;
        this.tokenStart = tokenStart;
        this.tokens = tokens;
        this.maxDepth = maxDepth;
        this.vocabSize = vocabSize;
    }

    /** Builds the trie of every id with bytes. */
    public static TokenTrie build(TokenVocabulary vocab) {
        int n = 0;
        for (int id = 0; id < vocab.size(); id++) {
            if (vocab.bytes(id) != null) {
                n++;
            }
        }
        Integer[] ids = new Integer[n];
        n = 0;
        for (int id = 0; id < vocab.size(); id++) {
            if (vocab.bytes(id) != null) {
                ids[n++] = id;
            }
        }
        Arrays.sort(ids, (a, b) -> {
            int c = Arrays.compareUnsigned(vocab.bytes(a), vocab.bytes(b));
            return c != 0 ? c : Integer.compare(a, b);
        });
        int cap = 1024;
        byte[] label = new byte[cap];
        int[] depth = new int[cap];
        int[] skip = new int[cap];
        int[] path = new int[64]; // node index at each depth of the current path
        int nodes = 1; // root
        int pathLen = 1; // path[0] = root
        int maxDepth = 0;
        byte[] prev = new byte[0];
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            byte[] b = vocab.bytes(ids[i]);
            int lcp = Arrays.mismatch(prev, b);
            if (lcp < 0) {
                lcp = b.length; // same bytes as the previous token: same node
            }
            // close the nodes below the common prefix
            while (pathLen - 1 > lcp) {
                skip[path[--pathLen]] = nodes;
            }
            for (int d = lcp; d < b.length; d++) {
                if (nodes == cap) {
                    cap *= 2;
                    label = Arrays.copyOf(label, cap);
                    depth = Arrays.copyOf(depth, cap);
                    skip = Arrays.copyOf(skip, cap);
                }
                label[nodes] = b[d];
                depth[nodes] = d + 1;
                if (pathLen == path.length) {
                    path = Arrays.copyOf(path, path.length * 2);
                }
                path[pathLen++] = nodes;
                nodes++;
            }
            maxDepth = Math.max(maxDepth, b.length);
            tokens[i] = ids[i];
            prev = b;
        }
        while (pathLen > 1) {
            skip[path[--pathLen]] = nodes;
        }
        skip[0] = nodes;
        // A token ends at the node of its last byte; nodes were created in sorted order, so walking the sorted
        // list again finds each token's node, and the tokens of one node are contiguous.
        int[] start = new int[nodes + 1];
        int[] nodeOf = new int[n];
        assignNodes(vocab, ids, nodeOf);
        for (int i = 0; i < n; i++) {
            start[nodeOf[i] + 1]++;
        }
        for (int k = 0; k < nodes; k++) {
            start[k + 1] += start[k];
        }
        return new TokenTrie(Arrays.copyOf(label, nodes), Arrays.copyOf(depth, nodes), Arrays.copyOf(skip, nodes),
                start, tokens, maxDepth, vocab.size());
    }

    /** The node of each sorted token: the last node created for it, or the previous token's for equal bytes. */
    private static void assignNodes(TokenVocabulary vocab, Integer[] ids, int[] nodeOf) {
        int nodes = 1;
        byte[] prev = null;
        int prevNode = 0;
        for (int i = 0; i < ids.length; i++) {
            byte[] b = vocab.bytes(ids[i]);
            if (prev != null && Arrays.equals(prev, b)) {
                nodeOf[i] = prevNode;
                continue;
            }
            int lcp = prev == null ? 0 : Arrays.mismatch(prev, b);
            nodes += b.length - lcp;
            prevNode = nodes - 1;
            nodeOf[i] = prevNode;
            prev = b;
        }
    }

    /** Number of trie nodes (root included). */
    public int numNodes() {
        return label.length;
    }

    /** The longest token in bytes. */
    public int maxTokenBytes() {
        return maxDepth;
    }

    /** Ids in the vocabulary (allowed ids are below it). */
    public int vocabSize() {
        return vocabSize;
    }

    /**
     * Sets the bit of every token whose bytes lead from {@code state} of {@code dfa} to a live state.
     *
     * @param bits a bitset over the vocabulary ({@code ceil(vocabSize / 64)} longs), bits are only set
     */
    void allowed(ByteDfa dfa, int state, long[] bits) {
        int[] states = new int[maxDepth + 1];
        states[0] = state;
        int[] next = dfa.next;
        int[] classOf = dfa.classOf;
        int nc = dfa.numClasses;
        byte[] label = this.label;
        int[] depth = this.depth;
        int[] skip = this.skip;
        int[] tokenStart = this.tokenStart;
        int[] tokens = this.tokens;
        int n = label.length;
        int i = 1;
        while (i < n) {
            int d = depth[i];
            int s = next[states[d - 1] * nc + classOf[label[i] & 0xFF]];
            if (s < 0) {
                i = skip[i];
                continue;
            }
            states[d] = s;
            for (int t = tokenStart[i], end = tokenStart[i + 1]; t < end; t++) {
                int id = tokens[t];
                bits[id >>> 6] |= 1L << id;
            }
            i++;
        }
    }
}
