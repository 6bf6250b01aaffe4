package dev.gemmaflink.operators.model;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;

import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.EnrichmentResult;

/** Flink type information for the generated records: Avro's serializer between operators, never Kryo. */
public final class AvroTypes {

    public static final TypeInformation<EnrichmentRequest> REQUEST = new AvroTypeInfo<>(EnrichmentRequest.class);
    public static final TypeInformation<EnrichmentResult> RESULT = new AvroTypeInfo<>(EnrichmentResult.class);
    public static final TypeInformation<DeadLetter> DEAD_LETTER = new AvroTypeInfo<>(DeadLetter.class);

    private AvroTypes() {
    }
}
