package dev.gemmaflink.operators.validate;

import java.util.Objects;

import dev.gemmaflink.schemas.ErrorCode;

/**
 * Why a request is invalid.
 *
 * @param code machine-readable reason
 * @param reason human-readable reason naming the field and value
 */
public record Rejection(ErrorCode code, String reason) {
    public Rejection {
        Objects.requireNonNull(code, "code");
        Objects.requireNonNull(reason, "reason");
    }
}
