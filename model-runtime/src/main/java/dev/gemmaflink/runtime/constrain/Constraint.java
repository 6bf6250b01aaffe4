package dev.gemmaflink.runtime.constrain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What a generated output must be: exactly one of a set of labels, a match of a regular expression, or a JSON text
 * that validates against a JSON Schema (the subset of {@link JsonSchemaParser}). Immutable and cheap to build: the
 * factories check everything (an unsupported schema keyword or regex construct throws a {@link ConstraintException}
 * naming it), the automaton is compiled once per distinct constraint by a {@link ConstraintCompiler} and shared by
 * every request that carries an equal one.
 *
 * <pre>{@code
 * Constraint label = Constraint.choice(List.of("positive", "negative", "neutral"));
 * Constraint order = Constraint.jsonSchema("""
 *     {"type": "object", "properties": {"id": {"type": "string", "pattern": "[A-Z]{2}[0-9]{6}"},
 *      "amount": {"type": "number"}}, "required": ["id", "amount"], "additionalProperties": false}""");
 * }</pre>
 *
 * <p>Generation under a constraint may end only where the output is a complete match: the request's stop ids are
 * allowed only in accepting states, and a request whose match cannot continue (a closed JSON object, a label with no
 * longer label after it) ends there by itself.
 */
public final class Constraint {

    /** What kind of constraint. */
    public enum Kind {
        /** One of a set of labels (plain text, not quoted). */
        CHOICE,
        /** A full match of a regular expression ({@link RegexParser}'s subset). */
        REGEX,
        /** JSON that validates against a JSON Schema ({@link JsonSchemaParser}'s subset). */
        JSON_SCHEMA
    }

    /** Default whitespace allowed at each JSON separator: at most one space. */
    public static final int DEFAULT_JSON_WHITESPACE = 1;
    /** The most whitespace bytes a JSON separator may be given. */
    public static final int MAX_JSON_WHITESPACE = 8;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Kind kind;
    private final String key; // canonical: equal keys compile to the same automaton
    private final List<String> labels; // CHOICE
    private final RegexNode regex; // REGEX
    private final SchemaNode schema; // JSON_SCHEMA
    private final int maxWhitespace;

    private Constraint(Kind kind, String key, List<String> labels, RegexNode regex, SchemaNode schema,
            int maxWhitespace) {
        this.kind = kind;
        this.key = key;
        this.labels = labels;
        this.regex = regex;
        this.schema = schema;
        this.maxWhitespace = maxWhitespace;
    }

    /**
     * @param labels the allowed outputs (non-empty, distinct, each non-empty valid Unicode); the output is exactly
     *     one of them
     */
    public static Constraint choice(Collection<String> labels) {
        Objects.requireNonNull(labels, "labels");
        if (labels.isEmpty()) {
            throw new ConstraintException("a choice needs at least one label");
        }
        Set<String> seen = new HashSet<>();
        List<String> out = new ArrayList<>();
        for (String l : labels) {
            if (l == null || l.isEmpty()) {
                throw new ConstraintException("choice labels must be non-empty, got " + (l == null ? "null" : "\"\""));
            }
            checkUnicode(l);
            if (!seen.add(l)) {
                throw new ConstraintException("duplicate choice label \"" + l + "\"");
            }
            out.add(l);
        }
        return new Constraint(Kind.CHOICE, "choice:" + json(out), List.copyOf(out), null, null, 0);
    }

    /** @param pattern a regular expression the whole output must match ({@link RegexParser}'s subset) */
    public static Constraint regex(String pattern) {
        Objects.requireNonNull(pattern, "pattern");
        return new Constraint(Kind.REGEX, "regex:" + pattern, null, RegexParser.parse(pattern), null, 0);
    }

    /** {@link #jsonSchema(String, int)} with at most one space at each separator. */
    public static Constraint jsonSchema(String schema) {
        return jsonSchema(schema, DEFAULT_JSON_WHITESPACE);
    }

    /**
     * @param schema a JSON Schema in the supported subset (see {@link JsonSchemaParser})
     * @param maxWhitespace whitespace bytes allowed at each JSON separator: 0 for compact JSON, 1 for at most one
     *     space, 2 to {@value #MAX_JSON_WHITESPACE} for a run of spaces, tabs and line ends
     * @throws ConstraintException naming the unsupported keyword (and its JSON pointer) or the malformed value
     */
    public static Constraint jsonSchema(String schema, int maxWhitespace) {
        Objects.requireNonNull(schema, "schema");
        if (maxWhitespace < 0 || maxWhitespace > MAX_JSON_WHITESPACE) {
            throw new ConstraintException("maxWhitespace must be in 0.." + MAX_JSON_WHITESPACE + ", got "
                    + maxWhitespace);
        }
        SchemaNode node = JsonSchemaParser.parse(schema);
        String canonical;
        try {
            canonical = JSON.writeValueAsString(JSON.readTree(schema));
        } catch (JsonProcessingException e) {
            throw new ConstraintException("the JSON Schema is not valid JSON: " + e.getOriginalMessage());
        }
        return new Constraint(Kind.JSON_SCHEMA, "json-schema:" + maxWhitespace + ":" + canonical, null, null, node,
                maxWhitespace);
    }

    public Kind kind() {
        return kind;
    }

    /** The labels of a {@link Kind#CHOICE} constraint, in the given order; empty for other kinds. */
    public List<String> labels() {
        return labels == null ? List.of() : labels;
    }

    /**
     * The canonical text of this constraint (kind, then the labels, pattern or compact schema): equal keys mean
     * equal constraints, compiled once.
     */
    public String key() {
        return key;
    }

    /** Compiles the byte automaton (no tokenizer involved); {@link ConstraintCompiler} caches the result. */
    public ByteDfa automaton() {
        Nfa nfa = new Nfa();
        int start = nfa.newState();
        int accept = nfa.newState();
        switch (kind) {
            case CHOICE:
                for (String l : labels) {
                    nfa.bytes(start, l.getBytes(StandardCharsets.UTF_8), accept);
                }
                break;
            case REGEX:
                new RegexCompiler(nfa, RegexCompiler.Mode.UTF8).emit(regex, start, accept);
                break;
            case JSON_SCHEMA:
                new JsonSchemaCompiler(nfa, maxWhitespace).emit(schema, start, accept);
                break;
            default:
                throw new IllegalStateException(kind.toString());
        }
        return DfaBuilder.build(nfa, start, accept);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Constraint c && key.equals(c.key);
    }

    @Override
    public int hashCode() {
        return key.hashCode();
    }

    @Override
    public String toString() {
        String k = key.length() > 120 ? key.substring(0, 117) + "..." : key;
        return "Constraint[" + k + "]";
    }

    private static void checkUnicode(String s) {
        try {
            StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).encode(CharBuffer.wrap(s));
        } catch (CharacterCodingException e) {
            throw new ConstraintException("label \"" + s + "\" is not valid Unicode (a lone surrogate?)");
        }
    }

    private static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
