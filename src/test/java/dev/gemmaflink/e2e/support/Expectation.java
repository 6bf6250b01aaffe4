package dev.gemmaflink.e2e.support;

import dev.gemmaflink.schemas.ErrorCode;

/**
 * One input record and the one outcome the pipeline must produce for it.
 *
 * @param value record value to publish (null for a tombstone)
 * @param requestId request id the outcome must carry; null when the record cannot be decoded
 * @param output expected result text, or null when a dead letter is expected
 * @param errorCode expected dead-letter code, or null when a result is expected
 */
public record Expectation(byte[] value, String requestId, String output, ErrorCode errorCode) {

    public static Expectation result(byte[] value, String requestId, String output) {
        return new Expectation(value, requestId, output, null);
    }

    public static Expectation deadLetter(byte[] value, String requestId, ErrorCode code) {
        return new Expectation(value, requestId, null, code);
    }

    public boolean expectsResult() {
        return errorCode == null;
    }
}
