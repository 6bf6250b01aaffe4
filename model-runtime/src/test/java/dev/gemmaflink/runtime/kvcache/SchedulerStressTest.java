package dev.gemmaflink.runtime.kvcache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.sched.RequestQueue;
import dev.gemmaflink.runtime.sched.RequestStatus;
import dev.gemmaflink.runtime.sched.ScheduledChunk;
import dev.gemmaflink.runtime.sched.ScheduledRequest;
import dev.gemmaflink.runtime.sched.StepPlan;
import dev.gemmaflink.runtime.sched.StepPlanner;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Seeded random traffic through the planner and a small hybrid cache: arrivals sharing prefixes across two tenants,
 * random lengths, priorities, deadlines, cancellations and stop tokens, many steps. After every plan the block tables
 * and reference counts must agree exactly; at the end every sequence is final and every block free.
 */
class SchedulerStressTest {

    private static final int BLOCK_SIZE = 4;
    private static final int WINDOW = 10;
    private static final int EOS = 0;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 42})
    void randomTrafficLeavesNoBlockBehind(long seed) {
        Random random = new Random(seed);
        KvCacheLayout layout = KvTestSupport.hybrid(BLOCK_SIZE, WINDOW);
        KvCacheManager kv = KvCacheManager.builder(layout).numBlocks(41, 14).build();
        StepPlanner planner = new StepPlanner(kv, new RequestQueue(6), 16, 4);
        int[][] sharedPrefixes = new int[3][];
        for (int p = 0; p < sharedPrefixes.length; p++) {
            sharedPrefixes[p] = random.ints(24, 1, 50).toArray();
        }
        List<ScheduledRequest> all = new ArrayList<>();
        Map<ScheduledRequest, Integer> maxNewTokens = new IdentityHashMap<>();
        int preemptions = 0;
        int chunksChecked = 0;

        int step = 0;
        for (; step < 6_000; step++) {
            boolean arrivalsOpen = step < 1_500;
            if (!arrivalsOpen && planner.running().isEmpty() && planner.waiting().isEmpty()) {
                break;
            }
            if (arrivalsOpen && random.nextDouble() < 0.35) {
                ScheduledRequest s = newRequest(random, sharedPrefixes, "r" + all.size(), step);
                if (planner.submit(s)) {
                    all.add(s);
                    maxNewTokens.put(s, 1 + random.nextInt(20));
                }
            }
            if (random.nextDouble() < 0.03) {
                List<ScheduledRequest> live = all.stream().filter(s -> !s.status().isFinal()).toList();
                if (!live.isEmpty()) {
                    ScheduledRequest target = live.get(random.nextInt(live.size()));
                    assertThat(planner.cancel(target.requestId())).isSameAs(target);
                }
            }

            StepPlan plan = planner.plan(step);
            preemptions += plan.preempted().size();
            assertThat(plan.numTokens()).isLessThanOrEqualTo(16);
            assertThat(planner.running()).hasSizeLessThanOrEqualTo(4);
            checkInvariants(kv, all);
            for (ScheduledChunk chunk : plan.chunks()) {
                for (int g = 0; g < layout.numGroups(); g++) {
                    chunk.slots(g, layout); // throws if a position the chunk reads sits in a freed block
                }
                chunksChecked++;
            }

            planner.commit(plan);
            for (ScheduledChunk chunk : plan.chunks()) {
                ScheduledRequest s = chunk.request();
                if (!chunk.samples() || s.status().isFinal()) {
                    continue;
                }
                int token = random.nextDouble() < 0.05 ? EOS : 1 + random.nextInt(49);
                s.appendToken(token);
                if (token == EOS || s.numOutputTokens() >= maxNewTokens.get(s)) {
                    planner.finish(s, RequestStatus.FINISHED);
                }
            }
        }

        assertThat(step).as("drained before the step limit").isLessThan(6_000);
        assertThat(all).hasSizeGreaterThan(300).allSatisfy(s -> assertThat(s.status().isFinal()).isTrue());
        assertThat(all).anySatisfy(s -> assertThat(s.status()).isEqualTo(RequestStatus.CANCELLED));
        assertThat(all).anySatisfy(s -> assertThat(s.status()).isEqualTo(RequestStatus.DEADLINE_EXCEEDED));
        assertThat(preemptions).as("the pool is small enough to force preemption").isPositive();
        assertThat(kv.usage().prefixHitTokens()).as("shared prefixes hit the cache").isPositive();
        assertThat(chunksChecked).isPositive();
        KvCacheUsage usage = kv.usage();
        System.out.printf("{\"seed\":%d,\"steps\":%d,\"sequences\":%d,\"preemptions\":%d,\"chunks\":%d,"
                + "\"prefix_hit_rate\":%.3f,\"finished\":%d,\"cancelled\":%d,\"expired\":%d,\"evictions\":%d}%n",
                seed, step, all.size(), preemptions, chunksChecked, usage.prefixHitRate(),
                all.stream().filter(s -> s.status() == RequestStatus.FINISHED).count(),
                all.stream().filter(s -> s.status() == RequestStatus.CANCELLED).count(),
                all.stream().filter(s -> s.status() == RequestStatus.DEADLINE_EXCEEDED).count(),
                usage.groups().stream().mapToLong(KvCacheUsage.GroupUsage::evictions).sum());
        assertThat(usage.runningSequences()).isZero();
        assertThat(usage.groups()).allSatisfy(g -> {
            assertThat(g.usedBlocks()).isZero();
            assertThat(g.freeBlocks()).isEqualTo(g.totalBlocks());
        });
        for (int g = 0; g < layout.numGroups(); g++) {
            for (int id = 0; id < kv.pool(g).numBlocks(); id++) {
                assertThat(kv.pool(g).block(id).refCount()).isZero();
            }
        }
    }

    private static ScheduledRequest newRequest(Random random, int[][] sharedPrefixes, String id, int now) {
        int[] prefix = sharedPrefixes[random.nextInt(sharedPrefixes.length)];
        int prefixLength = random.nextInt(prefix.length + 1);
        int suffixLength = 1 + random.nextInt(12);
        int[] prompt = new int[prefixLength + suffixLength];
        System.arraycopy(prefix, 0, prompt, 0, prefixLength);
        for (int i = prefixLength; i < prompt.length; i++) {
            prompt[i] = 1 + random.nextInt(49);
        }
        long deadline = random.nextDouble() < 0.2 ? now + 5 + random.nextInt(150) : Long.MAX_VALUE;
        return ScheduledRequest.builder(
                        new Sequence(id, prompt, CacheKeys.of(KvTestSupport.MODEL, "tenant-" + random.nextInt(2))))
                .priority(random.nextInt(3))
                .deadlineNanos(deadline)
                .build();
    }

    /**
     * Every block's reference count equals the number of block tables holding it; no table holds a block twice; a
     * block in two tables is a cached prefix block; a cached block in a table carries that table's hash at its index
     * (so shared blocks hold the same tokens); the used count matches the held set.
     */
    private static void checkInvariants(KvCacheManager kv, List<ScheduledRequest> all) {
        Map<String, ScheduledRequest> byId = new HashMap<>();
        for (ScheduledRequest s : all) {
            byId.put(s.requestId(), s);
        }
        for (int g = 0; g < kv.layout().numGroups(); g++) {
            Map<KvBlock, Integer> holders = new IdentityHashMap<>();
            for (Map.Entry<String, List<KvBlock>> table : kv.blockTablesOfGroup(g).entrySet()) {
                ScheduledRequest s = byId.get(table.getKey());
                assertThat(s.status()).isEqualTo(RequestStatus.RUNNING);
                List<BlockHash> hashes = kv.blockHashes(s.sequence());
                List<KvBlock> blocks = table.getValue();
                for (int i = 0; i < blocks.size(); i++) {
                    KvBlock block = blocks.get(i);
                    if (block.isNull()) {
                        continue;
                    }
                    assertThat(blocks.subList(i + 1, blocks.size())).doesNotContain(block);
                    holders.merge(block, 1, Integer::sum);
                    if (block.hash() != null) {
                        assertThat(block.hash()).isEqualTo(hashes.get(i));
                    }
                }
            }
            BlockPool pool = kv.pool(g);
            for (int id = 1; id < pool.numBlocks(); id++) {
                KvBlock block = pool.block(id);
                int held = holders.getOrDefault(block, 0);
                assertThat(block.refCount()).as("ref count of block %d in group %d", id, g).isEqualTo(held);
                if (held > 1) {
                    assertThat(block.hash()).as("block %d shared by %d sequences", id, held).isNotNull();
                }
            }
            assertThat(pool.numUsedBlocks()).isEqualTo(holders.size());
        }
    }
}
