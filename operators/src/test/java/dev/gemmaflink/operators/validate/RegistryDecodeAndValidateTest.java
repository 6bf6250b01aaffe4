package dev.gemmaflink.operators.validate;

import static dev.gemmaflink.operators.TestRequests.origin;
import static dev.gemmaflink.operators.TestRequests.summarize;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.model.SourceRecord;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.operators.registry.RecordDecoder;
import dev.gemmaflink.operators.registry.RegistryConfig;
import dev.gemmaflink.operators.registry.RegistryUnavailableException;
import dev.gemmaflink.operators.registry.WireFormat;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * Decode and validate with a schema registry: a registry that cannot be reached fails the task (the record is fine:
 * it is replayed after the restart) and is never a dead letter; a framed request without a registry is one.
 */
class RegistryDecodeAndValidateTest {

    private final ValidationOutputs outputs = new ValidationOutputs();
    private final List<ValidatedRequest> valid = outputs.valid;
    private final List<DeadLetter> deadLetters = outputs.deadLetters;

    private DecodeAndValidateFunction function(RecordDecoder<EnrichmentRequest> decoder) {
        DecodeAndValidateFunction f = new DecodeAndValidateFunction(new RequestValidator(TaskRegistry.defaults(),
                new ValidationLimits(50, 100, Set.of("image/png"), 10)), decoder);
        f.open(null);
        return f;
    }

    @Test
    void anUnreachableRegistryFailsTheTaskInsteadOfDeadLetteringTheRecord() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        RegistryConfig down = RegistryConfig.of("http://127.0.0.1:" + port, Map.of())
                .withRetries(Duration.ofMillis(150), Duration.ofMillis(20));
        DecodeAndValidateFunction f = function(RecordDecoder.requests(WireFormat.AUTO, down));
        byte[] framed = WireCodec.requests().encodeConfluent(5, summarize("r", "hello").build());

        assertThatThrownBy(() -> process(f, origin(framed))).isInstanceOf(RegistryUnavailableException.class)
                .hasMessageContaining("cannot read requests/3/42").hasMessageContaining("schema id 5");
        assertThat(deadLetters).isEmpty();
        assertThat(valid).isEmpty();
    }

    @Test
    void aFramedRequestWithoutARegistryIsAnUnknownSchemaDeadLetter() throws Exception {
        DecodeAndValidateFunction f = function(RecordDecoder.requests(WireFormat.AUTO, null));
        process(f, origin(WireCodec.requests().encodeConfluent(5, summarize("r", "hello").build())));
        assertThat(deadLetters).singleElement().satisfies(d -> {
            assertThat(d.getErrorCode()).isEqualTo(ErrorCode.UNKNOWN_SCHEMA.name());
            assertThat(d.getReason()).contains("schema id 5").contains("schema-registry.url");
        });
    }

    private void process(DecodeAndValidateFunction f, SourceRecord record) throws Exception {
        outputs.process(f, record);
    }
}
