package dev.gemmaflink.runtime.engine;

import static dev.gemmaflink.runtime.engine.EngineTestSupport.engine;
import static dev.gemmaflink.runtime.engine.EngineTestSupport.prompt;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gemmaflink.runtime.generate.GenerationParams;
import dev.gemmaflink.runtime.generate.GenerationResult;
import dev.gemmaflink.runtime.generate.Generator;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.sched.ScheduledRequest;
import dev.gemmaflink.runtime.tools.checkpoint.TinyCheckpoint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random arrivals, lengths, priorities, shared prefixes, cancellations and deadlines against a pool that holds about
 * two sequences: every request gets exactly one terminal outcome, the one its kind determines, with exactly the
 * single-sequence tokens (or the prefix of them it was cut at), and the pool ends empty.
 *
 * <p>Timing changes only how requests meet in batches (the random pauses between submits), never the outcome
 * asserted. Every cut is placed by the test, on the engine thread, through the engine's
 * {@linkplain GemmaEngineBuilder#beforeIteration hook at the top of each iteration} (before the engine reads its
 * inbox and plans its step), not by the clock racing the engine:
 * <ul>
 *   <li>deadlines that are already past when the engine first looks at the request (submitted while the hook holds
 *       the engine thread, released only once the clock has moved past them): DEADLINE from the queue, no
 *       token;</li>
 *   <li>deadlines of an hour: the request runs to its normal end;</li>
 *   <li>a deadline that passes while the request runs: once it has a token, the hook keeps the engine thread until
 *       the deadline is behind, so the step planned next expires it. DEADLINE with one token, or none when the
 *       deadline came first (in the queue or the prefill; which of the two paths is taken depends on the machine's
 *       speed, the outcome asserted does not);</li>
 *   <li>cancellation while running: the hook cancels it when it has k tokens; the cancel is read before the next
 *       step: CANCELLED with exactly k tokens;</li>
 *   <li>cancellation while queued: submitted and cancelled while the hook holds the engine thread, so the request
 *       and its cancel are taken in the same iteration: CANCELLED, no token.</li>
 * </ul>
 */
class EngineStressTest {

    /** Bound on waits for the engine (liveness only: no outcome depends on it). */
    private static final long WAIT_SECONDS = 120;
    /** Deadline of the requests whose deadline passes while they run (their listener sleeps it out). */
    private static final Duration RUNNING_DEADLINE = Duration.ofMillis(200);

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

    /** What a request is set up to do; each has one outcome, independent of timing. */
    enum Kind {
        /** No deadline, default stop ids: the reference tokens, STOP or LENGTH as the reference ends. */
        NORMAL,
        /** A deadline an hour away: as NORMAL. */
        LONG_DEADLINE,
        /** A 1 ns deadline, behind when the engine takes it: DEADLINE, no token. */
        EXPIRED_AT_SUBMIT,
        /** Its deadline passes while it runs: DEADLINE with the tokens its listener saw. */
        EXPIRES_RUNNING,
        /** Cancelled by its listener at its k-th token: CANCELLED with k tokens. */
        CANCEL_RUNNING,
        /** Cancelled right after submit while the engine thread is held: CANCELLED, no token. */
        CANCEL_QUEUED,
        /** Submitted as the hook starts holding the engine thread, so the engine has work; then runs to LENGTH. */
        HOLD
    }

    private record Submitted(Kind kind, int[] prompt, GenerationParams params, RequestHandle handle,
            List<Integer> streamed, int cancelAt) {
    }

