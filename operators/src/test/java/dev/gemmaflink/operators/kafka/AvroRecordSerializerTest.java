package dev.gemmaflink.operators.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.model.DeadLetters;
import dev.gemmaflink.operators.model.SourceRecord;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.Stage;
import dev.gemmaflink.schemas.wire.WireCodec;

class AvroRecordSerializerTest {

    @Test
    void resultsAreKeyedByRequestIdInTheWireFormat() throws Exception {
        EnrichmentResult result = EnrichmentResult.newBuilder().setRequestId("req-7").setTenant("t").setKey(null)
                .setTask("SUMMARIZE").setOutputText("o").setModelId("m").setFinishReason("STOP").setPromptTokens(1)
                .setOutputTokens(1).setQueueMillis(0).setFirstTokenMillis(0).setTotalMillis(0)
                .setProcessingTime(Instant.ofEpochMilli(1)).build();

        var record = AvroRecordSerializer.results("out").serialize(result, null, 5L);

        assertThat(record.topic()).isEqualTo("out");
        assertThat(record.timestamp()).isEqualTo(5L);
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("req-7");
        assertThat(WireCodec.results().decode(record.value())).isEqualTo(result);
    }

    @Test
    void deadLettersAreKeyedByRequestIdElseByOrigin() throws Exception {
        SourceRecord origin = new SourceRecord("in", 2, 9L, 0L, null, new byte[] {1});
        DeadLetter known = DeadLetters.of(origin, "req-1", Stage.VALIDATE, ErrorCode.MISSING_TEXT, "r");
        DeadLetter unknown = DeadLetters.of(origin, null, Stage.DECODE, ErrorCode.DECODE_FAILED, "r");
        AvroRecordSerializer<DeadLetter> serializer = AvroRecordSerializer.deadLetters("dlq");

        assertThat(new String(serializer.serialize(known, null, null).key(), StandardCharsets.UTF_8))
                .isEqualTo("req-1");
        var record = serializer.serialize(unknown, null, null);
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("in/2/9");
        assertThat(WireCodec.deadLetters().decode(record.value())).isEqualTo(unknown);
    }

    @Test
    void deserializerKeepsTheOriginAndRawBytes() {
        var out = new java.util.ArrayList<SourceRecord>();
        new SourceRecordDeserializer().deserialize(new ConsumerRecord<>("in", 1, 77L, new byte[] {7},
                new byte[] {8, 9}), new org.apache.flink.util.Collector<>() {
                    @Override
                    public void collect(SourceRecord record) {
                        out.add(record);
                    }

                    @Override
                    public void close() {
                    }
                });

        assertThat(out).singleElement().satisfies(r -> {
            assertThat(r.origin()).isEqualTo("in/1/77");
            assertThat(r.key()).containsExactly(7);
            assertThat(r.value()).containsExactly(8, 9);
        });
    }
}
