package dev.gemmaflink.operators.enrich;

import java.util.Objects;

import dev.gemmaflink.schemas.ErrorCode;

/** A failure of one request, with the dead-letter code it should get. */
public class EnrichmentException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public EnrichmentException(ErrorCode code, String message) {
        this(code, message, null);
    }

    public EnrichmentException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    public ErrorCode code() {
        return code;
    }
}
