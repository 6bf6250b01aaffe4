package dev.gemmaflink.schemas;

/**
 * Machine-readable reasons carried in {@link DeadLetter#getErrorCode()}.
 *
 * <p>The dead-letter schema stores the code as a string so that a newer pipeline can add codes without a schema
 * change; consumers should treat an unknown name as {@link #INTERNAL}-like rather than fail.
 */
public enum ErrorCode {
    /** The bytes are neither Avro single-object encoding nor Avro JSON, or they are truncated or corrupt. */
    DECODE_FAILED,
    /** Avro single-object encoding whose schema fingerprint is not the current or any historical schema. */
    UNKNOWN_SCHEMA,
    /** A required field (request id, tenant) is missing or blank. */
    MISSING_FIELD,
    /** The task is not in the task registry. */
    UNKNOWN_TASK,
    /** The task needs text and none was given. */
    MISSING_TEXT,
    /** The text is longer than the configured maximum. */
    TEXT_TOO_LONG,
    /** The task needs an image and none was given. */
    MISSING_IMAGE,
    /** The image is larger than the configured maximum. */
    IMAGE_TOO_LARGE,
    /** The image cannot be read: corrupt, not the format it claims, or more pixels than the configured limit. */
    IMAGE_UNREADABLE,
    /** The image media type is not one of the configured ones. */
    UNSUPPORTED_MEDIA_TYPE,
    /** The task needs a target language and none was given. */
    MISSING_LANGUAGE,
    /** The target language is not a well-formed BCP-47 tag. */
    INVALID_LANGUAGE,
    /**
     * A parameter is out of range: a generation parameter, or a request id, tenant or key that is too long or holds
     * control characters.
     */
    INVALID_PARAMETER,
    /**
     * The prompt (instruction, text and image tokens) plus the output token limit is longer than the model's context
     * or the engine's KV capacity.
     */
    PROMPT_TOO_LONG,
    /**
     * A constrained output (CLASSIFY, EXTRACT) reached its token limit before the label or JSON structure was
     * complete: the partial output would not parse, so it is a dead letter instead of a result.
     */
    OUTPUT_INCOMPLETE,
    /** The enricher reported a failure for this request. */
    ENRICHMENT_FAILED,
    /** The enricher did not answer within the configured timeout. */
    TIMEOUT,
    /** An unexpected error in the pipeline itself, for this record only. */
    INTERNAL
}
