package dev.gemmaflink.schemas.wire;

import dev.gemmaflink.schemas.ErrorCode;

/** Bytes that cannot be turned into a record; {@link #code()} says why in machine-readable form. */
public final class WireFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public WireFormatException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /** {@link ErrorCode#DECODE_FAILED} or {@link ErrorCode#UNKNOWN_SCHEMA}. */
    public ErrorCode code() {
        return code;
    }
}
