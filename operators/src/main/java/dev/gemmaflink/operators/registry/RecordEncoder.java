package dev.gemmaflink.operators.registry;

import java.io.Serializable;
import java.util.Objects;

import org.apache.avro.specific.SpecificRecordBase;
import org.apache.flink.util.function.SerializableSupplier;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * Writes records of one type to one topic in one {@link WireFormat} (not {@code auto}). In the Confluent framing
 * the schema id is that of the current schema under the subject the {@link SubjectNameStrategy} names, registered
 * (or, with auto-registration off, looked up) once when the encoder opens, per JVM ({@link SharedSchemaRegistry}),
 * never per record.
 *
 * <p>Serializable: build it on the client, {@link #open} it in the task.
 *
 * @param <T> generated record class
 */
public final class RecordEncoder<T extends SpecificRecordBase> implements Serializable {
    private static final long serialVersionUID = 1L;

    private final WireFormat format;
    private final RegistryConfig registry;
    private final SerializableSupplier<WireCodec<T>> codecFactory;

    private transient WireCodec<T> codec;
    private transient int schemaId;

    private RecordEncoder(WireFormat format, RegistryConfig registry, SerializableSupplier<WireCodec<T>> codecs) {
        this.format = Objects.requireNonNull(format, "format");
        this.registry = registry;
        this.codecFactory = codecs;
        if (format == WireFormat.AUTO) {
            throw new IllegalArgumentException("'auto' is an input format only: records are written as "
                    + "single-object, confluent or json");
        }
        if (format == WireFormat.CONFLUENT && registry == null) {
            throw new IllegalArgumentException("the confluent format needs a schema registry ("
                    + EnrichmentOptions.SCHEMA_REGISTRY_URL.key() + ")");
        }
    }

    /** The single-object encoder of results (no registry). */
    public static RecordEncoder<EnrichmentResult> results() {
        return results(WireFormat.SINGLE_OBJECT, null);
    }

    /** The single-object encoder of dead letters (no registry). */
    public static RecordEncoder<DeadLetter> deadLetters() {
        return deadLetters(WireFormat.SINGLE_OBJECT, null);
    }

    public static RecordEncoder<EnrichmentResult> results(WireFormat format, RegistryConfig registry) {
        return new RecordEncoder<>(format, registry, WireCodec::results);
    }

    public static RecordEncoder<DeadLetter> deadLetters(WireFormat format, RegistryConfig registry) {
        return new RecordEncoder<>(format, registry, WireCodec::deadLetters);
    }

    /** Requests (for producers: bin/events, the quick start, tests). */
    public static RecordEncoder<EnrichmentRequest> requests(WireFormat format, RegistryConfig registry) {
        return new RecordEncoder<>(format, registry, WireCodec::requests);
    }

    public WireFormat format() {
        return format;
    }

    /**
     * Prepares writing to {@code topic}: in the Confluent framing, registers or looks up the schema.
     *
     * @throws RegistryUnavailableException when the registry cannot be reached or refuses (the task fails)
     */
    public void open(String topic) {
        codec = codecFactory.get();
        if (format == WireFormat.CONFLUENT) {
            schemaId = SharedSchemaRegistry.of(registry).idOf(
                    registry.subjectNameStrategy().subject(topic, codec.currentSchema()), codec.currentSchema(),
                    registry.autoRegister());
        }
    }

    /** The schema id written in the Confluent framing (after {@link #open}); -1 in the other formats. */
    public int schemaId() {
        return format == WireFormat.CONFLUENT ? schemaId : -1;
    }

    /** One record in the format; {@link #open} first. */
    public byte[] encode(T record) {
        if (codec == null) {
            throw new IllegalStateException("encoder not opened");
        }
        return switch (format) {
            case SINGLE_OBJECT -> codec.encode(record);
            case CONFLUENT -> codec.encodeConfluent(schemaId, record);
            case JSON -> codec.encodeJson(record);
            case AUTO -> throw new IllegalStateException("auto is an input format");
        };
    }
}
