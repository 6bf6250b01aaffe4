package dev.gemmaflink.operators.validate;

import java.util.Objects;
import java.util.Optional;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.model.AvroTypes;
import dev.gemmaflink.operators.model.DeadLetters;
import dev.gemmaflink.operators.model.SourceRecord;
import dev.gemmaflink.operators.model.ValidatedRequest;
import dev.gemmaflink.operators.registry.RecordDecoder;
import dev.gemmaflink.operators.registry.RegistryUnavailableException;
import dev.gemmaflink.operators.registry.WireFormat;
import dev.gemmaflink.schemas.DeadLetter;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;
import dev.gemmaflink.schemas.Stage;
import dev.gemmaflink.schemas.wire.WireFormatException;

/**
 * Decodes each Kafka record ({@link RecordDecoder}: single-object, Confluent framing through the schema registry,
 * Avro JSON) and validates it: valid requests go to the main output, everything else to {@link #DEAD_LETTERS} with
 * its origin and reason. Never throws for bad input, so bad input cannot fail the job; a schema registry that cannot
 * be reached does ({@link RegistryUnavailableException}, after the client's retries): the record is fine, and the
 * restart from the last checkpoint reads it again.
 *
 * <p>A valid request leaves with its record as read (for a dead letter later) and keeps its image bytes once, in
 * that record's value ({@link ValidatedRequest}): the decoded copy is dropped here, before the keyBy, so neither the
 * network nor the enrich stage's checkpoints carry it.
 */
public final class DecodeAndValidateFunction extends ProcessFunction<SourceRecord, ValidatedRequest> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(DecodeAndValidateFunction.class);

    /** Side output for records that cannot be decoded or are invalid. */
    public static final OutputTag<DeadLetter> DEAD_LETTERS =
            new OutputTag<>("decode-dead-letters", AvroTypes.DEAD_LETTER);

    private final RequestValidator validator;
    private final RecordDecoder<EnrichmentRequest> decoder;

    /** Reads requests in any format but the Confluent framing (no registry): single-object or Avro JSON. */
    public DecodeAndValidateFunction(RequestValidator validator) {
        this(validator, RecordDecoder.requests(WireFormat.AUTO, null));
    }

    /** Reads requests with {@code decoder} ({@code format.requests} and the registry settings). */
    public DecodeAndValidateFunction(RequestValidator validator, RecordDecoder<EnrichmentRequest> decoder) {
        this.validator = Objects.requireNonNull(validator, "validator");
        this.decoder = Objects.requireNonNull(decoder, "decoder");
    }

    @Override
    public void open(OpenContext openContext) {
    }

    @Override
    public void processElement(SourceRecord record, Context ctx, Collector<ValidatedRequest> out) {
        EnrichmentRequest request;
        try {
            request = decoder.decode(record.value());
        } catch (RegistryUnavailableException e) {
            // The record is fine, the registry is not: fail the task, replay it from the checkpoint after restart.
            throw new RegistryUnavailableException("cannot read " + record.origin() + ": " + e.getMessage(), e);
        } catch (WireFormatException e) {
            LOG.debug("undecodable record {}: {}", record.origin(), e.getMessage());
            ctx.output(DEAD_LETTERS, DeadLetters.of(record, null, Stage.DECODE, e.code(), e.getMessage()));
            return;
        } catch (RuntimeException e) {
            // A decoder bug must not fail the job on one record either; keep the record for inspection.
            ctx.output(DEAD_LETTERS, DeadLetters.of(record, null, Stage.DECODE, ErrorCode.DECODE_FAILED,
                    "unexpected decoder error: " + e));
            return;
        }
        Optional<Rejection> rejection = validator.validate(request);
        if (rejection.isPresent()) {
            ctx.output(DEAD_LETTERS, DeadLetters.of(record, request.getRequestId(), Stage.VALIDATE,
                    rejection.get().code(), rejection.get().reason()));
            return;
        }
        out.collect(ValidatedRequest.of(record, request));
    }
}
