package dev.gemmaflink.operators.validate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import dev.gemmaflink.operators.model.SourceRecord;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.schemas.DeadLetter;

/**
 * What a {@link DecodeAndValidateFunction} emits for the records handed to {@link #process}: valid requests on its
 * main output, dead letters on {@link DecodeAndValidateFunction#DEAD_LETTERS}, each in order.
 */
final class ValidationOutputs {

    final List<ValidatedRequest> valid = new ArrayList<>();
    final List<DeadLetter> deadLetters = new ArrayList<>();

    /** Runs {@code record} through {@code function}, outside a Flink runtime (no timestamps, no timers). */
    void process(DecodeAndValidateFunction function, SourceRecord record) {
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
            @SuppressWarnings("unchecked")
            public <X> void output(OutputTag<X> outputTag, X value) {
                assertThat(outputTag).isEqualTo(DecodeAndValidateFunction.DEAD_LETTERS);
                deadLetters.add((DeadLetter) value);
            }
        }, new Collector<>() {
            @Override
            public void collect(ValidatedRequest record) {
                valid.add(record);
            }

            @Override
            public void close() {
            }
        });
    }
}
