package dev.gemmaflink.operators.gemma;

import dev.gemmaflink.operators.enrich.EnricherUnavailableException;
import dev.gemmaflink.operators.enrich.EnrichmentException;
import dev.gemmaflink.runtime.engine.EngineError;
import dev.gemmaflink.runtime.engine.EngineResult;
import dev.gemmaflink.schemas.ErrorCode;

/**
 * The one mapping from how the engine ended a request to the pipeline's dead-letter codes. A request that the engine
 * finished ({@code STOP}, {@code LENGTH}) is a result; everything else is a dead letter, or a retry for a full queue,
 * or, when the engine itself is gone, a failure of the task (which restarts from the checkpoint and replays the
 * request: the record is fine, the engine is not). The DataStream job's enricher and the SQL model provider
 * ({@code operators.sql}) both map through it, so a row and a record that fail alike get the same code.
 */
public final class EngineFailures {

    /** Dead-letter reason of image requests on a text-only checkpoint. */
    static final String VISION_UNAVAILABLE = "captioning needs a multimodal checkpoint (one with a vision_config, "
            + "e.g. gemma-3-4b-it): the configured model reads text only";

    private EngineFailures() {
    }

    /**
     * Why a request did not produce a result.
     *
     * @param result the engine's result, not {@code STOP} or {@code LENGTH}
     * @return the request's failure: an {@link EnrichmentException} (dead letter or retry), or an
     *     {@link EnricherUnavailableException} when the engine stopped serving
     */
    public static RuntimeException of(EngineResult result) {
        switch (result.finishReason()) {
            case DEADLINE:
                return new EnrichmentException(ErrorCode.TIMEOUT, "the request's deadline passed in the engine after "
                        + Math.round(result.totalMillis()) + " ms");
            case CANCELLED:
                return new EnrichmentException(ErrorCode.TIMEOUT, "the request was cancelled in the engine after "
                        + Math.round(result.totalMillis()) + " ms (enrich.async-timeout)");
            case ERROR:
                return of(result.error());
            default:
                throw new IllegalArgumentException("request " + result.requestId() + " finished normally ("
                        + result.finishReason() + "): not a failure");
        }
    }

    /**
     * The failure of a constrained request that the engine ended ({@code LENGTH}) before its output was a complete
     * match ({@link EngineResult#incomplete()}): the partial label or JSON would not parse, so it is an
     * {@code OUTPUT_INCOMPLETE} dead letter, not a result.
     */
    public static EnrichmentException incomplete(EngineResult result) {
        if (!result.incomplete()) {
            throw new IllegalArgumentException("request " + result.requestId() + " is complete: not a failure");
        }
        return new EnrichmentException(ErrorCode.OUTPUT_INCOMPLETE, "the output reached its limit of "
                + result.numTokens() + " tokens before the constrained structure closed (finish reason "
                + result.finishReason() + "); raise generation.maxNewTokens");
    }

    private static RuntimeException of(EngineError error) {
        return switch (error.reason()) {
            case QUEUE_FULL -> EnrichmentException.retryable(ErrorCode.TIMEOUT,
                    "the engine's queue stayed full until enrich.async-timeout: " + error.message());
            case PROMPT_TOO_LONG -> new EnrichmentException(ErrorCode.PROMPT_TOO_LONG, error.message());
            case INVALID_PROMPT -> new EnrichmentException(ErrorCode.INVALID_PARAMETER, error.message());
            case IMAGES_UNSUPPORTED -> new EnrichmentException(ErrorCode.ENRICHMENT_FAILED, VISION_UNAVAILABLE);
            case IMAGE_TOO_LARGE -> new EnrichmentException(ErrorCode.IMAGE_TOO_LARGE, "image: " + error.message());
            case IMAGE_UNREADABLE -> new EnrichmentException(ErrorCode.IMAGE_UNREADABLE, "image: " + error.message());
            case ENGINE_FAILURE -> new EnrichmentException(ErrorCode.ENRICHMENT_FAILED,
                    "the engine failed: " + error.message());
            case ENGINE_CLOSED -> new EnricherUnavailableException("the shared Gemma engine stopped serving: "
                    + error.message());
        };
    }
}
