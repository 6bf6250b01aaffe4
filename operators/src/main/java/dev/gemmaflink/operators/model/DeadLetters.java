package dev.gemmaflink.operators.model;

import java.time.Instant;

import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.Stage;

/** Builds {@link DeadLetter}s that keep the original bytes and origin of a record. */
public final class DeadLetters {

    private DeadLetters() {
    }

    /**
     * A dead letter for a record.
     *
     * @param origin the record as read from Kafka
     * @param requestId the request id when known, else null
     * @param stage the stage that rejected it
     * @param code machine-readable reason
     * @param reason human-readable reason naming the offending field or value
     */
    public static DeadLetter of(SourceRecord origin, String requestId, Stage stage, ErrorCode code, String reason) {
        return DeadLetter.newBuilder()
                .setOriginalBytes(origin.valueBuffer())
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
}
