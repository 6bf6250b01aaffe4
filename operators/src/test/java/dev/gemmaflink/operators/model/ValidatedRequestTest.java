package dev.gemmaflink.operators.model;

import static dev.gemmaflink.operators.TestRequests.origin;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ReadOnlyBufferException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.runtime.PojoSerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.streaming.api.functions.async.CollectionSupplier;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.TestRequests;
import dev.gemmaflink.operators.enrich.EnrichAsyncFunction;
import dev.gemmaflink.operators.enrich.EnrichmentException;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.ImageData;
import dev.gemmaflink.schemas.Stage;
import dev.gemmaflink.schemas.wire.SchemaHistory;
import dev.gemmaflink.schemas.wire.WireCodec;
import dev.gemmaflink.schemas.wire.WireFormatException;

/**
 * A request in flight carries its image once: in the raw Kafka value its {@code origin} keeps for dead letters, not
 * a second time in the decoded request, and nothing is lost on the way (the enricher gets the image, a dead letter
 * the original record).
 */
class ValidatedRequestTest {

    private static final int EIGHT_MIB = 8 * 1024 * 1024;
    /**
     * Most bytes Flink may write for a {@link ValidatedRequest} holding an 8 MiB image: the image once (8 MiB) plus
     * 64 KiB for everything else (origin, request fields, routing key). Holding it twice is 16 MiB.
     */
    private static final int MAX_SERIALIZED_WITH_8_MIB_IMAGE = EIGHT_MIB + 64 * 1024;
    /** {@code dead-letter.max-original-bytes} by default: the sink cuts longer originals to a prefix. */
    private static final int DEFAULT_MAX_ORIGINAL_BYTES = 786_432;

    private final WireCodec<EnrichmentRequest> codec = WireCodec.requests();

    @Test
    void anEightMebibyteCaptionSerializesWithItsImageOnceThroughFlinksRecordSerializer() throws IOException {
        byte[] value = codec.encode(caption("big", randomImage(EIGHT_MIB, 1)).build());
        ValidatedRequest validated = decodedFrom(value);

        TypeSerializer<ValidatedRequest> serializer = pipelineSerializer();
        byte[] serialized = serialize(serializer, validated);

        assertThat(serializer).isInstanceOf(PojoSerializer.class);
        assertThat(validated.imageKeptInOrigin()).isTrue();
        assertThat(serialized.length).as("bytes of one in-flight 8 MiB caption")
                .isGreaterThan(EIGHT_MIB).isLessThan(MAX_SERIALIZED_WITH_8_MIB_IMAGE);

        ValidatedRequest restored = serializer.deserialize(new DataInputDeserializer(serialized));
        assertThat(restored.imageKeptInOrigin()).isTrue();
        assertThat(restored.routingKey()).isEqualTo(validated.routingKey());
        assertThat(restored.request()).isEqualTo(decode(value));
        assertThat(restored.imageData()).isEqualTo(decode(value).getImage().getData());
        assertThat(restored.origin().value()).isEqualTo(value);
        assertThat(serializer.copy(restored).request()).isEqualTo(restored.request());
    }

    @Test
    void theImageIsAReadOnlyViewOfTheOriginalValueNotACopy() {
        byte[] value = codec.encode(caption("c", randomImage(4096, 2)).build());
        ValidatedRequest validated = decodedFrom(value);

        ByteBuffer image = validated.request().getImage().getData();

        assertThat(image.isReadOnly()).isTrue();
        assertThat(image.remaining()).isEqualTo(4096);
        assertThatThrownBy(() -> image.put(0, (byte) 1)).isInstanceOf(ReadOnlyBufferException.class);
        assertThat(validated.imageData()).isEqualTo(image);
        // The request as stored: every field but the image bytes, which are the value's.
        assertThat(OriginImage.locate(value).length()).isEqualTo(4096);
        assertThat(ByteBuffer.wrap(value, OriginImage.locate(value).offset(), 4096)).isEqualTo(image);
    }

