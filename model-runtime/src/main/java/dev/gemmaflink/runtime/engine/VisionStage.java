package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.kvcache.ImageSpan;
import dev.gemmaflink.runtime.model.PromptImages;
import dev.gemmaflink.runtime.vision.ImageEmbeddings;
import dev.gemmaflink.runtime.vision.ImageEncoder;
import dev.gemmaflink.runtime.vision.PreprocessedImage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine thread's image step: encodes the views of every multimodal request taken in one iteration that the
 * {@link ImageEmbeddingCache} lacks, in one encoder call, and places each request's soft tokens at their prompt
 * positions. When the batch fails, each request is encoded alone, so one bad input fails only its own request.
 * Runs on the engine thread only (the encoder's native tensors belong to it).
 */
final class VisionStage {

    private static final Logger LOG = LoggerFactory.getLogger(VisionStage.class);

    private final ImageEncoder encoder;
    private final ImageEmbeddingCache cache;
    private final MetricsRecorder metrics;

    VisionStage(ImageEncoder encoder, ImageEmbeddingCache cache, MetricsRecorder metrics) {
        this.encoder = encoder;
        this.cache = cache;
        this.metrics = metrics;
    }

    /**
     * Sets the soft tokens of the requests of {@code batch}.
     *
     * @param onFailure told of each request whose images could not be encoded, with the error
     * @return the requests whose soft tokens are set, in batch order
     */
    List<RequestState> encode(List<RequestState> batch, BiConsumer<RequestState, RuntimeException> onFailure) {
        Map<String, float[]> rows = new HashMap<>();
        List<RequestState> encoded = batch;
        try {
            encodeMissing(batch, rows);
        } catch (RuntimeException e) {
            if (batch.size() > 1) {
                LOG.warn("encoding the images of {} requests together failed ({}); encoding them one by one",
                        batch.size(), e.toString());
            }
            encoded = new ArrayList<>();
            for (RequestState s : batch) {
                try {
                    encodeMissing(List.of(s), rows);
                    encoded.add(s);
                } catch (RuntimeException one) {
                    LOG.warn("encoding the images of request {} failed", s.id(), one);
                    onFailure.accept(s, one);
                }
            }
        }
        for (RequestState s : encoded) {
            List<ImageSpan> spans = s.imagePrompt.spans();
            s.softTokens = PromptImages.place(spans, spans.stream().map(span -> rows.get(span.contentKey())).toList());
        }
        return encoded;
    }

    /** Encodes (one call) the views of {@code batch} found neither in {@code rows} nor in the cache. */
    private void encodeMissing(List<RequestState> batch, Map<String, float[]> rows) {
        Map<String, PreprocessedImage> missing = new LinkedHashMap<>();
        for (RequestState s : batch) {
            List<ImageSpan> spans = s.imagePrompt.spans();
            for (int i = 0; i < spans.size(); i++) {
                String key = spans.get(i).contentKey();
                if (rows.containsKey(key) || missing.containsKey(key)) {
                    continue;
                }
                float[] cached = cache.get(key);
                if (cached != null) {
                    metrics.imageCacheHits.increment();
                    rows.put(key, cached);
                } else {
                    missing.put(key, s.imagePrompt.inputs().get(i));
                }
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        List<float[]> embeddings;
        try (ImageEmbeddings e = encoder.encode(List.copyOf(missing.values()))) {
            embeddings = e.toFloatArrays(); // the native tensor is freed here; the cache holds Java rows
        }
        metrics.imageEncoderCalls.increment();
        metrics.imageViewsEncoded.add(missing.size());
        int i = 0;
        for (String key : missing.keySet()) {
            rows.put(key, embeddings.get(i));
            cache.put(key, embeddings.get(i));
            i++;
        }
    }
}
