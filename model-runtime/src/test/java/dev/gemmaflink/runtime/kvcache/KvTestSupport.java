package dev.gemmaflink.runtime.kvcache;

import dev.gemmaflink.runtime.config.LayerType;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/** Small helpers shared by the KV cache tests. */
final class KvTestSupport {

    static final String MODEL = "gemma-3-test";

    private KvTestSupport() {
    }

    /** One full-attention layer, K/V of one element of one byte: bytes per block = 2 * blockSize. */
    static KvCacheLayout fullOnly(int blockSize) {
        return KvCacheLayout.fromLayerTypes(List.of(LayerType.FULL_ATTENTION), 0, 1, 1, 1, blockSize);
    }

    /** Group 0: one full layer (layer 1); group 1: one sliding layer of window W (layer 0). */
    static KvCacheLayout hybrid(int blockSize, int window) {
        return KvCacheLayout.fromLayerTypes(List.of(LayerType.SLIDING_ATTENTION, LayerType.FULL_ATTENTION),
                window, 1, 1, 1, blockSize);
    }

    static int[] range(int from, int to) {
        return IntStream.range(from, to).toArray();
    }

    static int[] concat(int[] a, int... b) {
        int[] out = new int[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static Sequence seq(String id, int[] tokens) {
        return seq(id, tokens, null);
    }

    static Sequence seq(String id, int[] tokens, String salt) {
        return new Sequence(id, tokens, CacheKeys.of(MODEL, salt));
    }

    /** Looks up the prefix, allocates the rest of the known tokens and marks them computed. */
    static CachedPrefix prefill(KvCacheManager kv, Sequence seq) {
        CachedPrefix prefix = kv.findLongestCachedPrefix(seq);
        int newTokens = seq.numTokens() - prefix.numTokens();
        if (!kv.allocateSlots(seq, newTokens, prefix)) {
            throw new AssertionError("no room to prefill " + seq);
        }
        seq.advanceComputed(newTokens);
        return prefix;
    }

    /** One decode step: append a token, allocate its slot, mark it computed. */
    static boolean decode(KvCacheManager kv, Sequence seq, int token) {
        seq.appendToken(token);
        if (!kv.allocateSlots(seq, seq.numTokens() - seq.numComputedTokens())) {
            return false;
        }
        seq.advanceComputed(seq.numTokens() - seq.numComputedTokens());
        return true;
    }

    static List<Integer> ids(int[] table) {
        List<Integer> out = new ArrayList<>();
        for (int id : table) {
            out.add(id);
        }
        return out;
    }
}
