package dev.gemmaflink.runtime.tools.bench;

import dev.gemmaflink.runtime.generate.TokenListener;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * When each request of a benchmark round received its tokens, and the decode rate they give: tokens per second in
 * the window where every request is decoding (from the last first token to the first last token), so neither the
 * staggered prefills at the start nor the stragglers at the end dilute it.
 */
final class TokenTimes {

    private final List<ConcurrentLinkedQueue<Long>> stamps = new ArrayList<>();

    /** A listener that stamps the tokens of one more request. */
    TokenListener listener() {
        ConcurrentLinkedQueue<Long> q = new ConcurrentLinkedQueue<>();
        stamps.add(q);
        return (id, text) -> q.add(System.nanoTime());
    }

    /**
     * @param start when the round's first request was submitted ({@link System#nanoTime()})
     * @param end when its last result arrived
     * @return tokens per second while all requests decode, 0 when that window is empty
     */
    double decodeTokensPerSecond(long start, long end) {
        long lastFirst = stamps.stream().mapToLong(q -> q.isEmpty() ? start : q.peek()).max().orElse(start);
        long firstFinish = stamps.stream().mapToLong(q -> q.stream().mapToLong(Long::longValue).max().orElse(end))
                .min().orElse(end);
        long inWindow = 0;
        for (ConcurrentLinkedQueue<Long> q : stamps) {
            inWindow += q.stream().filter(t -> t > lastFirst && t <= firstFinish).count();
        }
        double windowSeconds = (firstFinish - lastFirst) / 1e9;
        return windowSeconds > 0 && inWindow > 0 ? inWindow / windowSeconds : 0;
    }

    /** {@code n} random ids of a vocabulary of {@code vocab} (the first 3 are special), BOS first when asked. */
    static int[] randomIds(int n, int vocab, SplittableRandom rnd, boolean bos) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = bos && i == 0 ? 2 : 3 + rnd.nextInt(vocab - 3);
        }
        return ids;
    }
}
