package dev.gemmaflink.e2e.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.gemmaflink.schemas.EnrichmentRequest;

/**
 * Records in the Confluent Schema Registry framing as a producer with Confluent's serializer writes them, made here
 * with Avro's own encoder and the documented framing ({@code 00}, schema id as a big-endian int, Avro binary body),
 * and a consumer-side reader that decodes framed values through the registry's REST API ({@code GET
 * /schemas/ids/{id}}) as {@code KafkaAvroDeserializer} with a specific reader does. Independent of the job's own
 * client and codec, so the tests check the job against the documented format rather than against itself.
 */
public final class ConfluentRecords {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private ConfluentRecords() {
    }

    /** {@code 00}, {@code id} big-endian, then the body Avro's encoder writes for {@code record} with {@code writer}. */
    public static byte[] frame(int id, Schema writer, Object record) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(0);
            out.write(ByteBuffer.allocate(4).putInt(id).array());
            BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
            if (record instanceof SpecificRecordBase specific) {
                new SpecificDatumWriter<Object>(writer, SpecificData.getForSchema(specific.getSchema()))
                        .write(record, encoder);
            } else {
                new GenericDatumWriter<Object>(writer).write(record, encoder);
            }
            encoder.flush();
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A request written by a producer on the current schema, registered as {@code id}. */
    public static byte[] current(int id, EnrichmentRequest request) {
        return frame(id, EnrichmentRequest.getClassSchema(), request);
    }

    /**
     * A producer's newer schema: the current request schema plus a field {@code channel} (string, default
     * {@code "web"}) at the end. The job reads its records by schema resolution; it never saw this schema before.
     */
    public static Schema evolvedRequestSchema() {
        try {
            ObjectNode schema = (ObjectNode) JSON.readTree(EnrichmentRequest.getClassSchema().toString());
            ObjectNode channel = JSON.createObjectNode().put("name", "channel").put("type", "string")
                    .put("default", "web").put("doc", "Where the request came from (a producer's newer field).");
            ((ArrayNode) schema.get("fields")).add(channel);
            return new Schema.Parser().parse(schema.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code request} as a producer on {@link #evolvedRequestSchema()} writes it, with {@code channel}. */
    public static byte[] evolved(int id, Schema evolved, EnrichmentRequest request, String channel) {
        // The request's fields as Avro's generic model holds them (logical types as their underlying values).
        byte[] framed = current(0, request);
        byte[] body = Arrays.copyOfRange(framed, 5, framed.length);
        GenericRecord plain;
        try {
            plain = new GenericDatumReader<GenericRecord>(EnrichmentRequest.getClassSchema(),
                    EnrichmentRequest.getClassSchema(), new GenericData())
                    .read(null, DecoderFactory.get().binaryDecoder(body, null));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        GenericData.Record record = new GenericData.Record(evolved);
        for (Schema.Field field : EnrichmentRequest.getClassSchema().getFields()) {
            record.put(field.name(), plain.get(field.name()));
        }
        record.put("channel", channel);
        return frame(id, evolved, record);
    }

    /** A schema a request reader cannot resolve: {@code requestId} is an int. Same record name. */
    public static Schema incompatibleRequestSchema() {
        return new Schema.Parser().parse("{\"type\":\"record\",\"name\":\"EnrichmentRequest\","
                + "\"namespace\":\"dev.gemmaflink.schemas\",\"fields\":[{\"name\":\"requestId\",\"type\":\"int\"},"
                + "{\"name\":\"tenant\",\"type\":\"string\"}]}");
    }

    /** A consumer that reads framed values through a registry, caching writer schemas by id. */
    public static final class Consumer {
        private final String registryUrl;
        private final Map<Integer, Schema> writers = new ConcurrentHashMap<>();

        public Consumer(String registryUrl) {
            this.registryUrl = registryUrl;
        }

        /** The schema id a framed value names. */
        public static int schemaId(byte[] value) {
            if (value == null || value.length < 5 || value[0] != 0) {
                throw new IllegalStateException("not Confluent-framed: " + (value == null ? "null"
                        : value.length + " bytes starting " + (value.length == 0 ? "" : value[0])));
            }
            return ByteBuffer.wrap(value, 1, 4).getInt();
        }

        /** Decodes a framed value into the generated class {@code type}, with schema resolution. */
        public <T extends SpecificRecordBase> T decode(byte[] value, Schema reader) {
            int id = schemaId(value);
            Schema writer = writers.computeIfAbsent(id, this::fetch);
            BinaryDecoder body = DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, null);
            try {
                T record = new SpecificDatumReader<T>(writer, reader, SpecificData.getForSchema(reader))
                        .read(null, body);
                if (!body.isEnd()) {
                    throw new IllegalStateException("trailing bytes after the body of schema id " + id);
                }
                return record;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** {@code POST /subjects/{subject}}: the id of {@code schema} under {@code subject}. */
        public int idUnder(String subject, Schema schema) {
            JsonNode answer = send(HttpRequest.newBuilder(URI.create(registryUrl + "/subjects/" + subject))
                    .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            JSON.createObjectNode().put("schema", schema.toString()).toString())).build());
            return answer.get("id").intValue();
        }

        /** {@code POST /subjects/{subject}/versions} with a schema of any type, as text; its id. */
        public int register(String subject, String schema, String schemaType) {
            ObjectNode body = JSON.createObjectNode().put("schema", schema);
            if (!"AVRO".equals(schemaType)) {
                body.put("schemaType", schemaType);
            }
            JsonNode answer = send(HttpRequest.newBuilder(URI.create(registryUrl + "/subjects/" + subject
                    + "/versions")).header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build());
            return answer.get("id").intValue();
        }

        private Schema fetch(int id) {
            JsonNode answer = send(HttpRequest.newBuilder(URI.create(registryUrl + "/schemas/ids/" + id)).GET()
                    .build());
            return new Schema.Parser().parse(answer.get("schema").textValue());
        }

        private static JsonNode send(HttpRequest request) {
            try {
                HttpResponse<String> response = HTTP.send(request,
                        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                if (response.statusCode() != 200) {
                    throw new IllegalStateException(request.uri() + ": HTTP " + response.statusCode() + " "
                            + response.body());
                }
                return JSON.readTree(response.body());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
