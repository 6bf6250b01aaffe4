package dev.gemmaflink.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.runtime.PojoSerializer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.config.OptionsLoader;
import dev.gemmaflink.operators.model.SourceRecord;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.operators.validate.DecodeAndValidateFunction;
import dev.gemmaflink.operators.validate.RequestValidator;
import dev.gemmaflink.operators.validate.TaskRegistry;
import dev.gemmaflink.operators.validate.ValidationLimits;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ImageData;
import dev.gemmaflink.schemas.wire.WireCodec;

/**
 * A caption request in flight in the enrich stage costs its image once: with the serializer the job's graph gives
 * the enrich operator's input (what its async queue is checkpointed with), an 8 MiB caption as the decode stage
 * emits it serializes to less than 8 MiB + 64 KiB, not the 16 MiB of an image held twice.
 */
class InFlightRequestSizeTest {

    private static final int EIGHT_MIB = 8 * 1024 * 1024;
    private static final int MAX_SERIALIZED_WITH_8_MIB_IMAGE = EIGHT_MIB + 64 * 1024;

    @Test
    void theEnrichOperatorsInputSerializerWritesAnEightMebibyteCaptionWithItsImageOnce() throws Exception {
        Configuration conf = OptionsLoader.fromMap(Map.of());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        EnrichmentPipeline.builder(conf).build().addTo(env);
        StreamNode enrich = env.getStreamGraph().getStreamNodes().stream()
                .filter(n -> n.getOperatorName().equals("enrich")).findFirst().orElseThrow();
        @SuppressWarnings("unchecked")
        TypeSerializer<ValidatedRequest> serializer = (TypeSerializer<ValidatedRequest>) enrich
                .getTypeSerializersIn()[0];

        byte[] value = WireCodec.requests().encode(caption(EIGHT_MIB));
        ValidatedRequest validated = decodeStage(conf, new SourceRecord("requests", 0, 7L, 0L, null, value));
        DataOutputSerializer out = new DataOutputSerializer(1 << 16);
        serializer.serialize(validated, out);

        assertThat(serializer).isInstanceOf(PojoSerializer.class);
        assertThat(out.length()).isGreaterThan(EIGHT_MIB).isLessThan(MAX_SERIALIZED_WITH_8_MIB_IMAGE);
        ValidatedRequest restored = serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(restored.request()).isEqualTo(WireCodec.requests().decode(value));
        assertThat(restored.origin().value()).isEqualTo(value);
    }

    /** What decode-validate emits for the record, with the job's validation limits. */
    private static ValidatedRequest decodeStage(Configuration conf, SourceRecord record) {
        DecodeAndValidateFunction function = new DecodeAndValidateFunction(
                new RequestValidator(TaskRegistry.defaults(), ValidationLimits.from(conf)));
        function.open(null);
        List<ValidatedRequest> valid = new ArrayList<>();
        function.processElement(record, function.new Context() {
            @Override
            public Long timestamp() {
                return null;
            }

            @Override
            public TimerService timerService() {
                throw new UnsupportedOperationException();
            }

            @Override
            public <X> void output(OutputTag<X> outputTag, X value) {
                throw new AssertionError("rejected: " + value);
            }
        }, new Collector<>() {
            @Override
            public void collect(ValidatedRequest request) {
                valid.add(request);
            }

            @Override
            public void close() {
            }
        });
        assertThat(valid).hasSize(1);
        return valid.get(0);
    }

    /** A CAPTION request whose image is {@code bytes} random bytes behind a PNG signature. */
    private static EnrichmentRequest caption(int bytes) {
        byte[] image = new byte[bytes];
        new Random(11).nextBytes(image);
        System.arraycopy(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}, 0, image, 0, 8);
        return EnrichmentRequest.newBuilder().setRequestId("big").setTenant("acme").setKey(null).setTask("CAPTION")
                .setText(null).setImage(ImageData.newBuilder().setData(ByteBuffer.wrap(image))
                        .setMediaType("image/png").build())
                .setTargetLanguage(null).setGeneration(null).setEventTime(Instant.ofEpochMilli(1_000))
                .setAttributes(Map.of()).build();
    }
}