    @Test
    void randomTrafficGivesEveryRequestItsOneOutcomeAndLeavesThePoolEmpty() throws Exception {
        SplittableRandom rnd = new SplittableRandom(2024);
        int[] sharedPrefix = prompt(16, 77);
        List<Submitted> submitted = new ArrayList<>();
        Cuts cuts = new Cuts();
        try (GemmaEngine engine = engine(model, EngineTestSupport.config()
                .kvCacheBytes(EngineTestSupport.budgetFor(2, 128, 16)).maxBatchSize(6))
                .beforeIteration(cuts).build()) {
            cuts.engine = engine;
            Traffic traffic = new Traffic(engine, submitted, cuts);

            // Warm-up, one at a time on an idle engine: the second request finds the first one's prefix blocks.
            Submitted first = traffic.submit(Kind.NORMAL, EngineTestSupport.concat(sharedPrefix, prompt(5, 1)),
                    rnd, 0);
            first.handle().result().get(WAIT_SECONDS, TimeUnit.SECONDS);
            Submitted second = traffic.submit(Kind.NORMAL, EngineTestSupport.concat(sharedPrefix, prompt(7, 2)),
                    rnd, 0);
            assertThat(second.handle().result().get(WAIT_SECONDS, TimeUnit.SECONDS).cachedPromptTokens())
                    .as("prompt tokens of the second request served from the first one's blocks").isPositive();

            for (int i = 0; i < 40; i++) {
                int[] p = prompt(1 + rnd.nextInt(40), 1000 + i);
                if (rnd.nextInt(3) == 0) {
                    p = EngineTestSupport.concat(sharedPrefix, p);
                }
                int pick = rnd.nextInt(20);
                if (pick < 4) {
                    // A held burst: whatever the test submits now reaches the inbox before the engine can act.
                    traffic.heldBurst(rnd, i);
                    continue;
                }
                Kind kind = pick < 11 ? Kind.NORMAL : pick < 13 ? Kind.LONG_DEADLINE
                        : pick < 16 ? Kind.CANCEL_RUNNING : Kind.EXPIRES_RUNNING;
                traffic.submit(kind, p, rnd, rnd.nextInt(3));
                if (rnd.nextInt(4) == 0) {
                    Thread.sleep(rnd.nextInt(5));
                }
            }
            CompletableFuture.allOf(submitted.stream().map(s -> s.handle().result())
                    .toArray(CompletableFuture[]::new)).get(WAIT_SECONDS, TimeUnit.SECONDS);

            Map<Kind, Integer> perKind = new EnumMap<>(Kind.class);
            for (Submitted s : submitted) {
                perKind.merge(s.kind(), 1, Integer::sum);
                assertOutcome(s, s.handle().result().get());
                // Its one outcome is final: a late cancel finds nothing in flight.
                assertThat(s.handle().cancel()).as("late cancel of %s", s.handle().requestId()).isFalse();
            }
            for (Kind k : Kind.values()) {
                assertThat(perKind.getOrDefault(k, 0)).as("requests of kind %s in this traffic", k).isPositive();
            }

            EngineMetrics m = engine.metrics();
            assertThat(m.submitted()).isEqualTo(submitted.size());
            assertThat(m.completed()).as("terminal outcomes").isEqualTo(submitted.size());
            assertThat(m.cancelled()).isEqualTo(count(perKind, Kind.CANCEL_RUNNING, Kind.CANCEL_QUEUED));
            assertThat(m.deadlineExceeded()).isEqualTo(count(perKind, Kind.EXPIRED_AT_SUBMIT, Kind.EXPIRES_RUNNING));
            assertThat(m.failed()).isZero();
            assertThat(m.queueDepth()).isZero();
            assertThat(m.runningBatchSize()).isZero();
            for (EngineMetrics.KvGroupMetrics g : m.kv()) {
                assertThat(g.usedBlocks()).as("used blocks of %s", g.type()).isZero();
            }
            assertThat(m.prefixHitTokens()).isPositive();
        }
    }

    private static long count(Map<Kind, Integer> perKind, Kind... kinds) {
        return Arrays.stream(kinds).mapToLong(k -> perKind.getOrDefault(k, 0)).sum();
    }

    private static void assertOutcome(Submitted s, EngineResult r) {
        String id = s.handle().requestId() + " (" + s.kind() + ")";
        GenerationResult reference = reference(s.prompt(), s.params());
        int[] expected = reference.tokens();
        int[] streamed = s.streamed().stream().mapToInt(Integer::intValue).toArray();
        assertThat(r.tokens()).as("tokens of %s against what it streamed", id).containsExactly(streamed);
        switch (s.kind()) {
            case NORMAL, LONG_DEADLINE, HOLD -> {
                assertThat(r.finishReason()).as(id).isEqualTo(switch (reference.finishReason()) {
                    case STOP -> EngineFinishReason.STOP;
                    case LENGTH -> EngineFinishReason.LENGTH;
                    default -> throw new AssertionError("reference of " + id + " ended " + reference.finishReason());
                });
                assertThat(r.tokens()).as(id).containsExactly(expected);
            }
            case EXPIRED_AT_SUBMIT -> {
                assertThat(r.finishReason()).as(id).isEqualTo(EngineFinishReason.DEADLINE);
                assertThat(r.tokens()).as(id).isEmpty();
                assertThat(r.timeToFirstTokenMillis()).as(id).isEqualTo(-1);
            }
            case EXPIRES_RUNNING -> {
                assertThat(r.finishReason()).as(id).isEqualTo(EngineFinishReason.DEADLINE);
                // One token when it started before its deadline (the listener then sleeps the deadline out), none
                // when it did not: either way a prefix of the reference, and never more than one.
                assertThat(r.numTokens()).as(id).isLessThanOrEqualTo(1);
                assertThat(r.tokens()).as(id).containsExactly(Arrays.copyOf(expected, r.numTokens()));
            }
            case CANCEL_RUNNING -> {
                assertThat(r.finishReason()).as(id).isEqualTo(EngineFinishReason.CANCELLED);
                assertThat(r.tokens()).as(id).containsExactly(Arrays.copyOf(expected, s.cancelAt()));
            }
            case CANCEL_QUEUED -> {
                assertThat(r.finishReason()).as(id).isEqualTo(EngineFinishReason.CANCELLED);
                assertThat(r.tokens()).as(id).isEmpty();
                assertThat(r.timeToFirstTokenMillis()).as(id).isEqualTo(-1);
            }
            default -> throw new AssertionError(s.kind());
        }
    }

