package dev.gemmaflink.schemas.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;

/**
 * The Confluent Schema Registry framing, byte for byte against Avro's own encoder: magic byte {@code 00}, the schema
 * id as a 4-byte big-endian int, then exactly the body Avro's {@code BinaryEncoder} writes.
 */
class ConfluentFramingTest {

    private final WireCodec<EnrichmentRequest> codec = WireCodec.requests();

    /** What a producer with Confluent's serializer writes: header, then Avro's binary encoding of the record. */
    private static byte[] avroEncoderFramed(int id, EnrichmentRequest request) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {0x00, (byte) (id >>> 24), (byte) (id >>> 16), (byte) (id >>> 8), (byte) id});
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new SpecificDatumWriter<EnrichmentRequest>(EnrichmentRequest.getClassSchema()).write(request, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    @Test
    void encodedFramesAreTheDocumentedHeaderAndAvrosOwnBodyByteForByte() throws Exception {
        EnrichmentRequest request = Fixtures.fullRequest();
        for (int id : new int[] {1, 258, 0x01020304, Integer.MAX_VALUE}) {
            byte[] ours = codec.encodeConfluent(id, request);
            assertThat(ours).as("schema id " + id).isEqualTo(avroEncoderFramed(id, request));
        }
        byte[] framed = codec.encodeConfluent(0x01020304, request);
        assertThat(Arrays.copyOf(framed, 5)).containsExactly(0x00, 0x01, 0x02, 0x03, 0x04);
        assertThat(ConfluentFraming.schemaId(framed)).isEqualTo(0x01020304);
        assertThat(Arrays.copyOfRange(framed, 5, framed.length)).isEqualTo(codec.encodeBody(request));
    }

    @Test
    void aBodyDecodesStrictlyWithItsWriterSchema() throws Exception {
        EnrichmentRequest request = Fixtures.fullRequest();
        byte[] framed = avroEncoderFramed(7, request);
        assertThat(codec.decodeBody(framed, ConfluentFraming.HEADER_LENGTH, EnrichmentRequest.getClassSchema(),
                "schema id 7")).isEqualTo(request);

        assertThatThrownBy(() -> codec.decodeBody(Arrays.copyOf(framed, framed.length + 1), 5,
                EnrichmentRequest.getClassSchema(), "schema id 7"))
                .isInstanceOfSatisfying(WireFormatException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.DECODE_FAILED);
                    assertThat(e.getMessage()).contains("1 trailing bytes").contains("schema id 7");
                });
        assertThatThrownBy(() -> codec.decodeBody(Arrays.copyOf(framed, framed.length - 3), 5,
                EnrichmentRequest.getClassSchema(), "schema id 7"))
                .isInstanceOfSatisfying(WireFormatException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.DECODE_FAILED);
                    assertThat(e.getMessage()).contains("corrupt Avro binary").contains("schema id 7");
                });
    }

    @Test
    void theCodecAloneSaysAFramedValueNeedsARegistry() {
        byte[] framed = codec.encodeConfluent(3, Fixtures.fullRequest());
        assertThatThrownBy(() -> codec.decode(framed)).isInstanceOfSatisfying(WireFormatException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.DECODE_FAILED);
            assertThat(e.getMessage()).contains("Confluent Schema Registry framing starts with 00");
        });
    }

    @Test
    void formatSpecificDecodersRefuseTheOtherFormats() throws Exception {
        EnrichmentRequest request = Fixtures.fullRequest();
        byte[] single = codec.encode(request);
        byte[] json = codec.encodeJson(request);
        assertThat(codec.decodeSingleObject(single)).isEqualTo(request);
        assertThat(codec.decodeJsonOnly(json)).isEqualTo(request);
        assertThatThrownBy(() -> codec.decodeSingleObject(json)).isInstanceOf(WireFormatException.class)
                .hasMessageContaining("not Avro single-object encoding");
        assertThatThrownBy(() -> codec.decodeJsonOnly(single)).isInstanceOf(WireFormatException.class)
                .hasMessageContaining("not Avro JSON");
        assertThat(WireCodec.isJson(" {}".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(WireCodec.isSingleObject(single)).isTrue();
        assertThat(ConfluentFraming.hasHeader(new byte[] {0, 0, 0, 1})).isFalse();
        assertThat(ConfluentFraming.hasHeader(new byte[] {0, 0, 0, 0, 1})).isTrue();
    }
}
