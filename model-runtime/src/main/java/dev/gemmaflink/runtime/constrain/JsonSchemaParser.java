package dev.gemmaflink.runtime.constrain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a JSON Schema into a {@link SchemaNode}, accepting only the subset that {@link JsonSchemaCompiler} can
 * enforce exactly. Any other keyword is a {@link ConstraintException} naming it and its JSON pointer, never ignored
 * (ignoring a validation keyword would let outputs through that the schema rejects). Annotation keywords that do not
 * constrain values ({@code title}, {@code description}, ...) are accepted and ignored.
 *
 * <p>Where the schema leaves freedom, the output takes the stricter reading, which still validates: keys come in
 * declaration order and only declared properties are written (whatever {@code additionalProperties} says); a schema
 * without {@code type} gets the type its keywords imply ({@code properties} → object, {@code items} → array,
 * {@code maxLength}/{@code pattern} → string); {@code pattern} must match the whole string.
 */
final class JsonSchemaParser {

    /** Shown in error messages. */
    static final String SUPPORTED_SUMMARY = "type (object, string, integer, number, boolean, null, array, or a list "
            + "of them), properties, required, additionalProperties (true/false), enum, const, minLength, maxLength, "
            + "pattern, items, minItems, maxItems, anyOf; annotations such as title and description are ignored";

