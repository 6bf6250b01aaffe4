package dev.gemmaflink.runtime.engine;

import static dev.gemmaflink.runtime.engine.EngineTestSupport.engine;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.prompt;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.reference;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.model.GemmaModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random arrivals, lengths, priorities, shared prefixes, cancellations and deadlines against a pool that holds about
 * two sequences: every future completes, every request that ran to its end produced exactly the single-sequence
 * tokens, and the pool ends empty.
 */
class EngineStressTest {

    @TempDir
    static Path tmp;

    static TinyCheckpoint ckpt;
    static GemmaModel model;

    @BeforeAll
    static void load() {
        ckpt = EngineTestSupport.write(tmp.resolve("ckpt"));
        model = EngineTestSupport.load(ckpt);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private record Submitted(int[] prompt, GenerationParams params, RequestHandle handle, boolean cancel) {
    }

    @Test
    void randomTrafficCompletesEveryFutureAndLeavesThePoolEmpty() throws Exception {
        SplittableRandom rnd = new SplittableRandom(2024);
        int[] sharedPrefix = prompt(16, 77);
        List<Submitted> submitted = new ArrayList<>();
        try (GemmaEngine engine = engine(model, EngineTestSupport.config()
                .kvCacheBytes(EngineTestSupport.budgetFor(2, 128, 16)).maxBatchSize(6)).build()) {
            for (int i = 0; i < 40; i++) {
                int[] p = prompt(1 + rnd.nextInt(40), 1000 + i);
                if (rnd.nextInt(3) == 0) {
                    p = EngineTestSupport.concat(sharedPrefix, p);
                }
                GenerationParams params = GenerationParams.builder().temperature(0)
                        .maxNewTokens(1 + rnd.nextInt(30)).build(); // default stop ids: some stop early
                EngineRequest.Builder b = EngineRequest.builder().requestId("r" + i).promptIds(p).params(params)
                        .priority(rnd.nextInt(3));
                if (rnd.nextInt(8) == 0) {
                    b.timeout(Duration.ofMillis(1 + rnd.nextInt(20)));
                }
                boolean cancel = rnd.nextInt(6) == 0;
                RequestHandle h = engine.submit(b.build());
                submitted.add(new Submitted(p, params, h, cancel));
                if (cancel) {
                    h.cancel();
                }
                if (rnd.nextInt(4) == 0) {
                    Thread.sleep(rnd.nextInt(5));
                }
            }
            CompletableFuture.allOf(submitted.stream().map(s -> s.handle().result())
                    .toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            int finishedNormally = 0;
            for (Submitted s : submitted) {
                EngineResult r = s.handle().result().get();
                assertThat(r.finishReason()).isIn(EnumSet.of(EngineFinishReason.STOP, EngineFinishReason.LENGTH,
                        EngineFinishReason.CANCELLED, EngineFinishReason.DEADLINE));
                int[] expected = reference(model, s.prompt(), s.params());
                if (r.finishReason() == EngineFinishReason.STOP || r.finishReason() == EngineFinishReason.LENGTH) {
                    finishedNormally++;
                    assertThat(r.tokens()).as(s.handle().requestId()).containsExactly(expected);
                } else {
                    // Cut short: a prefix of what it would have produced.
                    assertThat(r.tokens()).as(s.handle().requestId())
                            .containsExactly(java.util.Arrays.copyOf(expected, r.numTokens()));
                }
                if (r.finishReason() == EngineFinishReason.CANCELLED) {
                    assertThat(s.cancel()).isTrue();
                }
            }
            assertThat(finishedNormally).isGreaterThan(20);
            EngineMetrics m = engine.metrics();
            assertThat(m.completed()).isEqualTo(40);
            assertThat(m.queueDepth()).isZero();
            assertThat(m.runningBatchSize()).isZero();
            for (EngineMetrics.KvGroupMetrics g : m.kv()) {
                assertThat(g.usedBlocks()).as("used blocks of %s", g.type()).isZero();
            }
            assertThat(m.prefixHitTokens()).isPositive();
        }
    }
}
