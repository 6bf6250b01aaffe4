package dev.gemmaflink.runtime.constrain;

import java.util.List;

/** A JSON Schema in the supported subset, as {@link JsonSchemaParser} read it. */
sealed interface SchemaNode {

    /** An object whose keys come in declaration order; optional ones may be left out. */
    record ObjectSchema(List<Property> properties) implements SchemaNode {
    }

    /** One property of an object. */
    record Property(String name, SchemaNode schema, boolean required) {
    }

    /**
     * A string of {@code minLength} to {@code maxLength} characters (code points; -1: unbounded), or one the
     * {@code pattern} matches whole (null: any).
     */
    record StringSchema(int minLength, int maxLength, RegexNode pattern) implements SchemaNode {
    }

    /** An integer: {@code -?(0|[1-9][0-9]*)}, at most {@link JsonSchemaCompiler#MAX_INTEGER_DIGITS} digits. */
    record IntegerSchema() implements SchemaNode {
    }

    /** A number: integer part, optional fraction, optional exponent (bounded digit counts). */
    record NumberSchema() implements SchemaNode {
    }

    /** {@code true} or {@code false}. */
    record BooleanSchema() implements SchemaNode {
    }

    /** {@code null}. */
    record NullSchema() implements SchemaNode {
    }

    /** One of the given values, each as compact JSON text. */
    record EnumSchema(List<String> values) implements SchemaNode {
    }

    /** An array of {@code minItems} to {@code maxItems} (-1: unbounded) items. */
    record ArraySchema(SchemaNode items, int minItems, int maxItems) implements SchemaNode {
    }

    /** Any one of the options. */
    record AnyOfSchema(List<SchemaNode> options) implements SchemaNode {
    }
}
