package dev.gemmaflink.operators.registry;

import org.apache.avro.Schema;

/**
 * Under which subject a record's value schema is registered, as Confluent's serializers name them
 * ({@code value.subject.name.strategy}). Written in the configuration by Confluent's class names.
 */
public enum SubjectNameStrategy {
    /** {@code <topic>-value}: one schema lineage per topic (Confluent's default). */
    TOPIC_NAME("TopicNameStrategy"),
    /** The record's full name, e.g. {@code dev.gemmaflink.schemas.EnrichmentResult}: one lineage per record type. */
    RECORD_NAME("RecordNameStrategy"),
    /** {@code <topic>-<record full name>}: one lineage per record type and topic. */
    TOPIC_RECORD_NAME("TopicRecordNameStrategy");

    private final String confluentName;

    SubjectNameStrategy(String confluentName) {
        this.confluentName = confluentName;
    }

    /** The subject of values of {@code schema} written to {@code topic}. */
    public String subject(String topic, Schema schema) {
        return switch (this) {
            case TOPIC_NAME -> topic + "-value";
            case RECORD_NAME -> schema.getFullName();
            case TOPIC_RECORD_NAME -> topic + "-" + schema.getFullName();
        };
    }

    /** Confluent's class name (what the configuration takes and shows). */
    @Override
    public String toString() {
        return confluentName;
    }

    /** By Confluent's simple or full class name, or by constant name; case-insensitive. */
    public static SubjectNameStrategy parse(String name) {
        String simple = name.substring(name.lastIndexOf('.') + 1).strip();
        for (SubjectNameStrategy s : values()) {
            if (s.confluentName.equalsIgnoreCase(simple) || s.name().equalsIgnoreCase(simple)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown subject name strategy '" + name
                + "' (TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy)");
    }
}
