package dev.gemmaflink.runtime.kvcache;

import dev.gemmaflink.runtime.config.GemmaConfig;
import dev.gemmaflink.runtime.sched.RequestQueue;
import dev.gemmaflink.runtime.sched.RequestStatus;
import dev.gemmaflink.runtime.sched.ScheduledChunk;
import dev.gemmaflink.runtime.sched.ScheduledRequest;
import dev.gemmaflink.runtime.sched.StepPlan;
import dev.gemmaflink.runtime.sched.StepPlanner;
import java.util.Random;

/**
 * Scheduling overhead per engine step on the Gemma 3 4B layout (no model): 256 requests with a shared 1,000-token
 * system prompt plus 1,000 own tokens, 200 decode tokens each, 64 running at most, 2,048 tokens per step, 8 GiB of KV.
 * Prints one JSON line per run. Not a test: run with {@code java -cp <test-classes>:<classes> ...KvCacheBench}.
 */
public final class KvCacheBench {

    private KvCacheBench() {
    }

    public static void main(String[] args) {
        for (int run = 0; run < 3; run++) {
            runOnce(run);
        }
    }

    private static void runOnce(int run) {
        KvCacheLayout layout = KvCacheLayout.fromLayerTypes(GemmaConfig.layerTypesFromPattern(34, 6), 1024, 4, 256,
                2, 16);
        KvCacheManager kv = KvCacheManager.builder(layout)
                .numBlocks(KvCacheSizing.blocksForBudget(layout, 8L << 30, 4096, 2048)).build();
        StepPlanner planner = new StepPlanner(kv, new RequestQueue(512), 2048, 64);
        Random random = new Random(run);
        int[] system = random.ints(1000, 3, 262_000).toArray();
        for (int r = 0; r < 256; r++) {
            int[] prompt = new int[2000];
            System.arraycopy(system, 0, prompt, 0, 1000);
            for (int i = 1000; i < 2000; i++) {
                prompt[i] = 3 + random.nextInt(262_000);
            }
            planner.submit(ScheduledRequest.builder(new Sequence("r" + r, prompt, CacheKeys.of("gemma-3-4b", "t")))
                    .build());
        }
        long planNanos = 0;
        long planOnlyNanos = 0;
        long slotNanos = 0;
        long steps = 0;
        long tokens = 0;
        int preemptions = 0;
        while (!planner.running().isEmpty() || !planner.waiting().isEmpty()) {
            long t0 = System.nanoTime();
            StepPlan plan = planner.plan(t0);
            planOnlyNanos += System.nanoTime() - t0;
            long t1 = System.nanoTime();
            for (ScheduledChunk chunk : plan.chunks()) {
                for (int g = 0; g < layout.numGroups(); g++) {
                    chunk.slots(g, layout);
                }
            }
            slotNanos += System.nanoTime() - t1;
            planner.commit(plan);
            for (ScheduledChunk chunk : plan.chunks()) {
                if (chunk.samples()) {
                    chunk.request().appendToken(3 + random.nextInt(1000));
                    if (chunk.request().numOutputTokens() >= 200) {
                        planner.finish(chunk.request(), RequestStatus.FINISHED);
                    }
                }
            }
            planNanos += System.nanoTime() - t0;
            steps++;
            tokens += plan.numTokens();
            preemptions += plan.preempted().size();
        }
        KvCacheUsage usage = kv.usage();
        System.out.printf("{\"bench\":\"kv_schedule_step\",\"run\":%d,\"steps\":%d,\"tokens\":%d,\"preemptions\":%d,"
                + "\"us_per_step\":%.1f,\"us_plan\":%.1f,\"us_slots\":%.1f,\"ns_per_token\":%.0f,\"prefix_hit_rate\":%.3f,\"full_blocks\":%d,"
                + "\"sliding_blocks\":%d}%n", run, steps, tokens, preemptions, planNanos / 1e3 / steps, planOnlyNanos / 1e3 / steps, slotNanos / 1e3 / steps,
                (double) planNanos / tokens, usage.prefixHitRate(), usage.groups().get(0).totalBlocks(),
                usage.groups().get(1).totalBlocks());
    }
}
