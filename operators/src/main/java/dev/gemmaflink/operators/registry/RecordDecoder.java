package dev.gemmaflink.operators.registry;

import java.io.Serializable;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.util.function.SerializableSupplier;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.registry.SchemaRegistryClient.Found;
import dev.gemmaflink.operators.registry.SchemaRegistryClient.NotASchema;
import dev.gemmaflink.operators.registry.SchemaRegistryClient.NotFound;
import dev.gemmaflink.operators.registry.SchemaRegistryClient.SchemaAnswer;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.wire.ConfluentFraming;
import dev.gemmaflink.schemas.wire.WireCodec;
import dev.gemmaflink.schemas.wire.WireFormatException;

/**
 * Reads record values in one {@link WireFormat}, or in any of them ({@link WireFormat#AUTO}: {@code C3 01} is
 * single-object, {@code 00} the Confluent framing, <code>{</code> Avro JSON), strictly, as {@link WireCodec} does.
 *
 * <p>A Confluent-framed value names its writer schema by registry id: the schema is fetched once per id and
 * TaskManager ({@link SharedSchemaRegistry}) and read with Avro's schema resolution into the current schema, so any
 * compatible evolution reads (a field added with a default, a field removed, a widened type), not only the versions
 * under {@code schemas/history}. These are {@link ErrorCode#UNKNOWN_SCHEMA}, the id in the reason: an id the
 * registry does not know, an answer that is not an Avro schema, a writer schema the current one cannot read; and a
 * Confluent-framed value when no registry is configured. A frame too short for its header or a corrupt body is
 * {@link ErrorCode#DECODE_FAILED}. A registry that cannot be reached throws {@link RegistryUnavailableException}
 * after its retries: the record is fine, the job must fail and replay it, never dead-letter it.
 *
 * <p>Serializable: build it on the client, {@link #decode} opens it on first use in the task.
 *
 * @param <T> generated record class
 */
public final class RecordDecoder<T extends SpecificRecordBase> implements Serializable {
    private static final long serialVersionUID = 1L;

    private final WireFormat format;
    private final RegistryConfig registry;
    private final SerializableSupplier<WireCodec<T>> codecFactory;

    private transient WireCodec<T> codec;
    private transient SharedSchemaRegistry shared;
    /** Per id: the writer schema to read with, or the reason it cannot be read (a String). */
    private transient Map<Integer, Object> writers;

    private RecordDecoder(WireFormat format, RegistryConfig registry, SerializableSupplier<WireCodec<T>> codecs) {
        this.format = Objects.requireNonNull(format, "format");
        this.registry = registry;
        this.codecFactory = codecs;
        if (format == WireFormat.CONFLUENT && registry == null) {
            throw new IllegalArgumentException("the confluent format needs a schema registry ("
                    + EnrichmentOptions.SCHEMA_REGISTRY_URL.key() + ")");
        }
    }

    /** Requests as {@code format.requests} and the registry settings of a job configuration say. */
    public static RecordDecoder<EnrichmentRequest> requests(Configuration conf) {
        return requests(conf.get(EnrichmentOptions.REQUEST_FORMAT), registryOf(conf));
    }

    /** Requests in {@code format}; {@code registry} may be null (Confluent-framed values are then refused). */
    public static RecordDecoder<EnrichmentRequest> requests(WireFormat format, RegistryConfig registry) {
        return new RecordDecoder<>(format, registry, WireCodec::requests);
    }

    /** Results in {@code format}; {@code registry} may be null. */
    public static RecordDecoder<EnrichmentResult> results(WireFormat format, RegistryConfig registry) {
        return new RecordDecoder<>(format, registry, WireCodec::results);
    }

    /** Dead letters in {@code format}; {@code registry} may be null. */
    public static RecordDecoder<DeadLetter> deadLetters(WireFormat format, RegistryConfig registry) {
        return new RecordDecoder<>(format, registry, WireCodec::deadLetters);
    }

    /** The registry settings of a configuration, or null when {@code schema-registry.url} is empty. */
    public static RegistryConfig registryOf(Configuration conf) {
        return conf.get(EnrichmentOptions.SCHEMA_REGISTRY_URL).isBlank() ? null : RegistryConfig.from(conf);
    }