    /** The reference: a single-sequence generation, sampled by the Java {@code Sampler} from host logits. */
    private static GenerationResult reference(int[] prompt, GenerationParams params) {
        try (Generator g = new Generator(model, null, 0, Generator.DEFAULT_PREFILL_CHUNK,
                Generator.Sampling.HOST_REFERENCE)) {
            return g.generate(prompt, params, null);
        }
    }

    /** Submits requests of each kind, with the parameters and token listener that fix its outcome. */
    private static final class Traffic {
        private final GemmaEngine engine;
        private final List<Submitted> submitted;
        private final Cuts cuts;

        Traffic(GemmaEngine engine, List<Submitted> submitted, Cuts cuts) {
            this.engine = engine;
            this.submitted = submitted;
            this.cuts = cuts;
        }

        /**
         * One request of {@code kind} (not CANCEL_QUEUED or HOLD, which only a held burst submits). Every listener
         * first records the token, so the result can be checked against what was streamed.
         */
        Submitted submit(Kind kind, int[] prompt, SplittableRandom rnd, int priority) {
            String id = "r" + submitted.size() + "-" + kind;
            int maxNewTokens = 1 + rnd.nextInt(30);
            GenerationParams.Builder params = GenerationParams.builder().temperature(0);
            EngineRequest.Builder b = EngineRequest.builder().requestId(id).promptIds(prompt).priority(priority);
            List<Integer> streamed = new CopyOnWriteArrayList<>();
            int cancelAt = 0;
            switch (kind) {
                case NORMAL -> { } // default stop ids: some stop early
                case LONG_DEADLINE -> b.timeout(Duration.ofHours(1));
                case EXPIRED_AT_SUBMIT -> b.timeout(Duration.ofNanos(1));
                case EXPIRES_RUNNING -> {
                    // No stop ids and at least two tokens: only the deadline can end it. Once it has a token the
                    // hook keeps the engine thread until the deadline is behind; the next plan expires it.
                    maxNewTokens = Math.max(2, maxNewTokens);
                    params.stopIds();
                    b.timeout(RUNNING_DEADLINE);
                    cuts.expireAtFirstToken.add(id);
                }
                case CANCEL_RUNNING -> {
                    // No stop ids and more tokens than the cut: only the cancel can end it. The hook cancels it
                    // before the engine reads its inbox, so it ends with exactly cancelAt tokens.
                    cancelAt = 1 + rnd.nextInt(3);
                    maxNewTokens = Math.max(cancelAt + 1, maxNewTokens);
                    params.stopIds();
                    cuts.cancelAt.put(id, cancelAt);
                }
                default -> throw new IllegalArgumentException(kind + " is submitted by heldBurst");
            }
            GenerationParams p = params.maxNewTokens(maxNewTokens).build();
            RequestHandle h = engine.submit(b.params(p).build(), (token, delta) -> streamed.add(token));
            Submitted s = new Submitted(kind, prompt, p, h, streamed, cancelAt);
            submitted.add(s);
            return s;
        }

