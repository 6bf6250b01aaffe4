/**
 * The scheduler, in the manner of vLLM v1: it owns every request's life cycle and drives the KV cache of
 * {@link dev.gemmaflink.runtime.kvcache}, which sees a request only as its
 * {@link dev.gemmaflink.runtime.kvcache.Sequence}. No tensors.
 *
 * <ul>
 *   <li>{@link dev.gemmaflink.runtime.sched.ScheduledRequest}: a sequence plus priority, deadline, arrival order,
 *       {@link dev.gemmaflink.runtime.sched.RequestStatus} and preemption count.</li>
 *   <li>{@link dev.gemmaflink.runtime.sched.RequestQueue} (bounded, priority then FIFO, deadlines) and
 *       {@link dev.gemmaflink.runtime.sched.PreemptionPolicy} (least important, newest first), both in one
 *       scheduling order.</li>
 *   <li>{@link dev.gemmaflink.runtime.sched.StepPlanner}: token budget per step, running requests first (decode one
 *       token each, or their next prefill chunk), then chunked prefill of admitted ones, preempting when the KV cache
 *       is full; it produces a {@link dev.gemmaflink.runtime.sched.StepPlan} of
 *       {@link dev.gemmaflink.runtime.sched.ScheduledChunk}s for the engine to execute.</li>
 * </ul>
 *
 * <p>How an engine drives it, one thread per device:
 * <pre>{@code
 * StepPlanner planner = new StepPlanner(kv, new RequestQueue(queueCapacity), maxTokensPerStep, maxBatchSize);
 * // submit (false: queue full)
 * planner.submit(ScheduledRequest.builder(new Sequence(id, promptIds, CacheKeys.of(modelId, tenant)))
 *         .priority(priority).deadlineNanos(deadline).build());
 * while (running) {
 *     StepPlan plan = planner.plan(System.nanoTime());
 *     report(plan.expired(), DEADLINE_EXCEEDED);                        // preempted ones need no report
 *     // forward: per chunk, tokens chunk.request().sequence().tokens(start, end), positions start.., and per group
 *     // chunk.slots(g, layout) (write slots, context slots, context positions)
 *     ForwardResult out = model.forward(plan);
 *     planner.commit(plan);
 *     for (ScheduledChunk c : plan.chunks()) {
 *         if (!c.samples()) continue;                                    // a prefill chunk that is not the last
 *         int token = sample(out, c);
 *         if (isStop(token) || atLengthLimit(c.request())) {
 *             planner.finish(c.request(), RequestStatus.FINISHED);
 *         } else {
 *             c.request().appendToken(token);
 *         }
 *     }
 * }
 * }</pre>
 */
package dev.gemmaflink.runtime.sched;
