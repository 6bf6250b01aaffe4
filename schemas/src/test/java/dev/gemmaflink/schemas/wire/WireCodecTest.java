package dev.gemmaflink.schemas.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.GenericRecordBuilder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

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

    // ---- strict JSON: one complete document ----

    @Test
    void jsonCutBeforeItsClosingBraceIsDecodeFailed() {
        String json = json(Fixtures.fullRequest());
        String cut = json.substring(0, json.lastIndexOf('}'));

        assertDecodeFailed(cut.getBytes(StandardCharsets.UTF_8))
                .hasMessageContaining("invalid Avro JSON for EnrichmentRequest")
                .hasMessageContaining("before the document is complete");
    }

    @Test
    void garbageAfterTheJsonObjectIsDecodeFailed() {
        String json = json(Fixtures.fullRequest());

        assertDecodeFailed(utf8(json + " xyz")).hasMessageContaining("content after the end of the JSON object");
        assertDecodeFailed(utf8(json + json)).hasMessageContaining("content after the end of the JSON object");
    }

    @Test
    void jsonFollowedByWhitespaceDecodes() throws Exception {
        EnrichmentRequest request = Fixtures.fullRequest();

        assertThat(codec.decode(utf8(json(request) + " \r\n\t\n"))).isEqualTo(request);
    }

    @Test
    void jsonWithADuplicateKeyIsDecodeFailed() {
        String json = json(Fixtures.fullRequest()).replaceFirst("\\{", "{\"requestId\":\"other\",");

        assertDecodeFailed(utf8(json)).hasMessageContaining("Duplicate field 'requestId'");
    }

    @Test
    void jsonThatIsNotValidUtf8IsDecodeFailed() {
        byte[] json = utf8(json(Fixtures.fullRequest()).replace("req-1", "req-\u00e9"));
        int accent = indexOf(json, (byte) 0xC3, (byte) 0xA9);
        byte[] broken = Arrays.copyOf(json, json.length);
        broken[accent + 1] = '!'; // a lead byte without its continuation byte

        assertDecodeFailed(broken).hasMessageContaining("not valid UTF-8");
    }

    // ---- strict JSON: valid under the schema it is read with ----

    @Test
    void wrongTypeForAFieldV1LacksIsDecodeFailedNotDroppedByTheFallback() throws Exception {
        ObjectNode json = tree(Fixtures.fullRequest());
        json.put("priority", "urgent");

        assertDecodeFailed(bytes(json))
                .hasMessageContaining("invalid Avro JSON for EnrichmentRequest")
                .hasMessageContaining("priority: expected int, got \"urgent\"");
    }

    @Test
    void wrongTypeInsideAUnionIsNamedByItsPath() throws Exception {
        ObjectNode json = tree(Fixtures.fullRequest());
        ((ObjectNode) json.get("generation").get("dev.gemmaflink.schemas.GenerationParameters"))
                .putObject("topK").put("int", 4.5);

        assertDecodeFailed(bytes(json)).hasMessageContaining("generation.topK: expected int, got 4.5");
    }

    @Test
    void v1JsonWithoutTheV2FieldsDecodesThroughTheFallback() throws Exception {
        ObjectNode v1 = v1Tree(Fixtures.fullRequest());

        assertThat(codec.decode(bytes(v1))).isEqualTo(asReadFromV1(Fixtures.fullRequest()));
    }

    @Test
    void v2JsonWithoutTheV3FieldsDecodesThroughTheFallback() throws Exception {
        ObjectNode v2 = tree(Fixtures.fullRequest());
        v2.remove(V3_FIELDS);
        v2.remove(V4_FIELDS);

        assertThat(codec.decode(bytes(v2))).isEqualTo(Fixtures.fullRequest());
    }

    @Test
    void v3FieldsRoundTripInBinaryAndJson() throws Exception {
        EnrichmentRequest extract = EnrichmentRequest.newBuilder(Fixtures.fullRequest()).setTask("EXTRACT")
                .setLabels(List.of("a", "b")).setOutputSchema("{\"type\":\"boolean\"}").setOutputSchemaName("n")
                .build();

        assertThat(codec.decode(codec.encode(extract))).isEqualTo(extract);
        assertThat(codec.decode(codec.encodeJson(extract))).isEqualTo(extract);
    }

    @Test
    void v3JsonWithoutTheV4FieldsDecodesThroughTheFallback() throws Exception {
        EnrichmentRequest classify = EnrichmentRequest.newBuilder(Fixtures.fullRequest()).setTask("CLASSIFY")
                .setLabels(List.of("a, b", "c")).build();
        ObjectNode v3 = tree(classify);
        v3.remove(V4_FIELDS);

        assertThat(codec.decode(bytes(v3))).isEqualTo(classify);
        assertThat(classify.getMaxLabels()).isNull();
    }

    @Test
    void v3BinaryDecodesWithoutMaxLabels() throws Exception {
        Schema v3 = SchemaHistory.schemasOf("EnrichmentRequest").get(2);
        GenericRecord written = new GenericRecordBuilder(v3).set("requestId", "old-3").set("tenant", "t")
                .set("task", "CLASSIFY").set("text", "hello").set("eventTime", 5L).set("labels", List.of("a", "b"))
                .build();

        EnrichmentRequest decoded = codec.decode(singleObject(v3, written));

        assertThat(decoded.getRequestId()).isEqualTo("old-3");
        assertThat(decoded.getLabels()).containsExactly("a", "b");
        assertThat(decoded.getMaxLabels()).isNull();
    }

    @Test
    void v4FieldsRoundTripInBinaryAndJson() throws Exception {
        EnrichmentRequest classify = EnrichmentRequest.newBuilder(Fixtures.fullRequest()).setTask("CLASSIFY")
                .setLabels(List.of("billing", "returns")).setMaxLabels(2).build();

        assertThat(codec.decode(codec.encode(classify))).isEqualTo(classify);
        assertThat(codec.decode(codec.encodeJson(classify))).isEqualTo(classify);
    }

    @Test
    void resultV2FieldsRoundTripAndV1ResultsDecodeWithoutThem() throws Exception {
        WireCodec<EnrichmentResult> results = WireCodec.results();
        EnrichmentResult v1 = EnrichmentResult.newBuilder().setRequestId("r").setTenant("t").setKey(null)
                .setTask("SUMMARIZE").setOutputText("out").setModelId("echo").setFinishReason("STOP")
                .setPromptTokens(3).setOutputTokens(2).setCachedPromptTokens(1).setQueueMillis(4)
                .setFirstTokenMillis(5).setTotalMillis(6).setProcessingTime(Instant.ofEpochMilli(7)).build();
        EnrichmentResult classify = EnrichmentResult.newBuilder(v1).setTask("CLASSIFY")
                .setOutputText("[\"a, b\", \"c\"]").setLabels(List.of("a, b", "c")).setProbability(0.25).build();

        assertThat(results.decode(results.encode(classify))).isEqualTo(classify);
        assertThat(results.decode(results.encodeJson(classify))).isEqualTo(classify);
        ObjectNode v1Json = (ObjectNode) MAPPER.readTree(results.encodeJson(v1));
        v1Json.remove(List.of("labels", "probability"));
        assertThat(results.decode(bytes(v1Json))).isEqualTo(v1);
        Schema v1Schema = SchemaHistory.schemasOf("EnrichmentResult").get(0);
        GenericRecordBuilder written = new GenericRecordBuilder(v1Schema);
        for (Schema.Field f : v1Schema.getFields()) {
            written.set(f.name(), v1.get(f.name()));
        }
        written.set("processingTime", 7L);
        assertThat(results.decode(singleObject(v1Schema, written.build()))).isEqualTo(v1);
    }

    @Test
    void v1JsonWithAnUnknownFieldIsDecodeFailed() throws Exception {
        ObjectNode v1 = v1Tree(Fixtures.fullRequest());
        v1.put("colour", "blue");

        assertDecodeFailed(bytes(v1)).hasMessageContaining("colour: no such field in EnrichmentRequest");
    }

    @Test
    void v1JsonWithAnUnknownFieldInANestedRecordIsDecodeFailed() throws Exception {
        ObjectNode v1 = v1Tree(Fixtures.fullRequest());
        ((ObjectNode) v1.get("image").get("dev.gemmaflink.schemas.ImageData")).put("width", 640);

        assertDecodeFailed(bytes(v1)).hasMessageContaining("image.width: no such field in ImageData");
    }

    @Test
    void v1JsonWithAWrongMapValueIsDecodeFailed() throws Exception {
        ObjectNode v1 = v1Tree(Fixtures.fullRequest());
        ((ObjectNode) v1.get("attributes")).put("retries", 3);

        assertDecodeFailed(bytes(v1)).hasMessageContaining("attributes[\"retries\"]: expected string, got 3");
    }

    @Test
    void unionObjectWithASecondKeyIsDecodeFailed() throws Exception {
        ObjectNode json = tree(Fixtures.fullRequest());
        ((ObjectNode) json.get("text")).put("note", "ignored?");

        assertDecodeFailed(bytes(json)).hasMessageContaining("text: expected one of [null, string]");
    }

    // ---- strict binary: one record per value ----

    @Test
    void binaryRecordWithTrailingBytesIsDecodeFailed() {
        byte[] record = codec.encode(Fixtures.fullRequest());
        byte[] withTail = Arrays.copyOf(record, record.length + 3);

        assertDecodeFailed(withTail).hasMessageContaining("3 trailing bytes after the EnrichmentRequest body");
    }

    @Test
    void secondBinaryRecordGluedOnIsDecodeFailed() {
        byte[] first = codec.encode(Fixtures.fullRequest());
        byte[] second = codec.encode(EnrichmentRequest.newBuilder(Fixtures.fullRequest()).setRequestId("req-2").build());
        byte[] glued = Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, glued, first.length, second.length);

        assertDecodeFailed(glued)
                .hasMessageContaining(second.length + " trailing bytes after the EnrichmentRequest body");
    }

    @Test
    void binaryV1RecordDecodesWithDefaultsForTheV2Fields() throws Exception {
        EnrichmentRequest request = Fixtures.fullRequest();

        assertThat(codec.decode(v1Binary(request))).isEqualTo(asReadFromV1(request));
    }

    @Test
    void binaryV1RecordWithATrailingByteIsDecodeFailed() throws Exception {
        byte[] v1 = v1Binary(Fixtures.fullRequest());

        assertDecodeFailed(Arrays.copyOf(v1, v1.length + 1))
                .hasMessageContaining("1 trailing bytes after the EnrichmentRequest body");
    }

    @Test
    void headerShorterThanTenBytesIsDecodeFailed() {
        assertDecodeFailed(new byte[] {(byte) 0xC3, 0x01, 0x00, 0x01}).hasMessageContaining("bad single-object header");
    }

    // ---- helpers ----

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final List<String> V2_FIELDS = List.of("priority", "deadline", "panAndScan");
    private static final List<String> V3_FIELDS = List.of("labels", "outputSchema", "outputSchemaName");
    private static final List<String> V4_FIELDS = List.of("maxLabels");

    private AbstractThrowableAssert<?, ? extends Throwable> assertDecodeFailed(byte[] bytes) {
        AbstractThrowableAssert<?, ? extends Throwable> thrown = assertThatThrownBy(() -> codec.decode(bytes))
                .isInstanceOf(WireFormatException.class);
        thrown.extracting(e -> ((WireFormatException) e).code()).isEqualTo(ErrorCode.DECODE_FAILED);
        return thrown;
    }

    private String json(EnrichmentRequest request) {
        return new String(codec.encodeJson(request), StandardCharsets.UTF_8);
    }

    private ObjectNode tree(EnrichmentRequest request) throws Exception {
        return (ObjectNode) MAPPER.readTree(codec.encodeJson(request));
    }

    /** The request as a v1 producer would send it in JSON: the same document without the v2 and v3 fields. */
    private ObjectNode v1Tree(EnrichmentRequest request) throws Exception {
        ObjectNode json = tree(request);
        json.remove(V2_FIELDS);
        json.remove(V3_FIELDS);
        json.remove(V4_FIELDS);
        return json;
    }

    /** The request as a v1 producer would send it in binary, with the v1 fingerprint. */
    private static byte[] v1Binary(EnrichmentRequest request) throws Exception {
        Schema v1 = SchemaHistory.schemasOf("EnrichmentRequest").get(0);
        // v1's fields are the first ten of the current schema, in the same order, so the record writes as v1.
        ByteBuffer buffer = new BinaryMessageEncoder<EnrichmentRequest>(
                SpecificData.getForClass(EnrichmentRequest.class), v1).encode(request);
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return bytes;
    }

    /** What reading the v1 form of {@code request} yields: the v2 fields take their defaults. */
    private static EnrichmentRequest asReadFromV1(EnrichmentRequest request) {
        return EnrichmentRequest.newBuilder(request).setPriority(0).setDeadline(null).setPanAndScan(false).build();
    }

    /** {@code record} in the single-object encoding of writer schema {@code writer}. */
    private static byte[] singleObject(Schema writer, GenericRecord record) throws Exception {
        ByteBuffer encoded = new BinaryMessageEncoder<GenericRecord>(GenericData.get(), writer).encode(record);
        byte[] out = new byte[encoded.remaining()];
        encoded.get(out);
        return out;
    }

    private static byte[] bytes(ObjectNode json) throws Exception {
        return MAPPER.writeValueAsBytes(json);
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static int indexOf(byte[] bytes, byte first, byte second) {
        for (int i = 0; i + 1 < bytes.length; i++) {
            if (bytes[i] == first && bytes[i + 1] == second) {
                return i;
            }
        }
        throw new AssertionError("byte pair not found");
    }
}
