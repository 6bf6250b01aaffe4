package dev.gemmaflink.operators.enrich;

import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

import dev.gemmaflink.operators.model.AvroTypes;
import dev.gemmaflink.operators.model.EnrichmentOutcome;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentResult;

/** Results to the main output, dead letters to {@link #DEAD_LETTERS}. */
public final class OutcomeSplitter extends ProcessFunction<EnrichmentOutcome, EnrichmentResult> {
    private static final long serialVersionUID = 1L;

    /** Side output for requests the enricher failed on. */
    public static final OutputTag<DeadLetter> DEAD_LETTERS =
            new OutputTag<>("enrich-dead-letters", AvroTypes.DEAD_LETTER);

    @Override
    public void processElement(EnrichmentOutcome outcome, Context ctx, Collector<EnrichmentResult> out) {
        if (outcome.isSuccess()) {
            out.collect(outcome.result());
        } else {
            ctx.output(DEAD_LETTERS, outcome.deadLetter());
        }
    }
}
