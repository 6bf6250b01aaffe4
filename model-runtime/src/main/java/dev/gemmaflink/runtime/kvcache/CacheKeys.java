package dev.gemmaflink.runtime.kvcache;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * Everything besides token ids that decides whether two sequences may share KV blocks.
 *
 * <ul>
 *   <li>{@code modelId}: the weights that produced the keys and values (a block of one model is garbage to another).</li>
 *   <li>{@code cacheSalt}: isolation domain. Tenants never share blocks: give each tenant its own salt (the tenant id
 *       by default); tenants that should share a prefix cache are configured with the same salt. {@code null} means
 *       "no salt", a domain of its own, distinct from every non-null salt.</li>
 *   <li>{@code images}: the {@link ImageSpan}s of the sequence (where each image's soft tokens lie, and its content
 *       key).</li>
 * </ul>
 *
 * The model id and salt go into the root of the hash chain (so every block depends on them); an image's content key
 * goes into every block its soft tokens overlap (and, through the chain, every later block).
 */
public final class CacheKeys {

    private final String modelId;
    private final String cacheSalt;
    private final List<ImageSpan> images;

    private CacheKeys(String modelId, String cacheSalt, List<ImageSpan> images) {
        this.modelId = modelId;
        this.cacheSalt = cacheSalt;
        this.images = images;
    }

    /** Keys for a text-only sequence. */
    public static CacheKeys of(String modelId, String cacheSalt) {
        return of(modelId, cacheSalt, List.of());
    }

    /**
     * @param modelId non-empty model identifier
     * @param cacheSalt isolation salt (usually the tenant), or null
     * @param images image spans, may be empty; must not overlap each other
     */
    public static CacheKeys of(String modelId, String cacheSalt, List<ImageSpan> images) {
        if (modelId == null || modelId.isEmpty()) {
            throw new IllegalArgumentException("modelId must not be empty");
        }
        Objects.requireNonNull(images, "images");
        List<ImageSpan> sorted = new ArrayList<>(images);
        sorted.sort(Comparator.comparingInt(ImageSpan::start));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).start() < sorted.get(i - 1).end()) {
                throw new IllegalArgumentException("image spans overlap: " + sorted.get(i - 1) + " and " + sorted.get(i));
            }
        }
        return new CacheKeys(modelId, cacheSalt, List.copyOf(sorted));
    }

    public String modelId() {
        return modelId;
    }

    /** The salt, or null when none. */
    public String cacheSalt() {
        return cacheSalt;
    }

    /** Image spans sorted by start position. */
    public List<ImageSpan> images() {
        return images;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CacheKeys k && modelId.equals(k.modelId) && Objects.equals(cacheSalt, k.cacheSalt)
                && images.equals(k.images);
    }

    @Override
    public int hashCode() {
        return Objects.hash(modelId, cacheSalt, images);
    }

    @Override
    public String toString() {
        return "CacheKeys{modelId=" + modelId + ", cacheSalt=" + cacheSalt + ", images=" + images.size() + "}";
    }
}
