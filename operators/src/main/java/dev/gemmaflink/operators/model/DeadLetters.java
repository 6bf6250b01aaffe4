package dev.gemmaflink.operators.model;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.Stage;

/**
 * Builds {@link DeadLetter}s that keep the original bytes and origin of a record, and cuts them to a size a Kafka
 * producer accepts.
 */
public final class DeadLetters {

    /** Longest reason kept, in chars; a longer one (an exception chain, say) is cut and says so. */
    public static final int MAX_REASON_CHARS = 4096;

    /**
     * Bytes a dead letter needs besides its original bytes, at most: topic, request id, stage, code, a reason of
     * {@link #MAX_REASON_CHARS} chars (up to 3 UTF-8 bytes each), the key and Kafka's record overhead.
     */
    public static final int MAX_OVERHEAD_BYTES = 64 * 1024;

    /** Bytes of a cut original value kept at the start of {@code originalBytes}, so it can still be recognised. */
    public static final int TRUNCATED_PREFIX_BYTES = 1024;

    private DeadLetters() {
    }

    /**
     * A dead letter for a record, with the whole original value, its size and SHA-256.
     *
     * @param origin the record as read from Kafka
     * @param requestId the request id when known, else null
     * @param stage the stage that rejected it
     * @param code machine-readable reason
     * @param reason human-readable reason naming the offending field or value
     */
    public static DeadLetter of(SourceRecord origin, String requestId, Stage stage, ErrorCode code, String reason) {
        byte[] value = origin.value();
        return DeadLetter.newBuilder()
                .setOriginalBytes(origin.valueBuffer())
                .setOriginalSize(value == null ? null : (long) value.length)
                .setOriginalSha256(value == null ? null : sha256(value))
                .setOriginalTruncated(false)
                .setSourceTopic(origin.topic())
                .setSourcePartition(origin.partition())
                .setSourceOffset(origin.offset())
                .setRequestId(requestId)
                .setStage(stage.name())
                .setErrorCode(code.name())
                .setReason(reason)
                .setTime(Instant.now())
                .build();
    }

    /**
     * The dead letter cut to fit: an original value longer than {@code maxOriginalBytes} is replaced by its first
     * {@link #TRUNCATED_PREFIX_BYTES} bytes ({@code originalTruncated}; size and SHA-256 still describe the whole
     * value), and a reason longer than {@link #MAX_REASON_CHARS} is cut. Returns the same instance when nothing
     * needs cutting.
     */
    public static DeadLetter fit(DeadLetter deadLetter, int maxOriginalBytes) {
        ByteBuffer original = deadLetter.getOriginalBytes();
        boolean cutOriginal = original != null && original.remaining() > maxOriginalBytes;
        boolean cutReason = deadLetter.getReason().length() > MAX_REASON_CHARS;
        if (!cutOriginal && !cutReason) {
            return deadLetter;
        }
        DeadLetter.Builder fitted = DeadLetter.newBuilder(deadLetter);
        String reason = deadLetter.getReason();
        if (cutReason) {
            int cut = reason.length() - MAX_REASON_CHARS;
            reason = reason.substring(0, MAX_REASON_CHARS) + " ... (" + cut + " more chars cut)";
        }
        if (cutOriginal) {
            int whole = original.remaining();
            byte[] prefix = new byte[Math.min(TRUNCATED_PREFIX_BYTES, maxOriginalBytes)];
            original.duplicate().get(prefix);
            fitted.setOriginalBytes(ByteBuffer.wrap(prefix)).setOriginalTruncated(true);
            reason = reason + String.format(" [original value of %d bytes is over dead-letter.max-original-bytes "
                    + "(%d): originalBytes holds its first %d bytes; the record stays in %s/%d at offset %d]",
                    whole, maxOriginalBytes, prefix.length, deadLetter.getSourceTopic(),
                    deadLetter.getSourcePartition(), deadLetter.getSourceOffset());
        }
        return fitted.setReason(reason).build();
    }

    /** Lowercase hex SHA-256 of {@code bytes}. */
    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