    @Test
    void aDeadLetterAtTheEnrichStageCarriesTheOriginalRecordAsBefore() throws Exception {
        for (int imageBytes : new int[] {100 * 1024, EIGHT_MIB}) {
            byte[] value = codec.encode(caption("dl-" + imageBytes, randomImage(imageBytes, 3)).build());
            ValidatedRequest inFlight = roundTrip(decodedFrom(value)); // as restored from a checkpoint

            DeadLetter enrichStage = failAtEnrichStage(inFlight);

            assertThat(enrichStage.getStage()).isEqualTo("ENRICH");
            assertThat(enrichStage.getRequestId()).isEqualTo("dl-" + imageBytes);
            assertThat(enrichStage.getOriginalSize()).isEqualTo(value.length);
            assertThat(enrichStage.getOriginalSha256()).isEqualTo(sha256(value));
            assertThat(enrichStage.getOriginalTruncated()).isFalse();
            assertThat(bytes(enrichStage.getOriginalBytes())).isEqualTo(value);

            // What the dead-letter sink writes: the whole original under the limit, else its prefix.
            DeadLetter written = DeadLetters.fit(enrichStage, DEFAULT_MAX_ORIGINAL_BYTES);
            assertThat(written.getOriginalSize()).isEqualTo(value.length);
            assertThat(written.getOriginalSha256()).isEqualTo(sha256(value));
            if (value.length <= DEFAULT_MAX_ORIGINAL_BYTES) {
                assertThat(written.getOriginalTruncated()).isFalse();
                assertThat(bytes(written.getOriginalBytes())).isEqualTo(value);
            } else {
                assertThat(written.getOriginalTruncated()).isTrue();
                assertThat(bytes(written.getOriginalBytes()))
                        .isEqualTo(Arrays.copyOf(value, DeadLetters.TRUNCATED_PREFIX_BYTES));
            }
            // Exactly the dead letter the record as read from Kafka gives.
            DeadLetter fromRecord = DeadLetters.of(origin(value), "dl-" + imageBytes, Stage.ENRICH,
                    ErrorCode.ENRICHMENT_FAILED, enrichStage.getReason());
            fromRecord.setTime(enrichStage.getTime());
            assertThat(enrichStage).isEqualTo(fromRecord);
        }
    }

    @Test
    void jsonInputKeepsItsImageOnceAndDecodesItAgainWhenAsked() throws IOException {
        EnrichmentRequest request = caption("json", randomImage(64 * 1024, 4)).build();
        byte[] value = codec.encodeJson(request);
        ValidatedRequest validated = decodedFrom(value);

        assertThat(validated.imageKeptInOrigin()).isTrue();
        assertThat(serialize(pipelineSerializer(), validated).length).isLessThan(value.length + 4096);
        ValidatedRequest restored = roundTrip(validated);
        assertThat(restored.request()).isEqualTo(request);
        assertThat(restored.imageData()).isEqualTo(request.getImage().getData());
    }

    @Test
    void aRequestOfAnOlderSchemaKeepsItsImageOnceToo() throws IOException {
        byte[] image = randomImage(32 * 1024, 5);
        byte[] value = v1Caption("old", image);
        ValidatedRequest validated = decodedFrom(value);

        assertThat(validated.imageKeptInOrigin()).isTrue();
        assertThat(serialize(pipelineSerializer(), validated).length).isLessThan(value.length + 4096);
        assertThat(roundTrip(validated).request()).isEqualTo(decode(value));
        assertThat(validated.imageData()).isEqualTo(ByteBuffer.wrap(image));
    }

    @Test
    void aRequestNotDecodedFromItsOriginKeepsItsImage() throws IOException {
        EnrichmentRequest request = caption("c", randomImage(2048, 6)).build();
        byte[] otherImage = codec.encode(caption("c", randomImage(2048, 7)).build());
        byte[] jsonOfOther = codec.encodeJson(caption("c", randomImage(2048, 8)).build());

        for (byte[] value : List.of(new byte[] {4, 5}, otherImage, jsonOfOther, new byte[0])) {
            ValidatedRequest validated = ValidatedRequest.of(origin(value), request);
            assertThat(validated.imageKeptInOrigin()).isFalse();
            assertThat(validated.request()).isEqualTo(request);
            assertThat(roundTrip(validated).request()).isEqualTo(request);
        }
        ValidatedRequest tombstone = ValidatedRequest.of(origin(null), request);
        assertThat(tombstone.request()).isEqualTo(request);
        assertThat(tombstone.imageData()).isEqualTo(request.getImage().getData());
    }

    @Test
    void requestsWithoutImageAreUnchanged() throws IOException {
        EnrichmentRequest text = TestRequests.summarize("t", "hello").build();
        byte[] value = codec.encode(text);
        ValidatedRequest validated = decodedFrom(value);

        assertThat(validated.imageKeptInOrigin()).isFalse();
        assertThat(validated.imageData()).isNull();
        assertThat(validated.request()).isEqualTo(text);
        assertThat(roundTrip(validated).request()).isEqualTo(text);
    }

    @Test
    void rebuildingFromTheAccessorsGivesAnEqualRecord() {
        byte[] value = codec.encode(caption("c", randomImage(4096, 9)).setKey("s").build());
        ValidatedRequest validated = decodedFrom(value);

        ValidatedRequest rebuilt = new ValidatedRequest(validated.origin(), validated.request(),
                validated.routingKey());

        assertThat(rebuilt).isEqualTo(validated).hasSameHashCodeAs(validated);
        assertThat(rebuilt.routingKey()).isEqualTo("s");
    }

