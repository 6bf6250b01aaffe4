package dev.gemmaflink.operators.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.gemmaflink.operators.TestRequests;
import dev.gemmaflink.operators.registry.ScriptedHttpEndpoint.Reply;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.wire.SchemaHistory;
import dev.gemmaflink.schemas.wire.WireCodec;
import dev.gemmaflink.schemas.wire.WireFormatException;

/**
 * Confluent-framed requests: writer schemas fetched once per id and JVM, resolved against the current schema (any
 * compatible evolution), and each way a value can fail, with the error code it gets.
 */
class RecordDecoderTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Schema CURRENT = EnrichmentRequest.getClassSchema();

    /** The current schema with {@code change} applied to its JSON. */
    private static Schema variant(java.util.function.Consumer<ObjectNode> change) throws IOException {
        ObjectNode schema = (ObjectNode) JSON.readTree(CURRENT.toString());
        change.accept(schema);
        return new Schema.Parser().parse(schema.toString());
    }

    /** A producer's newer schema: one more field, with a default. */
    static Schema withAddedField() throws IOException {
        return variant(s -> ((ArrayNode) s.get("fields")).add(JSON.createObjectNode().put("name", "channel")
                .put("type", "string").put("default", "web")));
    }

    /** A producer's schema without the defaulted field {@code panAndScan}. */
    static Schema withoutPanAndScan() throws IOException {
        return variant(s -> {
            ArrayNode fields = (ArrayNode) s.get("fields");
            for (int i = 0; i < fields.size(); i++) {
                if (fields.get(i).get("name").textValue().equals("panAndScan")) {
                    fields.remove(i);
                    return;
                }
            }
        });
    }

    /** {@code request} written with {@code writer} by Avro's encoder, framed with {@code id}. */
    static byte[] framed(int id, Schema writer, EnrichmentRequest request, Map<String, Object> extra)
            throws IOException {
        ByteArrayOutputStream plain = new ByteArrayOutputStream();
        BinaryEncoder e = EncoderFactory.get().binaryEncoder(plain, null);
        new SpecificDatumWriter<EnrichmentRequest>(CURRENT).write(request, e);
        e.flush();
        GenericRecord generic = new GenericDatumReader<GenericRecord>(CURRENT, CURRENT, new GenericData())
                .read(null, DecoderFactory.get().binaryDecoder(plain.toByteArray(), null));
        GenericData.Record out = new GenericData.Record(writer);
        for (Schema.Field field : writer.getFields()) {
            out.put(field.name(), extra.containsKey(field.name()) ? extra.get(field.name())
                    : CURRENT.getField(field.name()) != null ? generic.get(field.name()) : null);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.write(0);
        bytes.write(ByteBuffer.allocate(4).putInt(id).array());
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(bytes, null);
        new GenericDatumWriter<GenericRecord>(writer).write(out, encoder);
        encoder.flush();
        return bytes.toByteArray();
    }

    /** A scripted registry serving these schemas by id; counts fetches per id. */
    static final class Registry implements AutoCloseable {
        final Map<Integer, Reply> answers = new ConcurrentHashMap<>();
        final Map<Integer, Integer> fetches = new ConcurrentHashMap<>();
        final ScriptedHttpEndpoint endpoint;

        Registry() throws IOException {
            endpoint = ScriptedHttpEndpoint.start(r -> {
                int id = Integer.parseInt(r.path().substring("/schemas/ids/".length()));
                fetches.merge(id, 1, Integer::sum);
                return answers.getOrDefault(id, new Reply(404, "{\"error_code\":40403,\"message\":\"Schema "
                        + id + " not found\"}"));
            });
        }

        Registry schema(int id, Schema schema) {
            answers.put(id, new Reply(200, JSON.createObjectNode().put("schema", schema.toString()).toString()));
            return this;
        }

        RegistryConfig config() {
            return RegistryConfig.of(endpoint.url(), Map.of()).withRetries(Duration.ofMillis(300),
                    Duration.ofMillis(20));
        }

        @Override
        public void close() {
            endpoint.close();
        }
    }

    private static EnrichmentRequest summarize(String id) {
        return TestRequests.summarize(id, "text of " + id).build();
    }

    @Test
    void twoProducerSchemaVersionsAndOlderOnesAllReadAsTheCurrentSchema() throws Exception {
        Schema added = withAddedField();
        Schema removed = withoutPanAndScan();
        Schema v1 = SchemaHistory.schemasOf("EnrichmentRequest").get(0);
        try (Registry registry = new Registry().schema(10, CURRENT).schema(11, added).schema(12, removed)
                .schema(13, v1)) {
            RecordDecoder<EnrichmentRequest> decoder = RecordDecoder.requests(WireFormat.CONFLUENT, registry.config());
            EnrichmentRequest request = summarize("r-1");
            EnrichmentRequest withPanAndScan = TestRequests.summarize("r-2", "x").setPanAndScan(true).build();

            assertThat(decoder.decode(framed(10, CURRENT, request, Map.of()))).isEqualTo(request);
            assertThat(decoder.decode(framed(11, added, request, Map.of("channel", "mobile")))).isEqualTo(request);
            // A field the writer lacks takes its default: panAndScan false.
            assertThat(decoder.decode(framed(12, removed, withPanAndScan, Map.of())).getPanAndScan()).isFalse();
            EnrichmentRequest fromV1 = decoder.decode(framed(13, v1, request, Map.of()));
            assertThat(fromV1.getRequestId()).isEqualTo("r-1");
            assertThat(fromV1.getPriority()).isEqualTo(request.getPriority());
        }
    }

    @Test
    void eachSchemaIdIsFetchedOncePerJvmWhateverTheSubtasksAndRecords() throws Exception {
        try (Registry registry = new Registry().schema(20, CURRENT).schema(21, withAddedField())) {
            List<RecordDecoder<EnrichmentRequest>> subtasks = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                subtasks.add(RecordDecoder.requests(WireFormat.AUTO, registry.config()));
            }
            byte[] a = framed(20, CURRENT, summarize("a"), Map.of());
            byte[] b = framed(21, withAddedField(), summarize("b"), Map.of("channel", "x"));
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (RecordDecoder<EnrichmentRequest> decoder : subtasks) {
                    done.add(pool.submit(() -> {
                        for (int n = 0; n < 200; n++) {
                            assertThat(decoder.decode(n % 2 == 0 ? a : b).getRequestId()).isIn("a", "b");
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(registry.fetches).containsExactlyInAnyOrderEntriesOf(Map.of(20, 1, 21, 1));
        }
    }

    @Test
    void unknownIdsNonSchemasAndIncompatibleWritersAreUnknownSchemaWithTheId() throws Exception {
        Schema incompatible = new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"EnrichmentRequest\","
                + "\"namespace\":\"dev.gemmaflink.schemas\",\"fields\":[{\"name\":\"requestId\",\"type\":\"int\"}]}");
        try (Registry registry = new Registry().schema(31, incompatible)) {
            registry.answers.put(32, new Reply(200, "{\"schemaType\":\"JSON\",\"schema\":\"{}\"}"));
            RecordDecoder<EnrichmentRequest> decoder = RecordDecoder.requests(WireFormat.AUTO, registry.config());
            byte[] body = framed(1, CURRENT, summarize("x"), Map.of());

            assertUnknownSchema(decoder, reframe(body, 30), "schema id 30 is unknown to the schema registry");
            assertUnknownSchema(decoder, reframe(body, 31), "writer schema id 31");
            assertUnknownSchema(decoder, reframe(body, 31), "cannot be read as the current EnrichmentRequest");
            assertUnknownSchema(decoder, reframe(body, 32), "schema id 32: the schema registry's answer is not an "
                    + "Avro schema: schema type JSON");
            assertThat(registry.fetches.get(31)).as("incompatible: decided once").isEqualTo(1);
        }
    }

    @Test
    void aFrameTooShortOrACorruptBodyIsDecodeFailed() throws Exception {
        try (Registry registry = new Registry().schema(40, CURRENT)) {
            RecordDecoder<EnrichmentRequest> decoder = RecordDecoder.requests(WireFormat.AUTO, registry.config());
            byte[] whole = framed(40, CURRENT, summarize("x"), Map.of());
            for (byte[] bad : List.of(new byte[] {0}, new byte[] {0, 0, 0, 40},
                    java.util.Arrays.copyOf(whole, whole.length - 1), java.util.Arrays.copyOf(whole, whole.length + 1))) {
                assertThatThrownBy(() -> decoder.decode(bad)).isInstanceOfSatisfying(WireFormatException.class,
                        e -> assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.DECODE_FAILED));
            }
            assertThatThrownBy(() -> decoder.decode(new byte[] {0, 0, 0})).hasMessageContaining(
                    "corrupt Confluent frame: 3 bytes");
        }
    }

    @Test
    void eachFormatAcceptsItselfOnlyAndAutoTellsThemApart() throws Exception {
        WireCodec<EnrichmentRequest> codec = WireCodec.requests();
        EnrichmentRequest request = summarize("f");
        try (Registry registry = new Registry().schema(50, CURRENT)) {
            byte[] confluent = framed(50, CURRENT, request, Map.of());
            byte[] single = codec.encode(request);
            byte[] json = codec.encodeJson(request);
            RecordDecoder<EnrichmentRequest> auto = RecordDecoder.requests(WireFormat.AUTO, registry.config());
            for (byte[] value : List.of(confluent, single, json)) {
                assertThat(auto.decode(value)).isEqualTo(request);
            }
            assertThatThrownBy(() -> RecordDecoder.requests(WireFormat.CONFLUENT, registry.config()).decode(single))
                    .hasMessageContaining("not the Confluent Schema Registry framing");
            assertThatThrownBy(() -> RecordDecoder.requests(WireFormat.SINGLE_OBJECT, null).decode(confluent))
                    .hasMessageContaining("not Avro single-object encoding");
            assertThatThrownBy(() -> RecordDecoder.requests(WireFormat.JSON, null).decode(single))
                    .hasMessageContaining("not Avro JSON");
            assertUnknownSchema(RecordDecoder.requests(WireFormat.AUTO, null), confluent,
                    "no schema registry is configured (schema-registry.url)");
            assertThatThrownBy(() -> RecordDecoder.requests(WireFormat.CONFLUENT, null))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void anUnreachableRegistryThrowsAndCachesNothing() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        RegistryConfig down = RegistryConfig.of("http://127.0.0.1:" + port, Map.of())
                .withRetries(Duration.ofMillis(200), Duration.ofMillis(20));
        RecordDecoder<EnrichmentRequest> decoder = RecordDecoder.requests(WireFormat.AUTO, down);
        byte[] value = framed(60, CURRENT, summarize("x"), Map.of());
        for (int i = 0; i < 2; i++) {
            assertThatThrownBy(() -> decoder.decode(value)).isInstanceOf(RegistryUnavailableException.class)
                    .hasMessageContaining("fetch schema id 60");
        }
        assertThat(SharedSchemaRegistry.of(down).client().requestsSent()).as("asked again: nothing cached")
                .isGreaterThanOrEqualTo(4);
    }

    private static byte[] reframe(byte[] framed, int id) {
        byte[] copy = framed.clone();
        ByteBuffer.wrap(copy, 1, 4).putInt(id);
        return copy;
    }

    private static void assertUnknownSchema(RecordDecoder<EnrichmentRequest> decoder, byte[] value, String reason) {
        assertThatThrownBy(() -> decoder.decode(value)).isInstanceOfSatisfying(WireFormatException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNKNOWN_SCHEMA);
            assertThat(e.getMessage()).contains(reason);
        });
    }
}
