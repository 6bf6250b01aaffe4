package dev.gemmaflink.runtime.kvcache;

import java.util.List;

/**
 * The rule that no step boundary cuts an image. Gemma 3 attends bidirectionally within an image, so every soft token
 * of an {@link ImageSpan} must be computed in one forward step. A boundary at position {@code p} (a prefill chunk
 * ends there, or a prefix-cache hit covers exactly the tokens before it) separates positions {@code < p} from
 * positions {@code >= p}; it is safe when no span has {@code start < p < end}. A span's start and end are safe, and
 * so is the position between two adjacent spans.
 *
 * <p>Used by the KV cache (a prefix hit is rounded down), the step planner and the single-sequence generator (a
 * chunk end is rounded down, or up to hold a whole image). Spans may come in any order.
 */
public final class ImageSpans {

    private ImageSpans() {
    }

    /** @return true when a boundary at {@code position} cuts none of {@code spans} */
    public static boolean isSafe(List<ImageSpan> spans, int position) {
        for (ImageSpan span : spans) {
            if (span.isCutBy(position)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Rounds a boundary down: the largest multiple of {@code alignment} at or below {@code position} that cuts no
     * span. A prefix-cache hit uses the block size as the alignment (hits are whole blocks); a chunk end uses 1.
     *
     * @param position  a position >= 0
     * @param alignment >= 1
     * @return a safe boundary in [0, position]; 0 is always safe
     */
    public static int roundDown(List<ImageSpan> spans, int position, int alignment) {
        if (position < 0 || alignment < 1) {
            throw new IllegalArgumentException("need position >= 0 and alignment >= 1, got " + position + " and "
                    + alignment);
        }
        int p = position - position % alignment;
        // Moving to the start of a cut span (aligned down) may land inside an earlier span: repeat. Each move goes
        // strictly down, and 0 cuts nothing.
        boolean moved = true;
        while (moved) {
            moved = false;
            for (ImageSpan span : spans) {
                if (span.isCutBy(p)) {
                    p = span.start() - span.start() % alignment;
                    moved = true;
                }
            }
        }
        return p;
    }

    /**
     * Rounds a boundary up: the smallest position at or above {@code position} that cuts no span (the end of the
     * span that {@code position} cuts, if any).
     */
    public static int roundUp(List<ImageSpan> spans, int position) {
        int p = position;
        boolean moved = true;
        while (moved) {
            moved = false;
            for (ImageSpan span : spans) {
                if (span.isCutBy(p)) {
                    p = span.end();
                    moved = true;
                }
            }
        }
        return p;
    }

    /**
     * The end of a prefill chunk that starts at the safe boundary {@code start} and would like to end at
     * {@code proposedEnd}: rounded down when that leaves a non-empty chunk, else rounded up (an image that begins at
     * {@code start} and reaches past {@code proposedEnd} is taken whole, so the chunk grows past the budget).
     *
     * @return {@code proposedEnd} when it cuts no span; otherwise a safe end
     */
    public static int chunkEnd(List<ImageSpan> spans, int start, int proposedEnd) {
        int down = roundDown(spans, proposedEnd, 1);
        return down > start ? down : roundUp(spans, proposedEnd);
    }
}