    private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "additionalProperties",
            "enum", "const", "minLength", "maxLength", "pattern", "items", "minItems", "maxItems", "anyOf");
    private static final Set<String> ANNOTATIONS = Set.of("$schema", "$id", "$comment", "title", "description",
            "default", "examples", "deprecated", "readOnly", "writeOnly");
    private static final Set<String> TYPES = Set.of("object", "string", "integer", "number", "boolean", "null",
            "array");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Nesting deeper than this is refused (the automaton grows with it). */
    static final int MAX_DEPTH = 32;

    private JsonSchemaParser() {
    }

    /** @throws ConstraintException when the text is not JSON or uses anything outside the subset */
    static SchemaNode parse(String schemaText) {
        JsonNode root;
        try {
            root = JSON.readTree(schemaText);
        } catch (JsonProcessingException e) {
            throw new ConstraintException("the JSON Schema is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || root.isMissingNode()) {
            throw new ConstraintException("the JSON Schema is empty");
        }
        return parse(root, "", 0);
    }

    static SchemaNode parse(JsonNode node, String path, int depth) {
        if (depth > MAX_DEPTH) {
            throw new ConstraintException("the JSON Schema nests deeper than " + MAX_DEPTH + " levels at " + path);
        }
        if (node.isBoolean()) {
            throw new ConstraintException("boolean schema '" + node + "' at " + ConstraintException.pointer(path)
                    + " is not supported: give a type, enum, const or anyOf");
        }
        if (!node.isObject()) {
            throw new ConstraintException("the schema at " + ConstraintException.pointer(path)
                    + " must be a JSON object, got " + node.getNodeType());
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYWORDS.contains(k) && !ANNOTATIONS.contains(k)) {
                throw ConstraintException.unsupportedKeyword(k, path + "/" + k);
            }
        }
        if (node.has("anyOf")) {
            for (String k : KEYWORDS) {
                if (!k.equals("anyOf") && node.has(k)) {
                    throw new ConstraintException("'anyOf' together with '" + k + "' at "
                            + ConstraintException.pointer(path) + " is not supported: move '" + k
                            + "' into each branch");
                }
            }
            JsonNode arr = node.get("anyOf");
            if (!arr.isArray() || arr.isEmpty()) {
                throw new ConstraintException("'anyOf' at " + path + "/anyOf must be a non-empty array");
            }
            List<SchemaNode> options = new ArrayList<>();
            for (int i = 0; i < arr.size(); i++) {
                options.add(parse(arr.get(i), path + "/anyOf/" + i, depth + 1));
            }
            return options.size() == 1 ? options.get(0) : new SchemaNode.AnyOfSchema(options);
        }
        if (node.has("enum") || node.has("const")) {
            return enumSchema(node, path);
        }
        List<String> types = types(node, path);
        if (types.size() == 1) {
            return typed(node, types.get(0), path, depth);
        }
        List<SchemaNode> options = new ArrayList<>();
        for (String t : types) {
            options.add(typed(node, t, path, depth));
        }
        return new SchemaNode.AnyOfSchema(options);
    }

    private static List<String> types(JsonNode node, String path) {
        JsonNode t = node.get("type");
        List<String> out = new ArrayList<>();
        if (t == null) {
            if (node.has("properties") || node.has("required") || node.has("additionalProperties")) {
                out.add("object");
            } else if (node.has("items") || node.has("minItems") || node.has("maxItems")) {
                out.add("array");
            } else if (node.has("pattern") || node.has("maxLength") || node.has("minLength")) {
                out.add("string");
            } else {
                throw new ConstraintException("the schema at " + ConstraintException.pointer(path)
                        + " has no type: give type, enum, const or anyOf (any-value schemas are not supported)");
            }
            return out;
        }
        if (t.isTextual()) {
            out.add(checkType(t.asText(), path));
        } else if (t.isArray() && !t.isEmpty()) {
            Set<String> seen = new LinkedHashSet<>();
            for (JsonNode e : t) {
                if (!e.isTextual()) {
                    throw new ConstraintException("'type' at " + path + "/type must hold type names, got " + e);
                }
                seen.add(checkType(e.asText(), path));
            }
            out.addAll(seen);
        } else {
            throw new ConstraintException("'type' at " + path + "/type must be a type name or a non-empty list");
        }
        return out;
    }

    private static String checkType(String t, String path) {
        if (!TYPES.contains(t)) {
            throw new ConstraintException("unsupported type '" + t + "' at " + path + "/type (supported: " + TYPES
                    + ")");
        }
        return t;
    }

    private static SchemaNode typed(JsonNode node, String type, String path, int depth) {
        switch (type) {
            case "object": return object(node, path, depth);
            case "array": return array(node, path, depth);
            case "string": return string(node, path);
            case "integer": return new SchemaNode.IntegerSchema();
            case "number": return new SchemaNode.NumberSchema();
            case "boolean": return new SchemaNode.BooleanSchema();
            case "null": return new SchemaNode.NullSchema();
            default: throw new IllegalStateException(type);
        }
    }

    private static SchemaNode object(JsonNode node, String path, int depth) {
        JsonNode props = node.get("properties");
        if (props != null && !props.isObject()) {
            throw new ConstraintException("'properties' at " + path + "/properties must be an object");
        }
        JsonNode add = node.get("additionalProperties");
        if (add != null && !add.isBoolean()) {
            throw new ConstraintException("'additionalProperties' at " + path + "/additionalProperties: only true "
                    + "or false is supported (no extra properties are ever generated)");
        }
        Set<String> required = new HashSet<>();
        JsonNode req = node.get("required");
        if (req != null) {
            if (!req.isArray()) {
                throw new ConstraintException("'required' at " + path + "/required must be an array of names");
            }
            for (JsonNode r : req) {
                if (!r.isTextual()) {
                    throw new ConstraintException("'required' at " + path + "/required must hold names, got " + r);
                }
                if (props == null || !props.has(r.asText())) {
                    throw new ConstraintException("required property '" + r.asText() + "' at " + path
                            + "/required is not in 'properties' (its value would be unconstrained)");
                }
                required.add(r.asText());
            }
        }
        List<SchemaNode.Property> out = new ArrayList<>();
        if (props != null) {
            for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                out.add(new SchemaNode.Property(e.getKey(), parse(e.getValue(),
                        path + "/properties/" + escapePointer(e.getKey()), depth + 1), required.contains(e.getKey())));
            }
        }
        return new SchemaNode.ObjectSchema(out);
    }

    private static SchemaNode array(JsonNode node, String path, int depth) {
        JsonNode items = node.get("items");
        if (items == null) {
            throw new ConstraintException("the array at " + ConstraintException.pointer(path)
                    + " has no 'items' (arrays of any value are not supported)");
        }
        if (items.isArray()) {
            throw new ConstraintException("tuple 'items' (an array of schemas) at " + path
                    + "/items is not supported");
        }
        int min = count(node, "minItems", path, 0);
        int max = count(node, "maxItems", path, -1);
        if (max >= 0 && max < min) {
            throw new ConstraintException("maxItems < minItems at " + ConstraintException.pointer(path));
        }
        return new SchemaNode.ArraySchema(parse(items, path + "/items", depth + 1), min, max);
    }

    private static SchemaNode string(JsonNode node, String path) {
        int min = count(node, "minLength", path, 0);
        int max = count(node, "maxLength", path, -1);
        if (max >= 0 && max < min) {
            throw new ConstraintException("maxLength < minLength at " + ConstraintException.pointer(path));
        }
        RegexNode pattern = null;
        JsonNode p = node.get("pattern");
        if (p != null) {
            if (!p.isTextual()) {
                throw new ConstraintException("'pattern' at " + path + "/pattern must be a string");
            }
            if (node.has("minLength") || node.has("maxLength")) {
                throw new ConstraintException("'pattern' together with minLength/maxLength at "
                        + ConstraintException.pointer(path) + " is not supported: put the length into the pattern");
            }
            try {
                pattern = RegexParser.parse(p.asText());
            } catch (ConstraintException e) {
                throw new ConstraintException("'pattern' at " + path + "/pattern: " + e.getMessage());
            }
        }
        return new SchemaNode.StringSchema(min, max, pattern);
    }

    private static SchemaNode enumSchema(JsonNode node, String path) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (KEYWORDS.contains(k) && !k.equals("enum") && !k.equals("const") && !k.equals("type")) {
                throw new ConstraintException("'" + k + "' together with enum/const at "
                        + ConstraintException.pointer(path) + " is not supported: list only the allowed values");
            }
        }
        List<JsonNode> values = new ArrayList<>();
        if (node.has("const")) {
            values.add(node.get("const"));
        }
        if (node.has("enum")) {
            JsonNode e = node.get("enum");
            if (!e.isArray() || e.isEmpty()) {
                throw new ConstraintException("'enum' at " + path + "/enum must be a non-empty array");
            }
            e.forEach(values::add);
        }
        List<String> types = node.has("type") ? types(node, path) : null;
        Set<String> out = new LinkedHashSet<>();
        for (JsonNode v : values) {
            if (node.has("const") && node.has("enum") && !contains(node.get("enum"), node.get("const"))) {
                continue;
            }
            if (types == null || types.stream().anyMatch(t -> hasType(v, t))) {
                out.add(compact(v));
            }
        }
        if (out.isEmpty()) {
            throw new ConstraintException("no value of enum/const at " + ConstraintException.pointer(path)
                    + " satisfies the schema");
        }
        return new SchemaNode.EnumSchema(List.copyOf(out));
    }

    private static boolean contains(JsonNode array, JsonNode v) {
        for (JsonNode e : array) {
            if (e.equals(v)) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasType(JsonNode v, String type) {
        switch (type) {
            case "object": return v.isObject();
            case "array": return v.isArray();
            case "string": return v.isTextual();
            case "integer": return v.isIntegralNumber() || (v.isNumber() && v.decimalValue().stripTrailingZeros()
                    .scale() <= 0);
            case "number": return v.isNumber();
            case "boolean": return v.isBoolean();
            case "null": return v.isNull();
            default: return false;
        }
    }

    private static String compact(JsonNode v) {
        try {
            return JSON.writeValueAsString(v);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int count(JsonNode node, String key, String path, int absent) {
        JsonNode v = node.get(key);
        if (v == null) {
            return absent;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0) {
            throw new ConstraintException("'" + key + "' at " + path + "/" + key
                    + " must be a non-negative integer, got " + v);
        }
        return v.asInt();
    }

    private static String escapePointer(String key) {
        return key.replace("~", "~0").replace("/", "~1");
    }
}
