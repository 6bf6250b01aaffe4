package dev.gemmaflink.operators.validate;

import static dev.gemmaflink.operators.TestRequests.origin;
import static dev.gemmaflink.operators.TestRequests.summarize;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.TestRequests;
import dev.gemmaflink.operators.model.SourceRecord;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ImageData;
import dev.gemmaflink.schemas.wire.WireCodec;

class DecodeAndValidateFunctionTest {

    private final DecodeAndValidateFunction function = new DecodeAndValidateFunction(
            new RequestValidator(TaskRegistry.defaults(), new ValidationLimits(50, 100, Set.of("image/png"), 10)));
    private final WireCodec<EnrichmentRequest> codec = WireCodec.requests();
    private final ValidationOutputs outputs = new ValidationOutputs();
    private final List<ValidatedRequest> valid = outputs.valid;
    private final List<DeadLetter> deadLetters = outputs.deadLetters;

    @BeforeEach
    void open() {
        function.open(null);
    }

    @Test
    void validBinaryAndJsonRequestsPassWithOriginAndRoutingKey() {
        process(origin(codec.encode(summarize("bin", "hello").setKey("session-1").build())));
        process(origin(codec.encodeJson(summarize("json", "hello").build())));

        assertThat(deadLetters).isEmpty();
        assertThat(valid).extracting(v -> v.request().getRequestId()).containsExactly("bin", "json");
        assertThat(valid).extracting(ValidatedRequest::routingKey).containsExactly("session-1", "acme|SUMMARIZE");
        assertThat(valid.get(0).origin().origin()).isEqualTo("requests/3/42");
    }

    @Test
    void validCaptionsLeaveWithTheirImageKeptOnceInTheOriginalValue() {
        EnrichmentRequest binary = TestRequests.caption("bin", 10, "image/png").build();
        EnrichmentRequest json = TestRequests.caption("json", 10, "image/png").build();
        byte[] binaryValue = codec.encode(binary);
        process(origin(binaryValue));
        process(origin(codec.encodeJson(json)));

        assertThat(deadLetters).isEmpty();
        assertThat(valid).allSatisfy(v -> assertThat(v.imageKeptInOrigin()).isTrue());
        assertThat(valid).extracting(ValidatedRequest::request).containsExactly(binary, json);
        assertThat(valid.get(0).origin().value()).isSameAs(binaryValue);
    }

    @Test
    void undecodableBytesBecomeADeadLetterWithOriginalBytesAndOrigin() {
        byte[] garbage = "not avro".getBytes(StandardCharsets.UTF_8);
        process(origin(garbage));

        assertThat(valid).isEmpty();
        assertThat(deadLetters).singleElement().satisfies(d -> {
            assertThat(d.getErrorCode()).isEqualTo("DECODE_FAILED");
            assertThat(d.getStage()).isEqualTo("DECODE");
            assertThat(d.getRequestId()).isNull();
            assertThat(d.getSourceTopic()).isEqualTo("requests");
            assertThat(d.getSourcePartition()).isEqualTo(3);
            assertThat(d.getSourceOffset()).isEqualTo(42L);
            assertThat(d.getOriginalBytes().array()).isEqualTo(garbage);
            assertThat(d.getReason()).contains("neither Avro single-object");
        });
    }

    @Test
    void tombstoneBecomesADeadLetter() {
        process(origin(null));

        assertThat(deadLetters).singleElement().satisfies(d -> {
            assertThat(d.getErrorCode()).isEqualTo("DECODE_FAILED");
            assertThat(d.getOriginalBytes()).isNull();
        });
    }

    @Test
    void invalidRequestBecomesAValidateDeadLetterWithItsRequestId() {
        process(origin(codec.encode(summarize("long", "x".repeat(51)).build())));

        assertThat(deadLetters).singleElement().satisfies(d -> {
            assertThat(d.getErrorCode()).isEqualTo("TEXT_TOO_LONG");
            assertThat(d.getStage()).isEqualTo("VALIDATE");
            assertThat(d.getRequestId()).isEqualTo("long");
        });
    }

    @Test
    void imageWhoseBytesAreNotItsDeclaredTypeBecomesAValidateDeadLetter() {
        byte[] jpegBytes = TestRequests.imageBytes(40, "image/jpeg");
        process(origin(codec.encode(TestRequests.caption("cap", 1, "image/png").setImage(ImageData.newBuilder()
                .setData(ByteBuffer.wrap(jpegBytes)).setMediaType("image/png").build()).build())));

        assertThat(valid).isEmpty();
        assertThat(deadLetters).singleElement().satisfies(d -> {
            assertThat(d.getErrorCode()).isEqualTo("IMAGE_UNREADABLE");
            assertThat(d.getStage()).isEqualTo("VALIDATE");
            assertThat(d.getRequestId()).isEqualTo("cap");
            assertThat(d.getReason()).isEqualTo("image declared image/png but its bytes are JPEG");
        });
    }

    @Test
    void tenantWithALineBreakBecomesAValidateDeadLetter() {
        process(origin(codec.encode(summarize("t1", "hello").setTenant("acme\nINFO forged").build())));

        assertThat(valid).isEmpty();
        assertThat(deadLetters).singleElement().satisfies(d -> {
            assertThat(d.getErrorCode()).isEqualTo("INVALID_PARAMETER");
            assertThat(d.getStage()).isEqualTo("VALIDATE");
            assertThat(d.getReason()).isEqualTo("tenant contains control character U+000A at index 4");
        });
    }

    private void process(SourceRecord record) {
        outputs.process(function, record);
    }
}