    /** Checkpoints taken while the request still held its image restore, and lose the second copy on the way in. */
    @Test
    void aCheckpointedRequestOfTheEarlierFormRestores() throws IOException {
        byte[] value = codec.encode(caption("before", randomImage(EIGHT_MIB, 10)).build());
        EnrichmentRequest decoded = decode(value);
        EarlierValidatedRequest earlier = new EarlierValidatedRequest(origin(value), decoded, "acme|CAPTION");
        byte[] written = serialize(TypeInformation.of(EarlierValidatedRequest.class)
                .createSerializer(new SerializerConfigImpl()), earlier);
        assertThat(written.length).as("the earlier form holds the image twice").isGreaterThan(2 * EIGHT_MIB);

        ValidatedRequest restored = pipelineSerializer().deserialize(new DataInputDeserializer(written));

        assertThat(restored.imageKeptInOrigin()).isTrue();
        assertThat(restored.request()).isEqualTo(decoded);
        assertThat(restored.routingKey()).isEqualTo("acme|CAPTION");
        assertThat(serialize(pipelineSerializer(), restored).length).isLessThan(MAX_SERIALIZED_WITH_8_MIB_IMAGE);
    }

    /** {@link ValidatedRequest}'s fields as they were when the request kept its own copy of the image. */
    public record EarlierValidatedRequest(SourceRecord origin, EnrichmentRequest request, String routingKey) {
    }

    // ---- helpers ----

    /** As the decode stage makes it. */
    private ValidatedRequest decodedFrom(byte[] value) {
        return ValidatedRequest.of(origin(value), decode(value));
    }

    private EnrichmentRequest decode(byte[] value) {
        try {
            return codec.decode(value);
        } catch (WireFormatException e) {
            throw new AssertionError(e);
        }
    }

    /** The serializer Flink picks for the type, with Kryo refused as the pipeline's types must never need it. */
    private static TypeSerializer<ValidatedRequest> pipelineSerializer() {
        SerializerConfigImpl config = new SerializerConfigImpl();
        config.setGenericTypes(false);
        return TypeInformation.of(ValidatedRequest.class).createSerializer(config);
    }

    private static <T> byte[] serialize(TypeSerializer<T> serializer, T value) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(1 << 16);
        serializer.serialize(value, out);
        return out.getCopyOfBuffer();
    }

    private static ValidatedRequest roundTrip(ValidatedRequest value) throws IOException {
        TypeSerializer<ValidatedRequest> serializer = pipelineSerializer();
        return serializer.deserialize(new DataInputDeserializer(serialize(serializer, value)));
    }

    private static DeadLetter failAtEnrichStage(ValidatedRequest request) {
        EnrichAsyncFunction function = new EnrichAsyncFunction(r -> CompletableFuture.failedFuture(
                new EnrichmentException(ErrorCode.ENRICHMENT_FAILED, "model failed")), new Configuration());
        List<DeadLetter> out = new ArrayList<>();
        function.asyncInvoke(request, new ResultFuture<>() {
            @Override
            public void complete(Collection<EnrichmentOutcome> result) {
                result.forEach(o -> out.add(o.deadLetter()));
            }

            @Override
            public void completeExceptionally(Throwable error) {
                throw new AssertionError(error);
            }

            @Override
            public void complete(CollectionSupplier<EnrichmentOutcome> supplier) {
                throw new UnsupportedOperationException();
            }
        });
        assertThat(out).hasSize(1);
        return out.get(0);
    }

    /** {@code n} random bytes behind a PNG signature: passes validation's format check. */
    private static byte[] randomImage(int n, long seed) {
        byte[] image = new byte[n];
        new Random(seed).nextBytes(image);
        byte[] png = TestRequests.imageBytes(8, "image/png");
        System.arraycopy(png, 0, image, 0, Math.min(8, n));
        return image;
    }

    private static EnrichmentRequest.Builder caption(String id, byte[] image) {
        return TestRequests.caption(id, 8, "image/png").setImage(ImageData.newBuilder()
                .setData(ByteBuffer.wrap(image)).setMediaType("image/png").build());
    }

    /** A CAPTION request as a producer still on schema version 1 writes it. */
    private static byte[] v1Caption(String id, byte[] image) throws IOException {
        Schema v1 = SchemaHistory.schemasOf("EnrichmentRequest").get(0);
        Schema imageSchema = v1.getField("image").schema().getTypes().get(1);
        GenericRecord imageRecord = new GenericData.Record(imageSchema);
        imageRecord.put("data", ByteBuffer.wrap(image));
        imageRecord.put("mediaType", "image/png");
        GenericRecord record = new GenericData.Record(v1);
        record.put("requestId", id);
        record.put("tenant", "legacy");
        record.put("key", null);
        record.put("task", "CAPTION");
        record.put("text", "what is it?");
        record.put("image", imageRecord);
        record.put("targetLanguage", null);
        record.put("generation", null);
        record.put("eventTime", 1_600_000_000_000L);
        record.put("attributes", Map.of("a", "b"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0xC3, 0x01});
        out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(SchemaNormalization.parsingFingerprint64(v1)).array());
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(v1).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    private static byte[] bytes(ByteBuffer buffer) {
        ByteBuffer view = buffer.duplicate();
        byte[] out = new byte[view.remaining()];
        view.get(out);
        return out;
    }

    private static String sha256(byte[] value) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value));
    }
}
