package dev.gemmaflink.schemas.wire;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

import org.apache.avro.Schema;

/**
 * Earlier versions of the wire schemas, kept under {@code schemas/history/vN/} and shipped in the jar.
 *
 * <p>A schema there is never edited: a change to a contract adds a new version in {@code src/main/avro} and the
 * previous one moves here. {@link #VERSIONS} must list every folder (a test checks it against the source tree).
 */
public final class SchemaHistory {

    /** Historical versions, oldest first. The current schema is the generated class's, not listed here. */
    public static final List<String> VERSIONS = List.of("v1", "v2", "v3");

    private static final String ROOT = "/dev/gemmaflink/schemas/history/";

    private SchemaHistory() {
    }

    /**
     * Historical schemas of one record, oldest first.
     *
     * @param recordName simple name of the record, e.g. {@code EnrichmentRequest}
     * @return one schema per version that has a file for this record
     */
    public static List<Schema> schemasOf(String recordName) {
        List<Schema> schemas = new ArrayList<>();
        for (String version : VERSIONS) {
            String resource = ROOT + version + "/" + recordName + ".avsc";
            try (InputStream in = SchemaHistory.class.getResourceAsStream(resource)) {
                if (in != null) {
                    schemas.add(new Schema.Parser().parse(in));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read historical schema " + resource, e);
            }
        }
        return List.copyOf(schemas);
    }
}
