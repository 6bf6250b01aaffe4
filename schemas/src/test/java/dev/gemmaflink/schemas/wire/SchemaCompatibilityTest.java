package dev.gemmaflink.schemas.wire;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.specific.SpecificRecordBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import dev.gemmaflink.schemas.EnrichmentRequest;

/**
 * Every schema version kept under {@code schemas/history} stays readable by the current reader, through both the
 * binary (fingerprint lookup) and the JSON path.
 */
class SchemaCompatibilityTest {

    private static final Path HISTORY = Path.of("history");

    @Test
    void everyHistoryFolderIsListedAndEveryVersionHasTheRequestSchema() throws IOException {
        try (Stream<Path> dirs = Files.list(HISTORY)) {
            List<String> onDisk = dirs.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted()
                    .toList();
            assertThat(onDisk).containsExactlyElementsOf(SchemaHistory.VERSIONS);
        }
        assertThat(SchemaHistory.schemasOf("EnrichmentRequest")).hasSize(SchemaHistory.VERSIONS.size());
    }

    static Stream<Arguments> historicalSchemas() {
        return Stream.of("EnrichmentRequest", "EnrichmentResult", "DeadLetter")
                .flatMap(name -> SchemaHistory.schemasOf(name).stream().map(s -> Arguments.of(name, s)));
    }

    @ParameterizedTest(name = "{0} {index}")
    @MethodSource("historicalSchemas")
    void currentReaderCanReadEveryHistoricalWriter(String name, Schema writer) {
        Schema reader = current(name).currentSchema();
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getType())
                .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    }

    @Test
    void v1RequestBytesDecodeWithDefaultsForTheNewFields() throws Exception {
        Schema v1 = SchemaHistory.schemasOf("EnrichmentRequest").get(0);
        GenericRecord old = v1Request(v1);

        EnrichmentRequest decoded = WireCodec.requests().decode(singleObject(v1, old));

        assertThat(decoded.getRequestId()).isEqualTo("old-1");
        assertThat(decoded.getText()).isEqualTo("written by a v1 producer");
        assertThat(decoded.getAttributes()).containsEntry("k", "v");
        assertThat(decoded.getPriority()).isZero();
        assertThat(decoded.getDeadline()).isNull();
        assertThat(decoded.getPanAndScan()).isFalse();
    }

    @Test
    void v1RequestJsonDecodes() throws Exception {
        Schema v1 = SchemaHistory.schemasOf("EnrichmentRequest").get(0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonEncoder json = EncoderFactory.get().jsonEncoder(v1, out);
        new GenericDatumWriter<GenericRecord>(v1).write(v1Request(v1), json);
        json.flush();

        EnrichmentRequest decoded = WireCodec.requests().decode(out.toByteArray());

        assertThat(decoded.getRequestId()).isEqualTo("old-1");
        assertThat(decoded.getPanAndScan()).isFalse();
    }

    @Test
    void currentAndV1FingerprintsDiffer() {
        Schema v1 = SchemaHistory.schemasOf("EnrichmentRequest").get(0);
        assertThat(SchemaNormalization.parsingFingerprint64(v1))
                .isNotEqualTo(WireCodec.requests().currentFingerprint());
    }

    private static GenericRecord v1Request(Schema v1) {
        GenericRecord record = new GenericData.Record(v1);
        record.put("requestId", "old-1");
        record.put("tenant", "acme");
        record.put("key", null);
        record.put("task", "SUMMARIZE");
        record.put("text", "written by a v1 producer");
        record.put("image", null);
        record.put("targetLanguage", null);
        record.put("generation", null);
        record.put("eventTime", Instant.parse("2024-01-01T00:00:00Z").toEpochMilli());
        record.put("attributes", Map.of("k", "v"));
        return record;
    }

    /** Single-object encoding written by hand, as a foreign producer would. */
    private static byte[] singleObject(Schema writer, GenericRecord record) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0xC3);
        out.write(0x01);
        ByteBuffer fp = ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        fp.putLong(SchemaNormalization.parsingFingerprint64(writer));
        out.write(fp.array());
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(writer).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    private static WireCodec<? extends SpecificRecordBase> current(String name) {
        return switch (name) {
            case "EnrichmentRequest" -> WireCodec.requests();
            case "EnrichmentResult" -> WireCodec.results();
            case "DeadLetter" -> WireCodec.deadLetters();
            default -> throw new IllegalArgumentException(name);
        };
    }
}