        /**
         * The hook holds the engine thread at the top of its next iteration (a HOLD request makes sure there is
         * one); meanwhile requests whose deadline is already past and requests cancelled right after submit (and a
         * normal one now and then) reach the inbox together with their cancels. The hold is released once the clock
         * is past the expired ones' deadlines: the engine takes all of them in one iteration, before it plans a
         * step.
         */
        void heldBurst(SplittableRandom rnd, int seed) throws InterruptedException {
            CountDownLatch entered = cuts.hold();
            int[] holdPrompt = prompt(2 + rnd.nextInt(10), 5000 + seed);
            GenerationParams holdParams = GenerationParams.builder().temperature(0).stopIds()
                    .maxNewTokens(1 + rnd.nextInt(8)).build();
            List<Integer> holdStreamed = new CopyOnWriteArrayList<>();
            RequestHandle hold = engine.submit(EngineRequest.builder().requestId("r" + submitted.size() + "-HOLD")
                    .promptIds(holdPrompt).params(holdParams).build(), (token, delta) -> holdStreamed.add(token));
            submitted.add(new Submitted(Kind.HOLD, holdPrompt, holdParams, hold, holdStreamed, 0));
            assertThat(entered.await(WAIT_SECONDS, TimeUnit.SECONDS)).as("the engine thread is held").isTrue();
            try {
                Long pastBy = null;
                int n = 1 + rnd.nextInt(3);
                for (int j = 0; j < n; j++) {
                    int[] p = prompt(1 + rnd.nextInt(40), 7000 + seed * 8 + j);
                    int pick = rnd.nextInt(5);
                    if (pick < 2) {
                        Submitted q = queuedAndCancelled(p, rnd);
                        assertThat(q.handle().cancel()).as("cancel of %s", q.handle().requestId()).isTrue();
                    } else if (pick < 4) {
                        submit(Kind.EXPIRED_AT_SUBMIT, p, rnd, rnd.nextInt(3));
                        pastBy = System.nanoTime() + 1; // its deadline (submit instant + 1 ns) is at or before this
                    } else {
                        submit(Kind.NORMAL, p, rnd, rnd.nextInt(3));
                    }
                }
                if (pastBy != null) {
                    sleepUntil(pastBy);
                }
            } finally {
                cuts.release();
            }
        }

        private Submitted queuedAndCancelled(int[] prompt, SplittableRandom rnd) {
            String id = "r" + submitted.size() + "-" + Kind.CANCEL_QUEUED;
            GenerationParams p = GenerationParams.builder().temperature(0).stopIds()
                    .maxNewTokens(1 + rnd.nextInt(30)).build();
            List<Integer> streamed = new CopyOnWriteArrayList<>();
            RequestHandle h = engine.submit(EngineRequest.builder().requestId(id).promptIds(prompt).params(p)
                    .priority(rnd.nextInt(3)).build(), (token, delta) -> streamed.add(token));
            Submitted s = new Submitted(Kind.CANCEL_QUEUED, prompt, p, h, streamed, 0);
            submitted.add(s);
            return s;
        }
    }

    /**
     * The test's hand on the engine thread, called at the top of each iteration with work: holds the thread while a
     * burst is submitted, cancels CANCEL_RUNNING requests at their token count, and sleeps out the deadline of
     * EXPIRES_RUNNING requests once they have a token.
     */
    private static final class Cuts implements java.util.function.Consumer<List<ScheduledRequest>> {
        final Map<String, Integer> cancelAt = new java.util.concurrent.ConcurrentHashMap<>();
        final java.util.Set<String> expireAtFirstToken = java.util.concurrent.ConcurrentHashMap.newKeySet();
        volatile GemmaEngine engine;
        private volatile CountDownLatch entered;
        private volatile CountDownLatch release;

        /** Holds the engine thread from its next iteration on; returns the latch that opens once it is held. */
        CountDownLatch hold() {
            CountDownLatch e = new CountDownLatch(1);
            release = new CountDownLatch(1);
            entered = e;
            return e;
        }

        void release() {
            CountDownLatch r = release;
            entered = null;
            release = null;
            r.countDown();
        }

        @Override
        public void accept(List<ScheduledRequest> running) {
            CountDownLatch e = entered;
            CountDownLatch r = release;
            if (e != null && r != null) {
                e.countDown();
                awaitQuietly(r);
            }
            for (ScheduledRequest request : running) {
                Integer at = cancelAt.get(request.requestId());
                if (at != null && request.numOutputTokens() >= at) {
                    cancelAt.remove(request.requestId());
                    engine.cancel(request.requestId());
                }
                if (request.numOutputTokens() >= 1 && expireAtFirstToken.remove(request.requestId())) {
                    sleepUntil(request.deadlineNanos() + 1);
                }
            }
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            if (!latch.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the test never released the hold");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Returns once {@link System#nanoTime()} is past {@code nanoTime}. */
    private static void sleepUntil(long nanoTime) {
        long left;
        while ((left = nanoTime - System.nanoTime()) >= 0) {
            try {
                Thread.sleep(left / 1_000_000 + 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
