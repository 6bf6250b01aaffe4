package dev.gemmaflink.schemas.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;

import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;

class WireCodecTest {

    private final WireCodec<EnrichmentRequest> codec = WireCodec.requests();

    @Test
    void binaryRoundTripKeepsEveryField() throws Exception {
        EnrichmentRequest request = Fixtures.fullRequest();
        byte[] bytes = codec.encode(request);

        assertThat(bytes[0]).isEqualTo((byte) 0xC3);
        assertThat(bytes[1]).isEqualTo((byte) 0x01);
        assertThat(codec.decode(bytes)).isEqualTo(request);
    }

    @Test
    void headerCarriesTheCurrentSchemaFingerprintLittleEndian() {
        byte[] bytes = codec.encode(Fixtures.fullRequest());
        long expected = SchemaNormalization.parsingFingerprint64(EnrichmentRequest.getClassSchema());
        long actual = 0;
        for (int i = 9; i >= 2; i--) {
            actual = (actual << 8) | (bytes[i] & 0xFF);
        }
        assertThat(actual).isEqualTo(expected).isEqualTo(codec.currentFingerprint());
    }

    @Test
    void jsonRoundTripKeepsEveryField() throws Exception {
        EnrichmentRequest request = Fixtures.fullRequest();
        byte[] json = codec.encodeJson(request);

        assertThat(new String(json, StandardCharsets.UTF_8)).startsWith("{\"requestId\":\"req-1\"");
        assertThat(codec.decode(json)).isEqualTo(request);
    }

    @Test
    void handWrittenJsonWithLeadingWhitespaceIsAccepted() throws Exception {
        String json = "  \n{\"requestId\":\"r\",\"tenant\":\"t\",\"key\":null,\"task\":\"SUMMARIZE\","
                + "\"text\":{\"string\":\"hello world\"},\"image\":null,\"targetLanguage\":null,\"generation\":null,"
                + "\"eventTime\":5,\"attributes\":{},\"priority\":0,\"deadline\":null,\"panAndScan\":false}";
        EnrichmentRequest decoded = codec.decode(json.getBytes(StandardCharsets.UTF_8));
        assertThat(decoded.getText()).isEqualTo("hello world");
        assertThat(decoded.getEventTime()).isEqualTo(Instant.ofEpochMilli(5));
    }

    @Test
    void unknownFingerprintIsUnknownSchema() {
        byte[] bytes = codec.encode(Fixtures.fullRequest());
        bytes[5] ^= 0x5A;

        assertThatThrownBy(() -> codec.decode(bytes))
                .isInstanceOf(WireFormatException.class)
                .hasMessageContaining("unknown writer schema fingerprint")
                .extracting(e -> ((WireFormatException) e).code()).isEqualTo(ErrorCode.UNKNOWN_SCHEMA);
    }

    @Test
    void truncatedPayloadIsDecodeFailed() {
        byte[] bytes = codec.encode(Fixtures.fullRequest());
        byte[] truncated = Arrays.copyOf(bytes, bytes.length / 2);

        assertThatThrownBy(() -> codec.decode(truncated))
                .isInstanceOf(WireFormatException.class)
                .hasMessageContaining("corrupt Avro binary EnrichmentRequest")
                .extracting(e -> ((WireFormatException) e).code()).isEqualTo(ErrorCode.DECODE_FAILED);
    }

    @Test
    void hugeDeclaredLengthIsDecodeFailedNotOutOfMemory() {
        byte[] header = Arrays.copyOf(codec.encode(Fixtures.fullRequest()), 10);
        // requestId length as a zig-zag varint of about 1 GiB, followed by almost nothing.
        byte[] body = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08, 'x'};
        byte[] bytes = new byte[header.length + body.length];
        System.arraycopy(header, 0, bytes, 0, header.length);
        System.arraycopy(body, 0, bytes, header.length, body.length);

        assertThatThrownBy(() -> codec.decode(bytes))
                .isInstanceOf(WireFormatException.class)
                .extracting(e -> ((WireFormatException) e).code()).isEqualTo(ErrorCode.DECODE_FAILED);
    }

    @Test
    void garbageIsDecodeFailedWithAHexPrefix() {
        assertThatThrownBy(() -> codec.decode(new byte[] {0x01, 0x02, 0x03}))
                .isInstanceOf(WireFormatException.class)
                .hasMessageContaining("starting 010203")
                .extracting(e -> ((WireFormatException) e).code()).isEqualTo(ErrorCode.DECODE_FAILED);
        assertThatThrownBy(() -> codec.decode(new byte[0])).hasMessageContaining("empty record value");
        assertThatThrownBy(() -> codec.decode(null)).hasMessageContaining("empty record value");
    }

    @Test
    void jsonMissingARequiredFieldIsDecodeFailed() {
        byte[] json = "{\"requestId\":\"r\"}".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> codec.decode(json))
                .isInstanceOf(WireFormatException.class)
                .hasMessageContaining("invalid Avro JSON for EnrichmentRequest")
                .extracting(e -> ((WireFormatException) e).code()).isEqualTo(ErrorCode.DECODE_FAILED);
    }

    @Test
    void resultAndDeadLetterCodecsRoundTrip() throws Exception {
        EnrichmentResult result = EnrichmentResult.newBuilder().setRequestId("r").setTenant("t").setKey(null)
                .setTask("SUMMARIZE").setOutputText("out").setModelId("echo").setFinishReason("STOP")
                .setPromptTokens(3).setOutputTokens(2).setCachedPromptTokens(1).setQueueMillis(4)
                .setFirstTokenMillis(5).setTotalMillis(6).setProcessingTime(Instant.ofEpochMilli(7)).build();
        DeadLetter deadLetter = DeadLetter.newBuilder().setOriginalBytes(java.nio.ByteBuffer.wrap(new byte[] {9}))
                .setSourceTopic("in").setSourcePartition(2).setSourceOffset(11).setRequestId(null)
                .setStage("DECODE").setErrorCode("DECODE_FAILED").setReason("bad").setTime(Instant.ofEpochMilli(8))
                .build();

        WireCodec<EnrichmentResult> results = WireCodec.results();
        WireCodec<DeadLetter> deadLetters = WireCodec.deadLetters();
        assertThat(results.decode(results.encode(result))).isEqualTo(result);
        assertThat(deadLetters.decode(deadLetters.encode(deadLetter))).isEqualTo(deadLetter);
        assertThat(deadLetters.decode(deadLetters.encodeJson(deadLetter))).isEqualTo(deadLetter);
    }
}
