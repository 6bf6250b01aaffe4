package dev.gemmaflink.operators.registry;

/**
 * How records travel on a topic: the options {@code format.requests}, {@code format.results} and
 * {@code format.dead-letters} take one of these (by the name in quotes).
 */
public enum WireFormat {
    /** Input only: tells the others apart by their first bytes ({@code C3 01}, {@code 00}, {@code {}). */
    AUTO("auto"),
    /** Avro binary with the single-object header: {@code C3 01}, 8-byte CRC-64-AVRO fingerprint, body. */
    SINGLE_OBJECT("single-object"),
    /** Confluent Schema Registry framing: {@code 00}, 4-byte big-endian schema id, body. */
    CONFLUENT("confluent"),
    /** Avro JSON encoding (UTF-8). */
    JSON("json");

    private final String label;

    WireFormat(String label) {
        this.label = label;
    }

    /** The name the options take. */
    @Override
    public String toString() {
        return label;
    }
}
