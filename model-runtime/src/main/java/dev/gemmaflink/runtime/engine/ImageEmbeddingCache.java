package dev.gemmaflink.runtime.engine;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Soft-token embeddings of encoded images, keyed by {@code ImageSpan.contentKey()} (the content hash, plus the
 * crop window for a Pan &amp; Scan crop), least recently used first out, bounded by bytes. Engine thread only.
 *
 * <p>Rows are kept as Java arrays ({@code mm_tokens_per_image * hidden} floats per view): the text model takes the
 * soft tokens as Java arrays anyway, and the encoder's native output tensor is closed as soon as it is copied, so an
 * eviction frees nothing native and a failed request cannot leak device memory.
 */
final class ImageEmbeddingCache {

    private final long maxBytes;
    private final LinkedHashMap<String, float[]> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;
    private long hits;
    private long misses;

    /** @param maxBytes budget; 0 disables caching */
    ImageEmbeddingCache(long maxBytes) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("image cache bytes must be >= 0, got " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    /** The rows of a view, or null; counts a hit or a miss. */
    float[] get(String key) {
        float[] rows = entries.get(key);
        if (rows != null) {
            hits++;
        } else {
            misses++;
        }
        return rows;
    }

    /** Adds (or refreshes) a view's rows, evicting the least recently used until the budget holds. */
    void put(String key, float[] rows) {
        long size = 4L * rows.length;
        if (size > maxBytes) {
            return; // larger than the whole cache: keeping it would evict everything else
        }
        float[] old = entries.put(key, rows);
        if (old != null) {
            bytes -= 4L * old.length;
        }
        bytes += size;
        Iterator<Map.Entry<String, float[]>> it = entries.entrySet().iterator();
        while (bytes > maxBytes && it.hasNext()) {
            Map.Entry<String, float[]> eldest = it.next();
            bytes -= 4L * eldest.getValue().length;
            it.remove();
        }
    }

    int size() {
        return entries.size();
    }

    long bytes() {
        return bytes;
    }

    long hits() {
        return hits;
    }

    long misses() {
        return misses;
    }
}
