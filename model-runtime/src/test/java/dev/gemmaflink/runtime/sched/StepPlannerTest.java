package dev.gemmaflink.runtime.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.kvcache.CacheKeys;
import dev.gemmaflink.runtime.kvcache.ChunkSlots;
import dev.gemmaflink.runtime.kvcache.KvCacheLayout;
import dev.gemmaflink.runtime.kvcache.KvCacheManager;
import dev.gemmaflink.runtime.kvcache.Sequence;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class StepPlannerTest {

    private static final KvCacheLayout FULL_BS4 =
            KvCacheLayout.fromLayerTypes(List.of(LayerType.FULL_ATTENTION), 0, 1, 1, 1, 4);

    private static ScheduledRequest seq(String id, int from, int to) {
        return seq(id, from, to, 0, Long.MAX_VALUE);
    }

    private static ScheduledRequest seq(String id, int from, int to, int priority, long deadline) {
        return ScheduledRequest.builder(new Sequence(id, IntStream.range(from, to).toArray(), CacheKeys.of("m", null)))
                .priority(priority).deadlineNanos(deadline).build();
    }

    private static StepPlanner planner(int numBlocks, int budget, int batch) {
        KvCacheManager kv = KvCacheManager.builder(FULL_BS4).numBlocks(numBlocks).build();
        return new StepPlanner(kv, new RequestQueue(16), budget, batch);
    }

    /** Commits a plan and appends token 7 to every request that sampled. */
    private static void execute(StepPlanner planner, StepPlan plan) {
        planner.commit(plan);
        for (ScheduledChunk chunk : plan.chunks()) {
            if (chunk.samples()) {
                chunk.request().appendToken(7);
            }
        }
    }

    private static String describe(StepPlan plan) {
        StringBuilder sb = new StringBuilder();
        for (ScheduledChunk c : plan.chunks()) {
            sb.append(c.request().requestId()).append('[').append(c.startPosition()).append('+')
                    .append(c.numTokens()).append(c.samples() ? "*" : "").append("] ");
        }
        return sb.toString().trim();
    }

    @Test
    void decodesGoFirstAndPrefillIsChunkedUnderTheTokenBudget() {
        StepPlanner planner = planner(40, 8, 4);
        planner.submit(seq("a", 0, 3));
        planner.submit(seq("b", 100, 120));

        StepPlan first = planner.plan(0);
        assertThat(describe(first)).isEqualTo("a[0+3*] b[0+5]");
        execute(planner, first);
        StepPlan second = planner.plan(1);
        assertThat(describe(second)).isEqualTo("a[3+1*] b[5+7]");
        execute(planner, second);
        StepPlan third = planner.plan(2);
        assertThat(describe(third)).isEqualTo("a[4+1*] b[12+7]");
        execute(planner, third);
        assertThat(describe(planner.plan(3))).isEqualTo("a[5+1*] b[19+1*]");
    }

    @Test
    void batchSizeAndPriorityDecideAdmission() {
        StepPlanner planner = planner(40, 64, 2);
        planner.submit(seq("low-old", 0, 4));
        planner.submit(seq("high", 10, 14, 5, Long.MAX_VALUE));
        planner.submit(seq("low-new", 20, 24));
        StepPlan plan = planner.plan(0);
        assertThat(describe(plan)).isEqualTo("high[0+4*] low-old[0+4*]");
        assertThat(planner.waiting().peek().requestId()).isEqualTo("low-new");
    }

    @Test
    void allocationFailurePreemptsTheNewestAndItsRecomputeHitsThePrefixCache() {
        StepPlanner planner = planner(7, 64, 4); // 6 usable blocks of 4 tokens
        ScheduledRequest a = seq("a", 0, 8);
        ScheduledRequest b = seq("b", 100, 108);
        planner.submit(a);
        planner.submit(b);
        StepPlan plan = planner.plan(0);
        assertThat(plan.chunks()).extracting(c -> c.blockTables()[0]).containsExactly(new int[] {1, 2},
                new int[] {3, 4});
        execute(planner, plan);
        for (int step = 1; step <= 4; step++) { // positions 8..11: a takes block 5, b block 6
            plan = planner.plan(step);
            assertThat(plan.preempted()).isEmpty();
            execute(planner, plan);
        }
        assertThat(b.sequence().numTokens()).isEqualTo(13);

        plan = planner.plan(5); // a needs a 4th block: none free
        assertThat(plan.preempted()).containsExactly(b);
        assertThat(describe(plan)).isEqualTo("a[12+1*]");
        assertThat(plan.chunks().get(0).blockTables()[0]).containsExactly(1, 2, 5, 6);
        assertThat(b.status()).isEqualTo(RequestStatus.PREEMPTED);
        assertThat(b.sequence().numComputedTokens()).isZero();
        assertThat(b.numPreemptions()).isEqualTo(1);
        execute(planner, plan);

        plan = planner.plan(6); // b's first two blocks are cached but two more are needed: still no room
        assertThat(describe(plan)).isEqualTo("a[13+1*]");
        execute(planner, plan);
        planner.finish(a, RequestStatus.FINISHED);

        plan = planner.plan(7);
        assertThat(describe(plan)).isEqualTo("b[8+5*]");
        ScheduledChunk recompute = plan.chunks().get(0);
        assertThat(recompute.cachedTokens()).isEqualTo(8);
        assertThat(recompute.blockTables()[0]).containsExactly(3, 4, 6, 5);
        ChunkSlots slots = recompute.slots(0, FULL_BS4);
        assertThat(slots.writeSlots()).containsExactly(6 * 4, 6 * 4 + 1, 6 * 4 + 2, 6 * 4 + 3, 5 * 4);
        assertThat(slots.contextPositions()).hasSize(13);
        assertThat(b.status()).isEqualTo(RequestStatus.RUNNING);
    }

    @Test
    void deadlinesExpireQueuedAndRunningSequencesAndFreeTheirBlocks() {
        KvCacheManager kv = KvCacheManager.builder(FULL_BS4).numBlocks(20).build();
        StepPlanner planner = new StepPlanner(kv, new RequestQueue(8), 64, 1);
        ScheduledRequest running = seq("running", 0, 6, 0, 50);
        ScheduledRequest queued = seq("queued", 10, 16, 0, 40);
        planner.submit(running);
        planner.submit(queued);
        StepPlan plan = planner.plan(0);
        assertThat(describe(plan)).isEqualTo("running[0+6*]");
        execute(planner, plan);
        assertThat(kv.usage().groups().get(0).usedBlocks()).isEqualTo(2);

        plan = planner.plan(45);
        assertThat(plan.expired()).containsExactly(queued);
        assertThat(describe(plan)).isEqualTo("running[6+1*]");
        execute(planner, plan);
        plan = planner.plan(50);
        assertThat(plan.expired()).containsExactly(running);
        assertThat(running.status()).isEqualTo(RequestStatus.DEADLINE_EXCEEDED);
        assertThat(plan.chunks()).isEmpty();
        assertThat(kv.usage().groups().get(0).usedBlocks()).isZero();
    }

    @Test
    void cancelFreesARunningSequenceAndDropsAQueuedOne() {
        KvCacheManager kv = KvCacheManager.builder(FULL_BS4).numBlocks(20).build();
        StepPlanner planner = new StepPlanner(kv, new RequestQueue(8), 64, 1);
        planner.submit(seq("r", 0, 6));
        planner.submit(seq("q", 10, 16));
        execute(planner, planner.plan(0));
        assertThat(planner.cancel("q").status()).isEqualTo(RequestStatus.CANCELLED);
        assertThat(planner.cancel("r").status()).isEqualTo(RequestStatus.CANCELLED);
        assertThat(planner.cancel("nobody")).isNull();
        assertThat(planner.running()).isEmpty();
        assertThat(kv.usage().groups().get(0).usedBlocks()).isZero();
        assertThat(kv.usage().groups().get(0).cachedBlocks()).isEqualTo(1);
    }

    @Test
    void aLoneChunkTooBigForTheSlidingPoolIsShrunkInsteadOfStalling() {
        KvCacheLayout hybrid = KvCacheLayout.fromLayerTypes(
                List.of(LayerType.SLIDING_ATTENTION, LayerType.FULL_ATTENTION), 8, 1, 1, 1, 4);
        KvCacheManager kv = KvCacheManager.builder(hybrid).numBlocks(40, 5).build(); // 4 sliding blocks
        StepPlanner planner = new StepPlanner(kv, new RequestQueue(8), 64, 4);
        planner.submit(seq("long", 0, 60));
        StepPlan plan = planner.plan(0);
        assertThat(describe(plan)).isEqualTo("long[0+16]");
        execute(planner, plan);
        plan = planner.plan(1); // window (7 tokens before 16) + chunk must fit 4 blocks: 8 new tokens
        assertThat(describe(plan)).isEqualTo("long[16+8]");
    }

    @Test
    void rejectsPromptsTheCacheCanNeverHold() {
        StepPlanner planner = planner(5, 64, 4); // 16 tokens
        assertThatThrownBy(() -> planner.submit(seq("big", 0, 16))).hasMessageContaining("16 prompt tokens");
        assertThatThrownBy(() -> planner(5, 0, 4)).hasMessageContaining("maxTokensPerStep");
    }
}
