package dev.gemmaflink.runtime.engine;

import dev.gemmaflink.runtime.config.LayerType;
import dev.gemmaflink.runtime.constrain.ConstraintException;
import dev.gemmaflink.runtime.generate.Sampler;
import dev.gemmaflink.runtime.kvcache.CacheKeys;
import dev.gemmaflink.runtime.kvcache.ChunkSlots;
import dev.gemmaflink.runtime.kvcache.KvCacheLayout;
import dev.gemmaflink.runtime.kvcache.KvCacheManager;
import dev.gemmaflink.runtime.kvcache.Sequence;
import dev.gemmaflink.runtime.sched.RequestStatus;
import dev.gemmaflink.runtime.sched.ScheduledChunk;
import dev.gemmaflink.runtime.sched.ScheduledRequest;
import dev.gemmaflink.runtime.sched.StepPlan;
import dev.gemmaflink.runtime.sched.StepPlanner;
import dev.gemmaflink.runtime.model.ForwardBatch;
import dev.gemmaflink.runtime.model.GemmaModel;
import dev.gemmaflink.runtime.model.GraphMode;
import dev.gemmaflink.runtime.model.KvStorage;
import dev.gemmaflink.runtime.model.SampleRow;
import dev.gemmaflink.runtime.model.SampledTokens;
import dev.gemmaflink.runtime.model.SequenceStep;
import dev.gemmaflink.runtime.model.TokenMask;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine thread: the only code that touches the planner, the KV cache manager, the KV storage and the model.
 * Other threads talk to it through the inbox (new requests, cancellations, close) and read futures and metrics.
 *
 * <p>One iteration: take every inbox command (text requests go to the planner, multimodal ones to the
 * {@link VisionStage}'s queue), encode at most {@code maxImageViewsPerStep} image views and hand the requests whose
 * images are then all encoded to the planner, plan a step ({@link StepPlanner#plan}), run one forward pass over all
 * its chunks that also samples, on the device, the next token of the chunks that end at the last known token
 * ({@link GemmaModel#forwardSample}: only token ids come back), commit, append, stop or continue. So the running
 * sequences decode in every iteration, and a burst of images delays them by one bounded encoder call per step.
 *
 * <p>Constrained requests: each sample row carries the request's {@link TokenMask} (its cursor's mask, computed on
 * the engine's mask threads since the previous token was accepted, and joined only once every step and row of the
 * batch is built, just before the forward pass); after the device returns the token, {@link RequestState#accept}
 * advances the cursor, which starts computing the next mask while this step is finished and the next planned.
 */
final class EngineLoop implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(EngineLoop.class);
    private static final long IDLE_POLL_MILLIS = 50;

    /** Inbox command: cancel the request with this id. */
    record Cancel(String requestId) {
    }

    /** Inbox command: stop accepting, drain until the deadline, then fail what is left. */
    record Close(long drainDeadlineNanos) {
    }

    private final GemmaModel model;
    private final KvCacheManager kvCache;
    private final KvCacheLayout layout;
    private final StepPlanner planner;
    private final KvStorage storage;
    /** How each step runs the model's graph ({@link EngineConfig#graphMode()}). */
    private final GraphMode graphMode;
    private final String modelId;
    private final BlockingQueue<Object> inbox;
    private final Map<String, RequestState> states;
    private final AtomicInteger notStarted;
    private final MetricsRecorder metrics;
    private final Runnable onExit;
    /** Where futures are completed and listeners called: never this thread, which must keep the device busy. */
    private final Executor callbacks;
    /**
     * Runs on this thread at the top of each iteration that has work, before the inbox is read, with the running
     * requests (tests hold the thread, or act at a known token count, with it); a no-op otherwise.
     */
    private final Consumer<List<ScheduledRequest>> beforeIteration;
    private final int fullGroup; // -1 when the model has no such layers
    private final int slidingGroup;
    /**
     * Token deltas and results of this iteration, in order, handed to {@link #callbacks} after the metrics are
     * published (so a woken caller sees them).
     */
    private List<Runnable> completions = new ArrayList<>();
    /**
     * Multimodal requests wait here, after the inbox and before the planner, until their images are encoded (a
     * bounded number of views per iteration); null: text only. They count as not started (the submit-side queue
     * bound) and hold no KV blocks.
     */
    private final VisionStage vision;
    private long drainDeadline = Long.MAX_VALUE;
    private boolean closing;

    EngineLoop(GemmaModel model, KvCacheManager kvCache, StepPlanner planner, KvStorage storage, GraphMode graphMode,
            String modelId,
            BlockingQueue<Object> inbox, Map<String, RequestState> states,
            AtomicInteger notStarted, MetricsRecorder metrics, Runnable onExit, Executor callbacks,
            Consumer<List<ScheduledRequest>> beforeIteration, VisionStage vision) {
        this.callbacks = callbacks;
        this.beforeIteration = beforeIteration;
        this.vision = vision;
        this.model = model;
        this.kvCache = kvCache;
        this.layout = kvCache.layout();
        this.planner = planner;
        this.storage = storage;
        this.graphMode = java.util.Objects.requireNonNull(graphMode, "graphMode");
        this.modelId = modelId;
        this.inbox = inbox;
        this.states = states;
        this.notStarted = notStarted;
        this.metrics = metrics;
        this.onExit = onExit;
        this.fullGroup = groupIndex(layout, LayerType.FULL_ATTENTION);
        this.slidingGroup = groupIndex(layout, LayerType.SLIDING_ATTENTION);
    }

    static int groupIndex(KvCacheLayout layout, LayerType type) {
        for (int g = 0; g < layout.numGroups(); g++) {
            if (layout.group(g).type() == type) {
                return g;
            }
        }
        return -1;
    }

    @Override
    public void run() {
        String failure = null;
        try {
            while (true) {
                boolean idle = planner.running().isEmpty() && planner.waiting().isEmpty()
                        && (vision == null || vision.isEmpty());
                if (closing && (idle || System.nanoTime() >= drainDeadline)) {
                    break;
                }
                if (!idle) {
                    beforeIteration.accept(planner.running());
                }
                Object command = idle && !closing ? inbox.poll(IDLE_POLL_MILLIS, TimeUnit.MILLISECONDS) : inbox.poll();
                while (command != null) {
                    handle(command);
                    command = inbox.poll();
                }
                if (vision != null && !vision.isEmpty()) {
                    encodeImages();
                }
                if (!planner.running().isEmpty() || !planner.waiting().isEmpty()) {
                    step();
                }
                metrics.recordUsage(kvCache.usage(), planner.running().size(), vision == null ? 0 : vision.size());
                dispatchCompletions();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = "engine thread interrupted";
        } catch (RuntimeException | Error e) {
            LOG.error("engine thread failed; failing every pending request", e);
            failure = "engine thread failed: " + e;
        } finally {
            failRemaining(failure != null ? failure : "engine closed before the request finished (drain timeout)");
            onExit.run();
        }
    }

    /** Hands this iteration's callbacks, in order, to the callback thread. */
    private void dispatchCompletions() {
        if (!completions.isEmpty()) {
            List<Runnable> batch = completions;
            completions = new ArrayList<>();
            callbacks.execute(() -> batch.forEach(Runnable::run));
        }
    }

    private void handle(Object command) {
        if (command instanceof RequestState s) {
            if (s.cancelRequested) {
                completeBeforeStart(s, EngineFinishReason.CANCELLED, null);
            } else if (s.imagePrompt != null) {
                vision.add(s);
            } else {
                admit(s);
            }
        } else if (command instanceof Cancel c) {
            cancel(c.requestId());
        } else if (command instanceof Close c) {
            closing = true;
            drainDeadline = c.drainDeadlineNanos();
        } else {
            throw new IllegalStateException("unknown engine command " + command);
        }
    }

    private void admit(RequestState s) {
        // A request's tenant is its cache salt unless it names one: tenants never share cached blocks.
        String salt = s.request.cacheSalt() != null ? s.request.cacheSalt() : s.request.tenant();
        CacheKeys keys = s.imagePrompt == null ? CacheKeys.of(modelId, salt)
                : CacheKeys.of(modelId, salt, s.imagePrompt.spans());
        s.scheduled = ScheduledRequest.builder(new Sequence(s.id(), s.promptIds, keys))
                .priority(s.request.priority()).deadlineNanos(s.deadlineNanos).build();
        boolean queued;
        try {
            queued = planner.submit(s.scheduled);
        } catch (IllegalArgumentException e) {
            completeBeforeStart(s, EngineFinishReason.ERROR, new EngineError(EngineError.Reason.PROMPT_TOO_LONG,
                    "request " + s.id() + ": " + e.getMessage()));
            return;
        }
        if (!queued) { // the submit-side counter bounds the queue, so this only guards against a miscount
            completeBeforeStart(s, EngineFinishReason.ERROR, new EngineError(EngineError.Reason.QUEUE_FULL,
                    "request " + s.id() + ": the engine's queue of " + planner.waiting().capacity()
                            + " requests is full"));
        }
    }

    /**
     * Ends the requests of the vision queue whose deadline passed, encodes this iteration's share of the views the
     * others wait for, and queues for the planner those whose images are all encoded.
     */
    private void encodeImages() {
        for (RequestState expired : vision.removeExpired(System.nanoTime())) {
            completeBeforeStart(expired, EngineFinishReason.DEADLINE, null);
        }
        for (RequestState s : vision.step((failed, e) -> {
            completeBeforeStart(failed, EngineFinishReason.ERROR, new EngineError(EngineError.Reason.ENGINE_FAILURE,
                    "request " + failed.id() + ": image encoding failed: " + e));
        })) {
            admit(s);
        }
    }

    private void cancel(String requestId) {
        RequestState s = states.get(requestId);
        if (s == null) {
            return; // already completed
        }
        if (s.scheduled == null) {
            // A multimodal request still waiting for its images: drop it before the encoder (or the rest of its
            // views) and the planner see it.
            if (vision != null && vision.remove(s)) {
                completeBeforeStart(s, EngineFinishReason.CANCELLED, null);
            }
            return;
        }
        if (planner.cancel(requestId) != null) {
            if (!s.started) {
                notStarted.decrementAndGet();
            }
            complete(s, EngineFinishReason.CANCELLED, null);
        }
    }

    private void step() {
        long t0 = System.nanoTime();
        StepPlan plan = planner.plan(t0);
        for (ScheduledRequest expired : plan.expired()) {
            RequestState s = states.get(expired.requestId());
            if (s != null) {
                if (!s.started) {
                    notStarted.decrementAndGet();
                }
                complete(s, EngineFinishReason.DEADLINE, null);
            }
        }
        metrics.preemptions.add(plan.preempted().size());
        if (plan.isEmpty()) {
            if (planner.running().isEmpty() && !planner.waiting().isEmpty()) {
                // Nothing fits and nothing runs to free blocks: should not happen (the planner shrinks a lone
                // chunk); avoid a hot spin if it does.
                sleepQuietly();
            }
            return;
        }
        List<ScheduledChunk> chunks = plan.chunks();
        SampledTokens out;
        int[] sampleRow = new int[chunks.size()]; // per chunk, its row in the sampled tokens; -1: none
        EngineError[] maskFailed = new EngineError[chunks.size()]; // per chunk, why its token mask is not to be had
        try {
            // Building the steps is inside the try too: a step the model refuses (say, image inputs that do not fit
            // their chunk) fails this step's requests, never the engine thread.
            List<SequenceStep> steps = new ArrayList<>(chunks.size());
            List<SampleRow> rows = new ArrayList<>();
            for (ScheduledChunk c : chunks) {
                RequestState s = states.get(c.request().requestId());
                if (!s.started) {
                    s.started = true;
                    s.firstScheduledNanos = t0;
                    s.cachedPromptTokens = Math.min(c.cachedTokens(), s.promptIds.length);
                    notStarted.decrementAndGet();
                }
                SequenceStep step = new SequenceStep(c.request().sequence().tokens(c.startPosition(), c.endPosition()),
                        c.startPosition(), slots(c, slidingGroup), slots(c, fullGroup), false);
                if (s.softTokens != null && c.startPosition() < s.promptIds.length) {
                    // Also on a recompute after preemption: the soft tokens stay with the request.
                    step = step.withImages(s.softTokens.slice(c.startPosition(), c.endPosition()));
                }
                sampleRow[steps.size()] = -1;
                if (c.samples()) {
                    // The token it samples takes position endPosition: the draw depends on (seed, position) only.
                    sampleRow[steps.size()] = rows.size();
                    rows.add(Sampler.row(steps.size(), s.request.params(), c.endPosition()));
                }
                steps.add(step);
            }
            // Masks last, so that the mask threads have had all of the above to compute them.
            for (int i = 0; i < chunks.size(); i++) {
                RequestState s = states.get(chunks.get(i).request().requestId());
                if (sampleRow[i] >= 0 && s.constraint != null) {
                    try {
                        rows.set(sampleRow[i], rows.get(sampleRow[i]).withMask(s.constraint.mask()));
                    } catch (RuntimeException e) {
                        // The row stays, unmasked (its K/V are valid): its token is dropped and the request fails.
                        maskFailed[i] = maskError(s, e);
                    }
                }
            }
            out = model.forwardSample(new ForwardBatch(steps), storage, rows, graphMode);
        } catch (RuntimeException e) {
            // The step's blocks hold no valid K/V: end its requests and withdraw the blocks they alone hold from the
            // prefix cache (they were offered to it at allocation).
            LOG.warn("forward step over {} sequences failed: {}", chunks.size(), e.toString());
            for (ScheduledChunk c : chunks) {
                RequestState s = states.get(c.request().requestId());
                if (!s.started) { // the failure came before its step was built
                    s.started = true;
                    notStarted.decrementAndGet();
                }
                kvCache.discard(c.request().sequence());
                planner.finish(c.request(), RequestStatus.CANCELLED);
                complete(s, EngineFinishReason.ERROR, new EngineError(EngineError.Reason.ENGINE_FAILURE,
                        "request " + s.id() + ": forward step failed: " + e));
            }
            metrics.recordStep(chunks.size(), System.nanoTime() - t0);
            return;
        }
        planner.commit(plan);
        long now = System.nanoTime();
        for (int i = 0; i < chunks.size(); i++) {
            ScheduledChunk c = chunks.get(i);
            if (c.isDecode()) {
                metrics.decodeTokens.increment();
            } else {
                metrics.prefillTokens.add(c.numTokens());
            }
            if (c.samples()) {
                RequestState s = states.get(c.request().requestId());
                if (maskFailed[i] != null) {
                    planner.finish(s.scheduled, RequestStatus.FINISHED);
                    complete(s, EngineFinishReason.ERROR, maskFailed[i]);
                } else {
                    s.addLogprob(out.logprob(sampleRow[i]));
                    sample(s, out.token(sampleRow[i]), now);
                }
            }
        }
        metrics.recordStep(chunks.size(), System.nanoTime() - t0);
    }

    /**
     * Takes the token the device sampled for {@code s} (under its constraint's mask, if any): stop, append and
     * stream it (advancing the constraint), end it where the constraint is closed, or finish at the length cap.
     */
    private void sample(RequestState s, int token, long now) {
        if (s.firstTokenNanos < 0) {
            s.firstTokenNanos = now;
        }
        if (s.request.params().isStop(token)) {
            planner.finish(s.scheduled, RequestStatus.FINISHED);
            complete(s, EngineFinishReason.STOP, null);
            return;
        }
        String delta = s.accept(token);
        completions.add(() -> s.notifyListener(token, delta));
        if (s.constraint != null && s.constraint.isClosed()) { // a complete match that nothing may extend
            planner.finish(s.scheduled, RequestStatus.FINISHED);
            complete(s, EngineFinishReason.STOP, null);
        } else if (s.numGenerated() >= s.request.params().maxNewTokens()) {
            planner.finish(s.scheduled, RequestStatus.FINISHED);
            complete(s, EngineFinishReason.LENGTH, null);
        } else {
            s.scheduled.appendToken(token);
        }
    }

    /** Why the token mask of constrained request {@code s} cannot be had ({@code e} is what computing it threw). */
    private static EngineError maskError(RequestState s, RuntimeException e) {
        if (e instanceof ConstraintException) {
            return new EngineError(EngineError.Reason.INVALID_PROMPT, "request " + s.id()
                    + ": no token of the model's vocabulary continues its constraint here (after " + s.numGenerated()
                    + " tokens): " + e.getMessage());
        }
        LOG.warn("token mask of request {} failed: {}", s.id(), e.toString());
        return new EngineError(EngineError.Reason.ENGINE_FAILURE,
                "request " + s.id() + ": computing its token mask failed: " + e);
    }

    /** Slots of a chunk for one layer type; a type the model lacks gets slot 0 (never read: no layer uses it). */
    private ChunkSlots slots(ScheduledChunk c, int group) {
        if (group < 0) {
            int[] zeros = new int[c.numTokens()];
            return new ChunkSlots(zeros, new int[] {0}, new int[] {0});
        }
        return c.slots(group, layout);
    }

    /**
     * Ends a request: it leaves the engine's books now, its future completes on the callback thread after this
     * iteration's earlier callbacks (its last token deltas included).
     */
    /** Completes a request that never started: it leaves the count of requests not yet started. */
    private void completeBeforeStart(RequestState s, EngineFinishReason reason, EngineError error) {
        notStarted.decrementAndGet();
        complete(s, reason, error);
    }

    private void complete(RequestState s, EngineFinishReason reason, EngineError error) {
        EngineResult result = s.result(reason, error, System.nanoTime());
        states.remove(s.id());
        metrics.recordFinish(result);
        completions.add(() -> s.future.complete(result));
    }

    /** Ends every request still pending (preparing, in the inbox, queued or running) and frees their blocks. */
    private void failRemaining(String message) {
        if (vision != null) {
            vision.clear(); // the requests in it are in states too
        }
        inbox.clear(); // the requests in it are in states too
        for (RequestState s : List.copyOf(states.values())) {
            if (s.scheduled != null && !s.scheduled.status().isFinal()) {
                try {
                    planner.cancel(s.id());
                } catch (RuntimeException e) {
                    LOG.debug("cannot release request {} while closing: {}", s.id(), e.toString());
                }
            }
            complete(s, EngineFinishReason.ERROR, new EngineError(EngineError.Reason.ENGINE_CLOSED,
                    "request " + s.id() + ": " + message));
        }
        notStarted.set(0);
        metrics.recordUsage(kvCache.usage(), planner.running().size(), 0);
        dispatchCompletions();
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
