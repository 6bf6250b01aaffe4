package dev.gemmaflink.operators.gemma;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.flink.configuration.ReadableConfig;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.gemmaflink.operators.enrich.EnrichmentException;
import dev.gemmaflink.runtime.constrain.Constraint;
import dev.gemmaflink.runtime.constrain.ConstraintException;
import dev.gemmaflink.schemas.EnrichmentRequest;
import dev.gemmaflink.schemas.ErrorCode;

/**
 * What the output of a CLASSIFY or EXTRACT request must be, as an engine {@link Constraint}: CLASSIFY's labels come
 * from the request ({@code labels}) or else from {@code enrich.gemma.classify.labels}, and the most labels one output
 * may name from the request ({@code maxLabels}) or else from {@code enrich.gemma.classify.max-labels} (1: the bare
 * label; more: a JSON array, see {@link Constraint#choice(java.util.Collection, int)}); EXTRACT's JSON Schema from
 * the request ({@code outputSchema}) or a schema named in {@code enrich.gemma.extract.schemas}
 * ({@code outputSchemaName}), so producers can send only a name.
 *
 * <p>The configured labels and schemas are checked when this is built (an unsupported schema keyword fails the job
 * at start, naming the keyword and the schema); a request's own labels or schema that the engine cannot constrain
 * to is an {@code INVALID_PARAMETER} dead letter whose reason names the keyword. Constraints are built once per
 * distinct labels or schema text and shared (the engine compiles each distinct constraint once).
 */
