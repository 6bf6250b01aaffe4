package dev.gemmaflink.runtime.kvcache;

import static dev.gemmaflink.runtime.kvcache.KvTestSupport.range;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class BlockHasherTest {

    private final KvCacheManager kv = KvCacheManager.builder(KvTestSupport.fullOnly(4)).numBlocks(8).build();

    private List<BlockHash> hashes(String model, String salt, List<ImageSpan> images, int[] tokens) {
        Sequence seq = new Sequence("r", tokens, CacheKeys.of(model, salt, images));
        return kv.blockHashes(seq);
    }

    @Test
    void onlyFullBlocksAreHashedAndEqualContentHashesEqually() {
        List<BlockHash> a = hashes("m", null, List.of(), range(0, 11));
        List<BlockHash> b = hashes("m", null, List.of(), range(0, 12));
        assertThat(a).hasSize(2);
        assertThat(b).hasSize(3);
        assertThat(b.subList(0, 2)).isEqualTo(a);
        assertThat(b).doesNotHaveDuplicates();
    }

    @Test
    void hashChainsOverThePreviousBlocks() {
        int[] x = range(0, 8);
        int[] y = range(0, 8);
        y[0] = 99; // differs in block 0 only
        List<BlockHash> hx = hashes("m", null, List.of(), x);
        List<BlockHash> hy = hashes("m", null, List.of(), y);
        assertThat(hy.get(0)).isNotEqualTo(hx.get(0));
        assertThat(hy.get(1)).as("same tokens in block 1, different parent").isNotEqualTo(hx.get(1));
    }

    @Test
    void tenantSaltAndModelIdChangeEveryBlock() {
        int[] tokens = range(0, 8);
        List<BlockHash> base = hashes("m", "tenant-a", List.of(), tokens);
        List<BlockHash> otherTenant = hashes("m", "tenant-b", List.of(), tokens);
        List<BlockHash> noSalt = hashes("m", null, List.of(), tokens);
        List<BlockHash> otherModel = hashes("m2", "tenant-a", List.of(), tokens);
        for (int i = 0; i < 2; i++) {
            assertThat(List.of(otherTenant.get(i), noSalt.get(i), otherModel.get(i))).doesNotContain(base.get(i));
        }
        assertThat(hashes("m", "tenant-a", List.of(), tokens)).isEqualTo(base);
    }

    @Test
    void imageHashChangesTheBlocksItOverlapsAndEveryLaterOneOnly() {
        int[] tokens = range(0, 16); // blocks [0,4) [4,8) [8,12) [12,16)
        List<BlockHash> catA = hashes("m", null, List.of(new ImageSpan(5, 4, "cat-a")), tokens); // blocks 1 and 2
        List<BlockHash> catB = hashes("m", null, List.of(new ImageSpan(5, 4, "cat-b")), tokens);
        assertThat(catB.get(0)).isEqualTo(catA.get(0));
        assertThat(catB.subList(1, 4)).doesNotContainAnyElementsOf(catA.subList(1, 4));
        assertThat(hashes("m", null, List.of(new ImageSpan(5, 4, "cat-a")), tokens)).isEqualTo(catA);
    }

    @Test
    void rejectsBadKeys() {
        assertThatThrownBy(() -> CacheKeys.of("", null)).hasMessageContaining("modelId");
        assertThatThrownBy(() -> CacheKeys.of("m", null, List.of(new ImageSpan(0, 4, "a"), new ImageSpan(3, 4, "b"))))
                .hasMessageContaining("image spans overlap");
        assertThatThrownBy(() -> new Sequence("r", range(0, 4),
                CacheKeys.of("m", null, List.of(new ImageSpan(2, 4, "a")))))
                .hasMessageContaining("ends after the prompt");
        assertThatThrownBy(() -> new Sequence("r", new int[0], CacheKeys.of("m", null)))
                .hasMessageContaining("at least one token");
    }
}
