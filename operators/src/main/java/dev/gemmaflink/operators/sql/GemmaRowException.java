package dev.gemmaflink.operators.sql;

import dev.gemmaflink.schemas.ErrorCode;

/** A row a gemma model could not serve, under {@code 'error-handling' = 'fail'}: it fails the job. */
public final class GemmaRowException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    GemmaRowException(String model, ErrorCode code, String reason, Throwable cause) {
        super("gemma model " + model + " could not serve a row ('error-handling' = 'fail'): " + code + ": " + reason,
                cause);
        this.code = code;
    }

    /** The row's error code. */
    public ErrorCode code() {
        return code;
    }
}