public final class StructuredOutputs implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Distinct request-supplied constraints kept; the cache is emptied when it grows past this. */
    static final int MAX_CACHED = 1024;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<String> defaultLabels;
    private final int defaultMaxLabels;
    private final Map<String, String> namedSchemas;
    private transient Map<String, Constraint> cache;

    /**
     * @param defaultLabels labels of CLASSIFY requests that carry none; empty for none
     * @param namedSchemas JSON Schemas by name
     * @throws IllegalArgumentException naming the option and the problem when a label set or schema is unusable
     */
    public StructuredOutputs(List<String> defaultLabels, Map<String, String> namedSchemas) {
        this(defaultLabels, 1, namedSchemas);
    }

    /**
     * @param defaultLabels labels of CLASSIFY requests that carry none; empty for none
     * @param defaultMaxLabels the most labels of a CLASSIFY output whose request does not say (at least 1)
     * @param namedSchemas JSON Schemas by name
     * @throws IllegalArgumentException naming the option and the problem when a label set, the label count or a
     *     schema is unusable
     */
    public StructuredOutputs(List<String> defaultLabels, int defaultMaxLabels, Map<String, String> namedSchemas) {
        if (defaultMaxLabels < 1) {
            throw new IllegalArgumentException(GemmaOptions.CLASSIFY_MAX_LABELS.key() + " must be at least 1, got "
                    + defaultMaxLabels);
        }
        this.defaultMaxLabels = defaultMaxLabels;
        this.defaultLabels = List.copyOf(defaultLabels);
        this.namedSchemas = Map.copyOf(namedSchemas);
        if (!this.defaultLabels.isEmpty()) {
            try {
                Constraint.choice(this.defaultLabels);
            } catch (ConstraintException e) {
                throw new IllegalArgumentException(GemmaOptions.CLASSIFY_LABELS.key() + ": " + e.getMessage(), e);
            }
        }
        for (Map.Entry<String, String> schema : new TreeMap<>(this.namedSchemas).entrySet()) {
            try {
                Constraint.jsonSchema(schema.getValue());
            } catch (ConstraintException e) {
                throw new IllegalArgumentException(GemmaOptions.EXTRACT_SCHEMAS.key() + ": schema '" + schema.getKey()
                        + "': " + e.getMessage(), e);
            }
        }
    }

    /** No configured labels or schemas: CLASSIFY and EXTRACT requests must carry their own. */
    public static StructuredOutputs none() {
        return new StructuredOutputs(List.of(), Map.of());
    }

    /**
     * From {@code enrich.gemma.classify.labels}, {@code enrich.gemma.classify.max-labels} and the file named by
     * {@code enrich.gemma.extract.schemas}.
     */
    public static StructuredOutputs from(ReadableConfig config) {
        List<String> labels = config.getOptional(GemmaOptions.CLASSIFY_LABELS).orElse(List.of());
        String file = config.get(GemmaOptions.EXTRACT_SCHEMAS);
        return new StructuredOutputs(labels, config.get(GemmaOptions.CLASSIFY_MAX_LABELS),
                file == null || file.isBlank() ? Map.of() : readSchemas(Path.of(file)));
    }

    /**
     * The schemas of a JSON file whose top-level object maps each name to a JSON Schema object.
     *
     * @throws IllegalArgumentException naming the option when the file cannot be read or is not such an object
     */
    public static Map<String, String> readSchemas(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (IOException e) {
            throw new IllegalArgumentException(GemmaOptions.EXTRACT_SCHEMAS.key() + "=" + file
                    + " cannot be read as JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(GemmaOptions.EXTRACT_SCHEMAS.key() + "=" + file
                    + " must hold a JSON object mapping schema names to JSON Schemas");
        }
        Map<String, String> schemas = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isObject()) {
                throw new IllegalArgumentException(GemmaOptions.EXTRACT_SCHEMAS.key() + "=" + file + ": schema '"
                        + e.getKey() + "' is not a JSON object");
            }
            schemas.put(e.getKey(), e.getValue().toString());
        }
        return schemas;
    }

    /** The configured labels (empty when none). */
    public List<String> defaultLabels() {
        return defaultLabels;
    }

    /** The most labels of a CLASSIFY output whose request does not say. */
    public int defaultMaxLabels() {
        return defaultMaxLabels;
    }

    /**
     * The most labels the output of a CLASSIFY request may name: its own {@code maxLabels}, else the configured
     * default.
     *
     * @throws EnrichmentException INVALID_PARAMETER when the request's is below 1
     */
    public int maxLabels(EnrichmentRequest request) {
        Integer own = request.getMaxLabels();
        if (own == null) {
            return defaultMaxLabels;
        }
        if (own < 1) {
            return invalid("maxLabels must be at least 1, got " + own);
        }
        return own;
    }

    /** The configured schema names, sorted. */
    public List<String> schemaNames() {
        return namedSchemas.keySet().stream().sorted().toList();
    }

    /**
     * The labels of a CLASSIFY request: its own, else the configured ones.
     *
     * @throws EnrichmentException MISSING_FIELD when there are none
     */
    public List<String> labels(EnrichmentRequest request) {
        List<String> own = request.getLabels();
        if (own != null && !own.isEmpty()) {
            return own.stream().map(Object::toString).toList();
        }
        if (defaultLabels.isEmpty()) {
            throw new EnrichmentException(ErrorCode.MISSING_FIELD, "task " + request.getTask() + " needs labels: "
                    + "the request has none and " + GemmaOptions.CLASSIFY_LABELS.key() + " is not set");
        }
        return defaultLabels;
    }

    /**
     * The JSON Schema text of an EXTRACT request: its own, else the configured one it names.
     *
     * @throws EnrichmentException MISSING_FIELD when it has neither, INVALID_PARAMETER when it has both or names an
     *     unknown schema
     */
    public String schema(EnrichmentRequest request) {
        String own = blankToNull(request.getOutputSchema());
        String name = blankToNull(request.getOutputSchemaName());
        if (own != null && name != null) {
            return invalid("outputSchema and outputSchemaName are both set; set one");
        }
        if (own != null) {
            return own;
        }
        if (name == null) {
            throw new EnrichmentException(ErrorCode.MISSING_FIELD, "task " + request.getTask()
                    + " needs outputSchema (a JSON Schema) or outputSchemaName (one of " + schemaNames() + ", "
                    + GemmaOptions.EXTRACT_SCHEMAS.key() + ")");
        }
        String schema = namedSchemas.get(name);
        if (schema == null) {
            return invalid("outputSchemaName '" + name + "' is not one of " + schemaNames() + " ("
                    + GemmaOptions.EXTRACT_SCHEMAS.key() + ")");
        }
        return schema;
    }

    /**
     * The constraint of a request's output: a choice of labels for CLASSIFY, a JSON Schema for EXTRACT, none for
     * other tasks.
     *
     * @throws EnrichmentException MISSING_FIELD or INVALID_PARAMETER (naming an unsupported schema keyword)
     */
    public Optional<Constraint> constraint(EnrichmentRequest request) {
        switch (request.getTask()) {
            case "CLASSIFY": {
                List<String> labels = labels(request);
                int max = maxLabels(request);
                return Optional.of(cached("labels:" + max + ":" + labels.size() + ":" + String.join("\u0000", labels),
                        () -> {
                    try {
                        return Constraint.choice(labels, max);
                    } catch (ConstraintException e) {
                        return invalid("labels: " + e.getMessage());
                    }
                }));
            }
            case "EXTRACT": {
                String schema = schema(request);
                return Optional.of(cached("schema:" + schema, () -> {
                    try {
                        return Constraint.jsonSchema(schema);
                    } catch (ConstraintException e) {
                        return invalid("outputSchema: " + e.getMessage());
                    }
                }));
            }
            default:
                return Optional.empty();
        }
    }

    private Constraint cached(String key, java.util.function.Supplier<Constraint> build) {
        Map<String, Constraint> c = cache;
        if (c == null) {
            c = new ConcurrentHashMap<>();
            cache = c;
        }
        Constraint found = c.get(key);
        if (found != null) {
            return found;
        }
        Constraint built = build.get();
        if (c.size() >= MAX_CACHED) {
            c.clear();
        }
        c.put(key, built);
        return built;
    }

    private static <T> T invalid(String reason) {
        throw new EnrichmentException(ErrorCode.INVALID_PARAMETER, reason);
    }

    private static String blankToNull(CharSequence s) {
        return s == null || s.toString().isBlank() ? null : s.toString();
    }
}
