package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.kvcache.ImageSpan;
import dev.gemmaflink.runtime.model.PromptImages;
import dev.gemmaflink.runtime.vision.ImageEmbeddings;
import dev.gemmaflink.runtime.vision.ImageEncoder;
import dev.gemmaflink.runtime.vision.PreprocessedImage;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine thread's vision queue: multimodal requests wait here, first in first out, until every view of their
 * images (whole images and Pan &amp; Scan crops) is encoded, then leave with their soft tokens placed at their
 * prompt positions, for the planner.
 *
 * <p>Encoder budget: each {@link #step} makes at most one encoder call of at most {@code maxViewsPerStep} views (more
 * calls only when that one fails, see below), so a burst of image requests stalls the running decodes for one such
 * call per engine iteration, never for the whole burst. The walk goes from the head of the queue and stops at the
 * first view the budget no longer covers: the request holding it keeps its place at the head with the views encoded
 * so far, and no request behind it is looked at. Hence at most one request holds a partial set of views between
 * iterations, and a request whose views outnumber the budget is split over several iterations without encoding any
 * view twice, whether or not the {@link ImageEmbeddingCache} keeps them. Views found in the cache, or already
 * planned for this call by a request ahead, cost no budget.
 *
 * <p>Failure isolation: when a call over the views of several requests fails, each of them has its own views of that
 * call encoded alone, so one bad input fails only its own request (and any other request with the same view).
 *
 * <p>Engine thread only (the encoder's native tensors belong to it).
 */
final class VisionStage {

    private static final Logger LOG = LoggerFactory.getLogger(VisionStage.class);

    /** One encoder call: embeddings of {@code views}, one Java row block per view, in input order. */
    @FunctionalInterface
    interface ViewEncoder {
        List<float[]> encode(List<PreprocessedImage> views);
    }

    /** A request in the queue and the rows of its views encoded or found so far, by content key. */
    private static final class Waiting {
        final RequestState state;
        final Map<String, float[]> rows = new HashMap<>();

        Waiting(RequestState state) {
            this.state = state;
        }

        boolean complete() {
            for (ImageSpan span : state.imagePrompt.spans()) {
                if (!rows.containsKey(span.contentKey())) {
                    return false;
                }
            }
            return true;
        }
    }

    private final ViewEncoder encoder;
    private final ImageEmbeddingCache cache;
    private final MetricsRecorder metrics;
    private final int maxViewsPerStep;
    private final ArrayDeque<Waiting> queue = new ArrayDeque<>();

    VisionStage(ViewEncoder encoder, ImageEmbeddingCache cache, MetricsRecorder metrics, int maxViewsPerStep) {
        if (maxViewsPerStep <= 0) {
            throw new IllegalArgumentException("maxViewsPerStep must be > 0, got " + maxViewsPerStep);
        }
        this.encoder = encoder;
        this.cache = cache;
        this.metrics = metrics;
        this.maxViewsPerStep = maxViewsPerStep;
    }

    /** The encoder call of {@code encoder}: its native output is copied to Java rows and freed at once. */
    static ViewEncoder callsOf(ImageEncoder encoder) {
        return views -> {
            try (ImageEmbeddings e = encoder.encode(views)) {
                return e.toFloatArrays();
            }
        };
    }

    /** Queues a prepared multimodal request behind those already waiting. */
    void add(RequestState s) {
        queue.addLast(new Waiting(s));
    }

    /** Takes a request out of the queue (cancellation); false when it is not waiting here. */
    boolean remove(RequestState s) {
        return queue.removeIf(w -> w.state == s);
    }

    /** Takes out and returns, in queue order, the requests whose deadline is at or before {@code nowNanos}. */
    List<RequestState> removeExpired(long nowNanos) {
        List<RequestState> expired = new ArrayList<>();
        for (Iterator<Waiting> it = queue.iterator(); it.hasNext(); ) {
            Waiting w = it.next();
            if (w.state.deadlineNanos <= nowNanos) {
                expired.add(w.state);
                it.remove();
            }
        }
        return expired;
    }

    /** Requests waiting for their views. */
    int size() {
        return queue.size();
    }

    boolean isEmpty() {
        return queue.isEmpty();
    }

    /** Forgets every waiting request (the engine is ending them). */
    void clear() {
        queue.clear();
    }

    /**
     * Encodes, in one call, up to {@code maxViewsPerStep} views that the head of the queue needs and nobody has yet,
     * and takes out the requests that then have all their views, with their soft tokens set.
     *
     * @param onFailure told of each request whose images could not be encoded, with the error; it has left the queue
     * @return the requests whose soft tokens are set, in queue order
     */
    List<RequestState> step(BiConsumer<RequestState, RuntimeException> onFailure) {
        // Walk from the head: gather what each request lacks, charging the budget only for views nobody has.
        List<Waiting> walked = new ArrayList<>();
        Map<String, PreprocessedImage> missing = new LinkedHashMap<>();
        int budget = maxViewsPerStep;
        walk:
        for (Waiting w : queue) {
            walked.add(w);
            List<ImageSpan> spans = w.state.imagePrompt.spans();
            for (int i = 0; i < spans.size(); i++) {
                String key = spans.get(i).contentKey();
                if (w.rows.containsKey(key) || missing.containsKey(key)) {
                    continue;
                }
                float[] cached = cache.get(key);
                if (cached != null) {
                    metrics.imageCacheHits.increment();
                    w.rows.put(key, cached);
                } else if (budget > 0) {
                    missing.put(key, w.state.imagePrompt.inputs().get(i));
                    budget--;
                } else {
                    break walk; // this request keeps its place; those behind it wait for the next iteration
                }
            }
        }
        if (!missing.isEmpty()) {
            Map<String, float[]> encoded = new HashMap<>();
            try {
                encodeInto(missing, encoded);
            } catch (RuntimeException e) {
                encodeOneByOne(walked, missing, e, encoded, onFailure);
            }
            for (Waiting w : walked) {
                for (ImageSpan span : w.state.imagePrompt.spans()) {
                    float[] rows = encoded.get(span.contentKey());
                    if (rows != null) {
                        w.rows.putIfAbsent(span.contentKey(), rows);
                    }
                }
            }
        }
        List<RequestState> ready = new ArrayList<>();
        for (Waiting w : walked) {
            if (queue.contains(w) && w.complete()) {
                queue.remove(w);
                List<ImageSpan> spans = w.state.imagePrompt.spans();
                w.state.softTokens = PromptImages.place(spans, spans.stream().map(s -> w.rows.get(s.contentKey()))
                        .toList());
                ready.add(w.state);
            }
        }
        return ready;
    }

    /**
     * After the call over {@code missing} failed with {@code failure}: encodes, one call per request of
     * {@code walked}, the views of that call it needs, and fails (and takes out) each request whose call fails.
     */
    private void encodeOneByOne(List<Waiting> walked, Map<String, PreprocessedImage> missing,
            RuntimeException failure, Map<String, float[]> encoded, BiConsumer<RequestState, RuntimeException> onFailure) {
        List<Waiting> needing = new ArrayList<>();
        for (Waiting w : walked) {
            if (w.state.imagePrompt.spans().stream().anyMatch(s -> missing.containsKey(s.contentKey()))) {
                needing.add(w);
            }
        }
        if (needing.size() == 1) { // the failed call was this request's alone: no point in repeating it
            fail(needing.get(0), failure, onFailure);
            return;
        }
        LOG.warn("encoding {} views of {} requests together failed ({}); encoding them request by request",
                missing.size(), needing.size(), failure.toString());
        for (Waiting w : needing) {
            Map<String, PreprocessedImage> own = new LinkedHashMap<>();
            for (ImageSpan span : w.state.imagePrompt.spans()) {
                String key = span.contentKey();
                if (missing.containsKey(key) && !encoded.containsKey(key)) {
                    own.put(key, missing.get(key));
                }
            }
            try {
                if (!own.isEmpty()) {
                    encodeInto(own, encoded);
                }
            } catch (RuntimeException e) {
                fail(w, e, onFailure);
            }
        }
    }

    private void fail(Waiting w, RuntimeException e, BiConsumer<RequestState, RuntimeException> onFailure) {
        LOG.warn("encoding the images of request {} failed", w.state.id(), e);
        queue.remove(w);
        onFailure.accept(w.state, e);
    }

    /** One encoder call over {@code views}; their rows go into {@code out} and the cache. */
    private void encodeInto(Map<String, PreprocessedImage> views, Map<String, float[]> out) {
        List<float[]> embeddings = encoder.encode(List.copyOf(views.values()));
        if (embeddings.size() != views.size()) {
            throw new IllegalStateException("the encoder returned " + embeddings.size() + " embeddings for "
                    + views.size() + " views");
        }
        metrics.recordImageEncoderCall(views.size());
        int i = 0;
        for (String key : views.keySet()) {
            out.put(key, embeddings.get(i));
            cache.put(key, embeddings.get(i));
            i++;
        }
    }
}
