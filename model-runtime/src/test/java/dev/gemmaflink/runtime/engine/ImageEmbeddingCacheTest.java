package dev.gemmaflink.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ImageEmbeddingCacheTest {

    @Test
    void evictsTheLeastRecentlyUsedWhenTheByteBudgetIsExceeded() {
        ImageEmbeddingCache cache = new ImageEmbeddingCache(3 * 4 * 10); // three views of 10 floats
        cache.put("a", new float[10]);
        cache.put("b", new float[10]);
        cache.put("c", new float[10]);
        assertThat(cache.get("a")).isNotNull(); // a is now the most recently used
        cache.put("d", new float[10]);
        assertThat(cache.get("b")).isNull();
        assertThat(cache.get("a")).isNotNull();
        assertThat(cache.get("c")).isNotNull();
        assertThat(cache.get("d")).isNotNull();
        assertThat(cache.size()).isEqualTo(3);
        assertThat(cache.bytes()).isEqualTo(120);
        assertThat(cache.hits()).isEqualTo(4);
        assertThat(cache.misses()).isEqualTo(1);
    }

    @Test
    void replacingAnEntryKeepsTheByteCountAndOversizedEntriesAreNotKept() {
        ImageEmbeddingCache cache = new ImageEmbeddingCache(80);
        cache.put("a", new float[10]);
        cache.put("a", new float[5]);
        assertThat(cache.bytes()).isEqualTo(20);
        cache.put("huge", new float[21]);
        assertThat(cache.get("huge")).isNull();
        assertThat(cache.get("a")).hasSize(5);
        ImageEmbeddingCache off = new ImageEmbeddingCache(0);
        off.put("a", new float[1]);
        assertThat(off.size()).isZero();
        assertThatThrownBy(() -> new ImageEmbeddingCache(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1");
    }
}
