package dev.gemmaflink.operators.enrich;

import java.util.Objects;

import dev.gemmaflink.schemas.ErrorCode;

/**
 * A failure of one request, with the dead-letter code it should get. A {@link #retryable()} one is tried again
 * (Flink's async retry, with back-off) until {@code enrich.async-timeout}; its code and message are the dead letter's
 * if the retries run out.
 */
public class EnrichmentException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;
    private final boolean retryable;

    public EnrichmentException(ErrorCode code, String message) {
        this(code, message, null);
    }

    public EnrichmentException(ErrorCode code, String message, Throwable cause) {
        this(code, message, cause, false);
    }

    private EnrichmentException(ErrorCode code, String message, Throwable cause, boolean retryable) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
        this.retryable = retryable;
    }

    /** A failure that may go away if the same request is tried again later (the enricher is busy). */
    public static EnrichmentException retryable(ErrorCode code, String message) {
        return new EnrichmentException(code, message, null, true);
    }

    public ErrorCode code() {
        return code;
    }

    /** True when trying the same request again later may succeed. */
    public boolean retryable() {
        return retryable;
    }
}
