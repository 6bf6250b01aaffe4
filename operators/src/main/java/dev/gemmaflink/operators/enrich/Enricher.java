package dev.gemmaflink.operators.enrich;

import java.io.Serializable;
import java.util.concurrent.CompletableFuture;

import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.schemas.EnrichmentResult;

/**
 * The enrichment step: a valid request in, a result or a failure out, asynchronously.
 *
 * <p>Driven by Flink async I/O ({@link EnrichAsyncFunction}): one instance per parallel subtask, created on the
 * client, serialized to the task, {@link #open opened} there, then {@link #enrich} is called from the task thread
 * with up to {@code enrich.async-capacity} requests in flight. Implementations complete the future from any thread.
 *
 * <p>Contract:
 * <ul>
 *   <li>A failure of one request completes its future exceptionally (an {@link EnrichmentException} chooses the
 *       error code); it becomes that request's dead letter, the job goes on. A
 *       {@linkplain EnrichmentException#retryable() retryable} one is tried again until the async timeout.</li>
 *   <li>An {@link EnricherUnavailableException} says the enricher can serve no request at all (its model is
 *       gone): the task fails and restarts from the last checkpoint, which replays the request.</li>
 *   <li>{@code enrich} may be called again for the same request after a restore from a checkpoint (in-flight
 *       requests are replayed), so it must be idempotent: no side effects beyond computing the result.</li>
 *   <li>Exceptions from {@link #open} fail the task (the job restarts by its restart strategy).</li>
 * </ul>
 */
public interface Enricher extends Serializable, AutoCloseable {

    /** Acquires resources (models, threads) on the task. Called once before the first {@link #enrich}. */
    default void open(EnricherContext context) throws Exception {
    }

    /** Starts enriching one request; never blocks on the computation itself. */
    CompletableFuture<EnrichmentResult> enrich(ValidatedRequest request);

    /**
     * Gives up on a request whose {@link #enrich} future is still pending ({@code enrich.async-timeout} passed):
     * an enricher that can stop the work frees what it holds for it. The future may still complete; its outcome is
     * ignored. Default: nothing to stop.
     */
    default void cancel(ValidatedRequest request) {
    }

    /** Releases what {@link #open} acquired; in-flight futures may be left incomplete. */
    @Override
    default void close() throws Exception {
    }
}
