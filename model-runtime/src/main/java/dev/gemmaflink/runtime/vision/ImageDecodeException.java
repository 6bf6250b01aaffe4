package dev.gemmaflink.runtime.vision;

import java.util.Objects;

/**
 * An image could not be turned into pixels. The {@link #reason()} is stable (callers map it to a client error);
 * the message says what was wrong with this input.
 */
public final class ImageDecodeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why decoding was refused or failed. */
    public enum Reason {
        /** No bytes at all. */
        EMPTY,
        /** More bytes than {@link ImageDecodeOptions#maxBytes()}. */
        TOO_MANY_BYTES,
        /** Not a JPEG, PNG, GIF, BMP or WebP stream (no reader recognises it). */
        UNSUPPORTED_FORMAT,
        /** A recognised format whose data is broken or truncated. */
        CORRUPT,
        /** Width x height above {@link ImageDecodeOptions#maxPixels()}, refused from the header before decoding. */
        TOO_MANY_PIXELS
    }

    private final Reason reason;
    private final String detail;

    /**
     * @param reason  the reason code
     * @param message what is wrong, naming the limit or the format where relevant
     * @param cause   the underlying error, may be null
     */
    public ImageDecodeException(Reason reason, String message, Throwable cause) {
        super(reason + ": " + message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
        this.detail = message;
    }

    /** Same without a cause. */
    public ImageDecodeException(Reason reason, String message) {
        this(reason, message, null);
    }

    /** @return the reason code */
    public Reason reason() {
        return reason;
    }

    /** @return what was wrong with this input: the message without the reason code in front */
    public String detail() {
        return detail;
    }
}
