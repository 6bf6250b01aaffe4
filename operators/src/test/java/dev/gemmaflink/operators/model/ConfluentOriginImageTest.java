package dev.gemmaflink.operators.model;

import static dev.gemmaflink.operators.TestRequests.origin;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Random;

import org.apache.avro.Schema;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.gemmaflink.operators.TestRequests;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ImageData;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * A request read in the Confluent framing keeps its image once too: the run of the value is found from the bytes
 * alone (no registry on the TaskManager that restores it), and a value whose writer schema this runtime does not
 * know keeps its image in the request instead: never lost, only not halved.
 */
class ConfluentOriginImageTest {

    private static final WireCodec<EnrichmentRequest> CODEC = WireCodec.requests();

    private static EnrichmentRequest caption(int bytes, long seed) {
        byte[] image = new byte[bytes];
        new Random(seed).nextBytes(image);
        image[0] = (byte) 0x89;
        return TestRequests.summarize("cap", "what is it?").setTask("CAPTION").setImage(ImageData.newBuilder()
                .setData(ByteBuffer.wrap(image)).setMediaType("image/png").build()).build();
    }

    private static TypeSerializer<ValidatedRequest> serializer() {
        SerializerConfigImpl config = new SerializerConfigImpl();
        config.setGenericTypes(false);
        return TypeInformation.of(ValidatedRequest.class).createSerializer(config);
    }

    private static ValidatedRequest roundTrip(ValidatedRequest value) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(1 << 16);
        serializer().serialize(value, out);
        return serializer().deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }

    @Test
    void aConfluentFramedCaptionKeepsItsImageOnceInTheValue() throws IOException {
        EnrichmentRequest request = caption(64 * 1024, 1);
        byte[] value = CODEC.encodeConfluent(12345, request);

        ValidatedRequest validated = ValidatedRequest.of(origin(value), request);

        assertThat(validated.imageKeptInOrigin()).isTrue();
        OriginImage.Span span = OriginImage.locate(value);
        assertThat(span.length()).isEqualTo(64 * 1024);
        assertThat(ByteBuffer.wrap(value, span.offset(), span.length())).isEqualTo(request.getImage().getData());
        ValidatedRequest restored = roundTrip(validated);
        DataOutputSerializer out = new DataOutputSerializer(1 << 16);
        serializer().serialize(validated, out);
        assertThat(out.length()).as("image once").isLessThan(value.length + 4096);
        assertThat(restored.request()).isEqualTo(request);
        assertThat(restored.imageData().isReadOnly()).isTrue();
    }

    @Test
    void aWriterSchemaThisRuntimeDoesNotKnowKeepsTheImageInTheRequest() throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode schema = (ObjectNode) json.readTree(EnrichmentRequest.getClassSchema().toString());
        ((ArrayNode) schema.get("fields")).add(json.createObjectNode().put("name", "channel").put("type", "string")
                .put("default", "web"));
        Schema evolved = new Schema.Parser().parse(schema.toString());
        EnrichmentRequest request = caption(4096, 2);
        // The evolved writer's body: the current body plus the added string ("mobile": length 6, then its bytes).
        byte[] current = CODEC.encodeConfluent(7, request);
        byte[] value = java.util.Arrays.copyOf(current, current.length + 7);
        value[current.length] = 12; // zig-zag 6
        System.arraycopy("mobile".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, value, current.length + 1,
                6);
        assertThat(CODEC.decodeBody(value, 5, evolved, "evolved")).isEqualTo(request);

        ValidatedRequest validated = ValidatedRequest.of(origin(value), request);

        assertThat(OriginImage.locate(value)).as("no known schema parses the whole body").isNull();
        assertThat(validated.imageKeptInOrigin()).isFalse();
        assertThat(roundTrip(validated).request()).isEqualTo(request);
    }

    @Test
    void aRequestOfAnotherImageIsNotStripped() throws IOException {
        byte[] value = CODEC.encodeConfluent(3, caption(2048, 3));
        EnrichmentRequest other = caption(2048, 4);
        ValidatedRequest validated = ValidatedRequest.of(origin(value), other);
        assertThat(validated.imageKeptInOrigin()).isFalse();
        assertThat(roundTrip(validated).request()).isEqualTo(other);
    }
}
