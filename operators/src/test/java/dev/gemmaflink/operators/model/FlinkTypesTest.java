package dev.gemmaflink.operators.model;

import static dev.gemmaflink.operators.TestRequests.caption;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Instant;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.Stage;

/** The stream element types travel as POJOs with Avro fields, never as Kryo generic types. */
class FlinkTypesTest {

    @Test
    void elementTypesArePojosWithAvroFields() {
        for (Class<?> type : new Class<?>[] {SourceRecord.class, ValidatedRequest.class, EnrichmentOutcome.class}) {
            assertThat(TypeInformation.of(type)).as(type.getSimpleName()).isInstanceOf(PojoTypeInfo.class);
        }
        PojoTypeInfo<ValidatedRequest> validated = (PojoTypeInfo<ValidatedRequest>) TypeInformation.of(
                ValidatedRequest.class);
        assertThat(validated.getTypeAt("request")).isInstanceOf(AvroTypeInfo.class);
    }

    @Test
    void validatedRequestSurvivesSerialization() throws IOException {
        SourceRecord origin = new SourceRecord("t", 1, 2L, 3L, null, new byte[] {4, 5});
        ValidatedRequest in = ValidatedRequest.of(origin, caption("r", 3, "image/png").setKey("s").build());

        ValidatedRequest out = roundTrip(in, ValidatedRequest.class);

        assertThat(out.request()).isEqualTo(in.request());
        assertThat(out.routingKey()).isEqualTo("s");
        assertThat(out.origin().origin()).isEqualTo("t/1/2");
        assertThat(out.origin().key()).isNull();
        assertThat(out.origin().value()).containsExactly(4, 5);
    }

    @Test
    void outcomesSurviveSerializationWithTheirNullSide() throws IOException {
        EnrichmentResult result = EnrichmentResult.newBuilder().setRequestId("r").setTenant("t").setKey(null)
                .setTask("SUMMARIZE").setOutputText("o").setModelId("m").setFinishReason("STOP").setPromptTokens(1)
                .setOutputTokens(1).setQueueMillis(0).setFirstTokenMillis(0).setTotalMillis(0)
                .setProcessingTime(Instant.ofEpochMilli(99)).build();
        EnrichmentOutcome success = EnrichmentOutcome.success(result);
        EnrichmentOutcome failure = EnrichmentOutcome.failure(DeadLetters.of(
                new SourceRecord("t", 0, 1L, 0L, null, null), "r", Stage.ENRICH, ErrorCode.TIMEOUT, "slow"));

        assertThat(roundTrip(success, EnrichmentOutcome.class).result()).isEqualTo(result);
        EnrichmentOutcome back = roundTrip(failure, EnrichmentOutcome.class);
        assertThat(back.result()).isNull();
        assertThat(back.deadLetter()).isEqualTo(failure.deadLetter());
    }

    @Test
    void outcomeHoldsExactlyOneSide() {
        assertThatThrownBy(() -> new EnrichmentOutcome(null, null, false)).hasMessageContaining("exactly one");
    }

    private static <T> T roundTrip(T value, Class<T> type) throws IOException {
        TypeSerializer<T> serializer = TypeInformation.of(type).createSerializer(new SerializerConfigImpl());
        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(value, out);
        return serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }
}
