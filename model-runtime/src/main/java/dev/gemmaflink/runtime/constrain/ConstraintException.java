package dev.gemmaflink.runtime.constrain;

/**
 * A constraint that cannot be compiled as written: an unsupported JSON Schema keyword or regular-expression
 * construct, a malformed value, or an automaton beyond the size limit. The message names the keyword or construct and
 * where it is (a JSON pointer into the schema, or an offset into the pattern); a constraint is never loosened to make
 * it compile.
 */
public final class ConstraintException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    /** @param message what is wrong and where */
    public ConstraintException(String message) {
        super(message);
    }

    static ConstraintException unsupportedKeyword(String keyword, String path) {
        return new ConstraintException("unsupported JSON Schema keyword '" + keyword + "' at " + pointer(path)
                + " (supported: " + JsonSchemaParser.SUPPORTED_SUMMARY + ")");
    }

    static String pointer(String path) {
        return path.isEmpty() ? "the schema root" : path;
    }
}
