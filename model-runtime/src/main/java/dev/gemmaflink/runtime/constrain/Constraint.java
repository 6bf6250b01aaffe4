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
 * What a generated output must be: exactly one of a set of labels (or up to N distinct ones as a JSON array, see
 * {@link #choice(Collection, int)}), a match of a regular expression, or a JSON text that validates against a JSON
 * Schema (the subset of {@link JsonSchemaParser}). Immutable and cheap to build: the
 * factories check everything (an unsupported schema keyword or regex construct throws a {@link ConstraintException}
 * naming it), the automaton is compiled once per distinct constraint by a {@link ConstraintCompiler} and shared by
 * every request that carries an equal one.
 *
 * <pre>{@code
 * Constraint label = Constraint.choice(List.of("positive", "negative", "neutral"));
 * Constraint topics = Constraint.choice(List.of("billing", "returns", "shipping"), 2); // ["billing", "returns"]
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
        /**
         * One of a set of labels (plain text, not quoted), or with {@link Constraint#maxLabels()} above 1 a JSON
         * array of up to that many distinct labels in the label set's order.
         */
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
    private final int maxLabels; // CHOICE: 1 for the bare label, more for a JSON array
    private final RegexNode regex; // REGEX
    private final SchemaNode schema; // JSON_SCHEMA
    private final int maxWhitespace;

    private Constraint(Kind kind, String key, List<String> labels, int maxLabels, RegexNode regex, SchemaNode schema,
            int maxWhitespace) {
        this.kind = kind;
        this.key = key;
        this.labels = labels;
        this.maxLabels = maxLabels;
        this.regex = regex;
        this.schema = schema;
        this.maxWhitespace = maxWhitespace;
    }

    /**
     * @param labels the allowed outputs (non-empty, distinct, each non-empty valid Unicode); the output is exactly
     *     one of them
     */
    public static Constraint choice(Collection<String> labels) {
        return choice(labels, 1);
    }

    /**
     * A choice of up to {@code maxLabels} distinct labels.
     *
     * <p>With {@code maxLabels} 1 the output is the bare label, exactly as {@link #choice(Collection)}. Above 1 it is
     * a JSON array of at least one and at most {@code maxLabels} labels, each a JSON string as Jackson writes it
     * (quotes, backslashes and control characters escaped, everything else as is), separated by a comma and one
     * space, with no other whitespace, and in the order of {@code labels} (strictly increasing label index, so no
     * label twice): for labels {@code [billing, returns, shipping]}, {@code ["billing", "returns"]} is an output and
     * {@code ["returns", "billing"]} is not. Any JSON parser reads it back as the labels themselves, whatever
     * commas or quotes they hold ({@link #chosenLabels(String)}). The fixed order keeps the automaton small: its
     * states are a position in a label, the smallest index the next label may have and the count so far, so it
     * grows with labels × {@code maxLabels} (times label length), not with the number of label subsets.
     *
     * @param labels the allowed labels (non-empty, distinct, each non-empty valid Unicode)
     * @param maxLabels the most labels in one output (at least 1; more than the number of labels allows them all)
     */
    public static Constraint choice(Collection<String> labels, int maxLabels) {
        Objects.requireNonNull(labels, "labels");
        if (maxLabels < 1) {
            throw new ConstraintException("maxLabels must be at least 1, got " + maxLabels);
        }
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
        String key = maxLabels == 1 ? "choice:" + json(out) : "choice-" + maxLabels + ":" + json(out);
        return new Constraint(Kind.CHOICE, key, List.copyOf(out), maxLabels, null, null, 0);
    }

    /** @param pattern a regular expression the whole output must match ({@link RegexParser}'s subset) */
    public static Constraint regex(String pattern) {
        Objects.requireNonNull(pattern, "pattern");
        return new Constraint(Kind.REGEX, "regex:" + pattern, null, 0, RegexParser.parse(pattern), null, 0);
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
        return new Constraint(Kind.JSON_SCHEMA, "json-schema:" + maxWhitespace + ":" + canonical, null, 0, null, node,
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
     * The most labels of one output of a {@link Kind#CHOICE} constraint: 1 for the bare label, more for a JSON array
     * ({@link #choice(Collection, int)}); 0 for other kinds.
     */
    public int maxLabels() {
        return maxLabels;
    }

    /**
     * The labels a complete output of this {@link Kind#CHOICE} constraint names, in output order: the output itself
     * when {@link #maxLabels()} is 1, the elements of the JSON array otherwise.
     *
     * @throws ConstraintException when {@code output} is not a complete output of this constraint
     */
    public List<String> chosenLabels(String output) {
        Objects.requireNonNull(output, "output");
        if (kind != Kind.CHOICE) {
            throw new ConstraintException("only a choice constraint has labels, this is " + kind);
        }
        if (maxLabels == 1) {
            if (!labels.contains(output)) {
                throw new ConstraintException("output \"" + output + "\" is not one of the labels");
            }
            return List.of(output);
        }
        String[] chosen;
        try {
            chosen = JSON.readValue(output, String[].class);
        } catch (JsonProcessingException e) {
            chosen = null;
        }
        if (chosen == null) {
            throw new ConstraintException("output is not a JSON array of labels: " + output);
        }
        int last = -1;
        for (String l : chosen) {
            int i = l == null ? -1 : labels.indexOf(l);
            if (i <= last) {
                throw new ConstraintException("output " + output + " is not distinct labels in the label set's order");
            }
            last = i;
        }
        if (chosen.length == 0 || chosen.length > maxLabels) {
            throw new ConstraintException("output " + output + " does not hold 1 to " + maxLabels + " labels");
        }
        return List.of(chosen);
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
                if (maxLabels == 1) {
                    for (String l : labels) {
                        nfa.bytes(start, l.getBytes(StandardCharsets.UTF_8), accept);
                    }
                } else {
                    labelArray(nfa, start, accept);
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

    /**
     * The JSON array of {@link #choice(Collection, int)}. {@code pick[k][j]} is "the (k+1)-th label is label j or a
     * later one": it emits label j, or moves on to {@code pick[k][j + 1]} without output. After label j as the
     * (k+1)-th label, "]" ends the array and ", " leads to {@code pick[k + 1][j + 1]}, so indices strictly increase.
     */
    private void labelArray(Nfa nfa, int start, int accept) {
        int n = labels.size();
        int most = Math.min(maxLabels, n);
        byte[][] quoted = new byte[n][];
        for (int j = 0; j < n; j++) {
            quoted[j] = json(labels.get(j)).getBytes(StandardCharsets.UTF_8);
        }
        byte[] open = {'['};
        byte[] close = {']'};
        byte[] separator = {',', ' '};
        int[][] pick = new int[most][n];
        for (int k = 0; k < most; k++) {
            for (int j = k; j < n; j++) { // the (k+1)-th label has index k at least
                pick[k][j] = nfa.newState();
            }
        }
        nfa.bytes(start, open, pick[0][0]);
        for (int k = 0; k < most; k++) {
            for (int j = k; j < n; j++) {
                if (j + 1 < n) {
                    nfa.epsilon(pick[k][j], pick[k][j + 1]);
                }
                int after = nfa.newState();
                nfa.bytes(pick[k][j], quoted[j], after);
                nfa.bytes(after, close, accept);
                if (k + 1 < most && j + 1 < n) {
                    nfa.bytes(after, separator, pick[k + 1][j + 1]);
                }
            }
        }
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
