package dev.gemmaflink.operators.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.junit.jupiter.api.Test;

import dev.gemmaflink.operators.kafka.AvroRecordSerializer.RecordSizeLimit;
import dev.gemmaflink.operators.model.DeadLetters;
import dev.gemmaflink.operators.model.SourceRecord;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.Stage;
import dev.gemmaflink.schemas.wire.WireCodec;

class AvroRecordSerializerTest {

    private static final RecordSizeLimit DEFAULT_LIMIT = new RecordSizeLimit(1_048_576, false);

    @Test
    void resultsAreKeyedByRequestIdInTheWireFormat() throws Exception {
        EnrichmentResult result = EnrichmentResult.newBuilder().setRequestId("req-7").setTenant("t").setKey(null)
                .setTask("SUMMARIZE").setOutputText("o").setModelId("m").setFinishReason("STOP").setPromptTokens(1)
                .setOutputTokens(1).setQueueMillis(0).setFirstTokenMillis(0).setTotalMillis(0)
                .setProcessingTime(Instant.ofEpochMilli(1)).build();

        var record = AvroRecordSerializer.results("out", DEFAULT_LIMIT).serialize(result, null, 5L);

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
        AvroRecordSerializer<DeadLetter> serializer = AvroRecordSerializer.deadLetters("dlq", 786_432, DEFAULT_LIMIT);

        assertThat(new String(serializer.serialize(known, null, null).key(), StandardCharsets.UTF_8))
                .isEqualTo("req-1");
        var record = serializer.serialize(unknown, null, null);
        assertThat(new String(record.key(), StandardCharsets.UTF_8)).isEqualTo("in/2/9");
        assertThat(WireCodec.deadLetters().decode(record.value())).isEqualTo(unknown);
    }

    @Test
    void aDeadLetterOfATenMebibyteValueIsCutToFitTheDefaultRequestSize() throws Exception {
        byte[] value = new byte[10 * 1024 * 1024];
        new Random(7).nextBytes(value);
        SourceRecord origin = new SourceRecord("in", 0, 41L, 0L, null, value);
        DeadLetter whole = DeadLetters.of(origin, "big", Stage.VALIDATE, ErrorCode.TEXT_TOO_LONG, "text too long");

        var record = AvroRecordSerializer.deadLetters("dlq", 786_432, DEFAULT_LIMIT).serialize(whole, null, null);

        assertThat(record.value().length + record.key().length).isLessThan(1_048_576 - 512);
        DeadLetter sent = WireCodec.deadLetters().decode(record.value());
        byte[] kept = new byte[sent.getOriginalBytes().remaining()];
        sent.getOriginalBytes().get(kept);
        assertThat(kept).isEqualTo(Arrays.copyOf(value, DeadLetters.TRUNCATED_PREFIX_BYTES));
        assertThat(sent.getOriginalTruncated()).isTrue();
        assertThat(sent.getOriginalSize()).isEqualTo(value.length);
        assertThat(sent.getOriginalSha256())
                .isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value)));
        assertThat(sent.getReason()).startsWith("text too long [original value of 10485760 bytes is over "
                + "dead-letter.max-original-bytes (786432): originalBytes holds its first 1024 bytes; the record "
                + "stays in in/0 at offset 41]");
        assertThat(sent.getErrorCode()).isEqualTo("TEXT_TOO_LONG");
    }

    @Test
    void aDeadLetterAtTheLimitKeepsItsValueWhole() throws Exception {
        byte[] value = new byte[786_432];
        Arrays.fill(value, (byte) 3);
        DeadLetter whole = DeadLetters.of(new SourceRecord("in", 0, 1L, 0L, null, value), null, Stage.DECODE,
                ErrorCode.DECODE_FAILED, "r");

        var record = AvroRecordSerializer.deadLetters("dlq", 786_432, DEFAULT_LIMIT).serialize(whole, null, null);

        DeadLetter sent = WireCodec.deadLetters().decode(record.value());
        assertThat(sent).isEqualTo(whole);
        assertThat(sent.getOriginalTruncated()).isFalse();
    }

    @Test
    void aLongReasonIsCut() throws Exception {
        DeadLetter whole = DeadLetters.of(new SourceRecord("in", 0, 1L, 0L, null, new byte[] {1}), null,
                Stage.DECODE, ErrorCode.DECODE_FAILED, "x".repeat(DeadLetters.MAX_REASON_CHARS + 10));

        DeadLetter fitted = DeadLetters.fit(whole, 786_432);

        assertThat(fitted.getReason()).isEqualTo("x".repeat(DeadLetters.MAX_REASON_CHARS) + " ... (10 more chars cut)");
    }

    @Test
    void aRecordOverTheRequestSizeFailsTheJobWithoutRestartNamingTheOption() {
        EnrichmentResult result = result("req-big", "o".repeat(5000));

        assertThatThrownBy(() -> AvroRecordSerializer.results("out", new RecordSizeLimit(4096, false))
                .serialize(result, null, null))
                .isInstanceOf(SuppressRestartsException.class)
                .cause().hasMessageContaining("kafka.drop-oversized-records")
                .hasMessageContaining("EnrichmentResult req-big");
    }

    @Test
    void aRecordOverTheRequestSizeIsDroppedWhenAsked() {
        var serializer = AvroRecordSerializer.results("out", new RecordSizeLimit(4096, true));

        assertThat(serializer.serialize(result("req-big", "o".repeat(5000)), null, null)).isNull();
        assertThat(serializer.serialize(result("req-small", "o"), null, null)).isNotNull();
    }

    private static EnrichmentResult result(String id, String output) {
        return EnrichmentResult.newBuilder().setRequestId(id).setTenant("t").setKey(null)
                .setTask("SUMMARIZE").setOutputText(output).setModelId("m").setFinishReason("STOP").setPromptTokens(1)
                .setOutputTokens(1).setQueueMillis(0).setFirstTokenMillis(0).setTotalMillis(0)
                .setProcessingTime(Instant.ofEpochMilli(1)).build();
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
