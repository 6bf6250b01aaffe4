package dev.gemmaflink.runtime.sched;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.kvcache.CacheKeys;
import dev.gemmaflink.runtime.kvcache.ImageSpan;
import dev.gemmaflink.runtime.kvcache.KvCacheLayout;
import dev.gemmaflink.runtime.kvcache.KvCacheManager;
import dev.gemmaflink.runtime.kvcache.Sequence;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Gemma 3 images attend bidirectionally, so neither a prefill chunk nor a prefix-cache hit may end inside one. */
class ImageChunkingTest {

    private static final KvCacheLayout FULL_BS4 =
            KvCacheLayout.fromLayerTypes(List.of(LayerType.FULL_ATTENTION), 0, 1, 1, 1, 4);

    private static ScheduledRequest seq(String id, int length, ImageSpan... images) {
        return ScheduledRequest.builder(new Sequence(id, IntStream.range(0, length).toArray(),
                CacheKeys.of("m", null, List.of(images)))).build();
    }

    /** Plans and commits until the request sampled once; returns the chunks as "start+length". */
    private static List<String> prefill(StepPlanner planner, ScheduledRequest s) {
        List<String> chunks = new ArrayList<>();
        while (true) {
            StepPlan plan = planner.plan(0);
            planner.commit(plan);
            for (ScheduledChunk c : plan.chunks()) {
                chunks.add(c.startPosition() + "+" + c.numTokens());
                if (c.samples()) {
                    return chunks;
                }
            }
        }
    }

    @Test
    void chunksEndBeforeAnImageOrGrowToHoldIt() {
        KvCacheManager kv = KvCacheManager.builder(FULL_BS4).numBlocks(40).build();
        StepPlanner planner = new StepPlanner(kv, new RequestQueue(4), 8, 4);
        planner.submit(seq("a", 20, new ImageSpan(5, 10, "img")));
        // budget 8: [0, 8) would cut the image at 5; from 5, [5, 13) would cut it again, so the chunk holds it whole
        assertThat(prefill(planner, planner.waiting().peek())).containsExactly("0+5", "5+10", "15+5");
    }

    @Test
    void aPrefixHitEndingInsideAnImageIsCutBackToTheBlockBeforeIt() {
        KvCacheManager kv = KvCacheManager.builder(FULL_BS4).numBlocks(40).build();
        StepPlanner planner = new StepPlanner(kv, new RequestQueue(4), 64, 4);
        ImageSpan image = new ImageSpan(6, 12, "img"); // positions [6, 18); whole blocks reach 16, inside it
        ScheduledRequest a = seq("a", 20, image);
        planner.submit(a);
        prefill(planner, a);
        planner.finish(a, RequestStatus.FINISHED);

        ScheduledRequest b = seq("b", 20, image);
        assertThat(kv.findLongestCachedPrefix(b.sequence()).numTokens()).isEqualTo(4);
        planner.submit(b);
        assertThat(prefill(planner, b)).containsExactly("4+16");
    }

    @Test
    void aPrefixHitCutBackIntoAnEarlierImageIsCutBackAgain() {
        KvCacheManager kv = KvCacheManager.builder(FULL_BS4).numBlocks(40).build();
        StepPlanner planner = new StepPlanner(kv, new RequestQueue(4), 64, 4);
        ImageSpan first = new ImageSpan(2, 4, "img-1"); // positions [2, 6)
        ImageSpan second = new ImageSpan(7, 11, "img-2"); // positions [7, 18)
        ScheduledRequest a = seq("a", 20, first, second);
        planner.submit(a);
        prefill(planner, a);
        planner.finish(a, RequestStatus.FINISHED);

        // whole blocks reach 16, inside the second image; its block boundary 4 is inside the first: no hit at all
        ScheduledRequest b = seq("b", 20, first, second);
        assertThat(kv.findLongestCachedPrefix(b.sequence()).numTokens()).isZero();
        planner.submit(b);
        assertThat(prefill(planner, b)).containsExactly("0+20");
    }
}