    public WireFormat format() {
        return format;
    }

    /**
     * Decodes one value.
     *
     * @throws WireFormatException {@link ErrorCode#UNKNOWN_SCHEMA} or {@link ErrorCode#DECODE_FAILED}, with the
     *     reason
     * @throws RegistryUnavailableException when the registry cannot be reached (after retries)
     */
    public T decode(byte[] value) throws WireFormatException {
        if (codec == null) {
            codec = codecFactory.get();
            writers = new ConcurrentHashMap<>();
            shared = registry == null ? null : SharedSchemaRegistry.of(registry);
        }
        return switch (format) {
            case SINGLE_OBJECT -> codec.decodeSingleObject(value);
            case JSON -> codec.decodeJsonOnly(value);
            case CONFLUENT -> {
                if (!ConfluentFraming.hasMagic(value)) {
                    throw decodeFailed(String.format("not the Confluent Schema Registry framing (00 + 4-byte schema "
                            + "id): %s", value == null || value.length == 0 ? "empty value"
                            : value.length + " bytes starting " + WireCodec.hexStart(value)));
                }
                yield decodeConfluent(value);
            }
            case AUTO -> {
                if (ConfluentFraming.hasMagic(value)) {
                    yield decodeConfluent(value);
                }
                yield codec.decode(value); // single-object, JSON, or the codec's own message for anything else
            }
        };
    }

    private T decodeConfluent(byte[] value) throws WireFormatException {
        if (!ConfluentFraming.hasHeader(value)) {
            throw decodeFailed(String.format("corrupt Confluent frame: %d bytes, but the header alone is %d (00 + "
                    + "4-byte schema id)", value.length, ConfluentFraming.HEADER_LENGTH));
        }
        int id = ConfluentFraming.schemaId(value);
        if (shared == null) {
            throw new WireFormatException(ErrorCode.UNKNOWN_SCHEMA, String.format("Confluent Schema Registry framing "
                    + "(schema id %d), but no schema registry is configured (%s)", id,
                    EnrichmentOptions.SCHEMA_REGISTRY_URL.key()), null);
        }
        Object writer = writers.get(id);
        if (writer == null) {
            writer = resolve(id, shared.schemaById(id));
            if (!(writer instanceof String) || !isTransient(writer)) {
                writers.put(id, writer);
            }
        }
        if (writer instanceof String reason) {
            throw new WireFormatException(ErrorCode.UNKNOWN_SCHEMA, reason, null);
        }
        return codec.decodeBody(value, ConfluentFraming.HEADER_LENGTH, (Schema) writer,
                "Confluent framing, schema id " + id);
    }

    /** "Not found" answers expire in the shared cache; they are not kept here either. */
    private static boolean isTransient(Object writer) {
        return writer instanceof String reason && reason.contains(" is unknown to the schema registry");
    }

    /** The writer schema to read an id's values with, or why they cannot be read. */
    private Object resolve(int id, SchemaAnswer answer) {
        Schema reader = codec.currentSchema();
        if (answer instanceof NotFound notFound) {
            return String.format("schema id %d is unknown to the schema registry %s (%s)", id,
                    registry.displayUrls(), notFound.message());
        }
        if (answer instanceof NotASchema notASchema) {
            return String.format("schema id %d: the schema registry's answer is not an Avro schema: %s", id,
                    notASchema.why());
        }
        Schema writer = ((Found) answer).schema();
        SchemaCompatibility.SchemaPairCompatibility compatibility =
                SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
        if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
            String problems = compatibility.getResult().getIncompatibilities().stream()
                    .map(i -> i.getType() + " at " + i.getLocation() + ": " + i.getMessage())
                    .limit(5).collect(Collectors.joining("; "));
            return String.format("writer schema id %d (%s, fingerprint %016x) cannot be read as the current %s: %s",
                    id, writer.getFullName(), SchemaNormalization.parsingFingerprint64(writer), reader.getName(),
                    problems);
        }
        return writer;
    }

    private static WireFormatException decodeFailed(String message) {
        return new WireFormatException(ErrorCode.DECODE_FAILED, message, null);
    }
}
